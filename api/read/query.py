"""The read API's one query model (no Falcon in here).

A report request is a JSON object validated by the versioned JSON Schema
``api/read/schemas/query-1-0-0.json`` (published by the service), then turned into a
:class:`Query`. Its date range is resolved to site-local calendar days with
:func:`resolve_days`, given the site's zone and the current instant (passed in, so the same
query always means the same days in tests). A request that is not valid raises
:class:`QueryError` with a reason a client can act on (the responder's 400).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from analytics.periods import MAX_RANGE_DAYS, range_days
from api.read import validation

SCHEMA_VERSION = "1-0-0"
SCHEMA_PATH = Path(__file__).with_name("schemas") / f"query-{SCHEMA_VERSION}.json"
RATE_METRICS = frozenset({"bounce_rate", "visit_duration", "views_per_session",
                          "conversion_rate"})
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)
"""The days a report, an export or a job may name. Events carry epoch-millisecond clocks
that the event schema bounds by 3000-01-01 (``analytics/schemas/event``), so no day
outside holds data; inside, every day has UTC bounds in every zone, and the date
arithmetic of a range (its days, weeks, the 30 days before an end) cannot overflow, as it
does for 9999-12-31 or, east of UTC, for 0001-01-01."""
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class QueryError(ValueError):
    """The query is not valid; the message says why."""


@dataclass(frozen=True)
class Filter:
    dimension: str
    op: str  # is | is_not | contains
    values: tuple[str, ...]

    def matches(self, value: str | None) -> bool:
        text = value or ""
        if self.op == "contains":
            return any(v.lower() in text.lower() for v in self.values)
        hit = text in self.values
        return hit if self.op == "is" else not hit


@dataclass(frozen=True)
class Query:
    site_id: str
    date_range: str
    start: date | None
    end: date | None
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...]
    filters: tuple[Filter, ...]
    interval: str
    order_by: tuple[tuple[str, bool], ...]
    limit: int
    offset: int


def schema() -> dict:
    return validation.load(SCHEMA_PATH)


def parse_day(name: str, text: object) -> date:
    """A ``YYYY-MM-DD`` day from :data:`FIRST_DAY` to :data:`LAST_DAY`, or
    :class:`QueryError` naming the field ``name``."""
    if not isinstance(text, str) or not _DAY.fullmatch(text):
        shown = text[:40] if isinstance(text, str) else text
        raise QueryError(f"{name}: {shown!r} is not a date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise QueryError(f"{name}: {text!r} is not a date ({exc})") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise QueryError(f"{name}: {day} is outside {FIRST_DAY}..{LAST_DAY}, the days "
                         "Sitelens can hold")
    return day


def _reason(error) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "query"
    return f"{where}: {error.message}"


def parse_query(payload: object) -> Query:
    """A request body (already decoded JSON) -> :class:`Query`, or :class:`QueryError`."""
    errors = validation.errors(SCHEMA_PATH, payload)
    if errors:
        raise QueryError("; ".join(_reason(e) for e in errors[:5]))
    defaults = {k: v.get("default") for k, v in schema()["properties"].items()}
    values = {**defaults, **payload}
    start = parse_day("start", values["start"]) if values.get("start") else None
    end = parse_day("end", values["end"]) if values.get("end") else None
    if values["date_range"] == "custom":
        if end < start:
            raise QueryError(f"end: {end} is before start {start}")
        if range_days(start, end) > MAX_RANGE_DAYS:
            raise QueryError(f"end: a report covers {MAX_RANGE_DAYS} days at most, both "
                             "included; ask for a longer span in parts")
    filters = tuple(Filter(f["dimension"], f["op"],
                           tuple(f["value"]) if isinstance(f["value"], list) else (f["value"],))
                    for f in values["filters"])
    fields = set(values["metrics"]) | set(values["dimensions"])
    for order in values["order_by"]:
        if order["field"] not in fields:
            raise QueryError(f"order_by: {order['field']!r} is neither a metric nor a "
                             "dimension of the query")
    return Query(
        site_id=values["site_id"], date_range=values["date_range"], start=start, end=end,
        metrics=tuple(values["metrics"]), dimensions=tuple(values["dimensions"]),
        filters=filters, interval=values["interval"],
        order_by=tuple((o["field"], o.get("desc", True)) for o in values["order_by"]),
        # JSON Schema's "integer" takes 10.0 too: slices and pages need an int
        limit=int(values["limit"]), offset=int(values["offset"]))


def resolve_days(query: Query, timezone: str, now: datetime) -> tuple[date, date]:
    """The first and last site-local day (both included) the query covers at ``now``."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    match query.date_range:
        case "today":
            return today, today
        case "yesterday":
            yesterday = today - timedelta(days=1)
            return yesterday, yesterday
        case "7d":
            return today - timedelta(days=6), today
        case "30d":
            return today - timedelta(days=29), today
        case "month":
            return today.replace(day=1), today
        case _:
            return query.start, query.end
