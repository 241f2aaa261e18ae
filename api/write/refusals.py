"""The write service's one refusal: :class:`RequestRefused` (no Falcon in here).

The intake (:mod:`api.write.intake`), the payload parsers (Measurement Protocol,
Plausible, Umami, Matomo, Snowplow) and the resources raise it with the status, the reason and the
payload to keep; one error handler (``api/write/app.py``) counts it by reason, keeps the
payload on the invalid-events topic and answers Falcon's error body,
``{"title": reason, "description": detail, "request_id": ...}``
(:func:`api.access_log.serialize_error`). An event the enrichment pipeline refuses is
not a refused request: it is listed in the 2xx answer (``analytics.enrich.Refused``), or
answered as the service a compatible collector stands in for answers it (Plausible's
``X-Plausible-Dropped``, a Matomo bulk's ``invalid``, one Matomo request's GIF, Snowplow's
``ok`` or GIF).
"""

from __future__ import annotations


class RequestRefused(Exception):
    """The whole request is refused with ``status`` (a 4xx).

    ``reason``: the stable key it is counted by (``schema_violation``, ``unknown_site``,
    ...), the error body's ``title``; ``detail``: what exactly is wrong, its
    ``description``. ``payload``: what the invalid-events topic keeps (the body as it
    came, or as a parser pseudonymized it); ``kept=False`` for a refusal that is counted
    only, never published (a rate-limited flood must not fill the topic).
    ``retry_after``: seconds, sent as ``Retry-After``."""

    def __init__(self, status: int, reason: str, detail: str, *,
                 payload: bytes | str | None = None, kept: bool = True,
                 retry_after: int | None = None):
        super().__init__(f"{reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail
        self.payload = payload
        self.kept = kept
        self.retry_after = retry_after
