"""Arguments as they arrive at a task: rendered templates (text), DAG params (JSON
values) or Python values in a test. Each helper accepts all three and says clearly what
it could not read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime


def site_ids(value: str | Iterable[str] | None) -> list[str] | None:
    """``"a,b"``, ``"a b"``, ``["a", "b"]`` -> ``["a", "b"]``; nothing -> None (every site)."""
    if value is None:
        return None
    parts = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    ids = [str(p).strip() for p in parts if str(p).strip()]
    return ids or None


def day(value: str | date | datetime) -> date:
    """A calendar day from ``YYYY-MM-DD`` (or an ISO timestamp: its date part)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(f"{value!r} is not a day (YYYY-MM-DD)") from None


def instant(value: str | datetime) -> datetime:
    """An aware UTC datetime from an ISO 8601 timestamp with offset (or a datetime)."""
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    if value.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone offset")
    return value.astimezone(UTC)


def flag(value: str | bool | None) -> bool:
    """True/False from a bool or its rendered text (``"True"``, ``"false"``, ``"1"``...)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", "none", ""):
        return False
    raise ValueError(f"{value!r} is not true or false")
