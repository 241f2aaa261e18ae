"""The clock of the operators and sensors that ask whether a day has ended yet: the real
one by default, a fixed instant in tests (the ``clock`` argument they take)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current instant, timezone-aware."""


def utc_now() -> datetime:
    """The real clock, in UTC."""
    return datetime.now(UTC)
