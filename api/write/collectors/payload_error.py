"""The refusal of a compatible collector's body, before it becomes a
:class:`~api.write.refusals.RequestRefused` (the mapping modules import no Falcon)."""

from __future__ import annotations


class PayloadError(ValueError):
    """The body is refused; ``reason`` is the key it is counted by (each protocol's
    ``parse`` raises it as a :class:`~api.write.refusals.RequestRefused`)."""

    def __init__(self, detail: str, reason: str):
        super().__init__(detail)
        self.reason = reason
