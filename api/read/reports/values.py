"""What a report is made of: :class:`Report`, a piece's metric values, the order of
breakdown rows, and pieces that several reports share (no Falcon, no store in here).

Pieces are :class:`~api.read.sketches.Part` and add up as that module says; rates are
null without sessions, never zero."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from api.read.query import Query
from api.read.sketches import Part, merge_parts


@dataclass
class Report:
    columns: list[str]
    rows: list[dict]
    meta: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"meta": self.meta, "columns": self.columns, "rows": self.rows}


def ratio(num, den, digits: int):
    if num is None or den is None or den == 0:
        return None
    return round(num / den, digits)


def metric_values(part: Part, metrics: Iterable[str], goals: Part | None = None,
                  visitors_of_range: int | None = None) -> dict:
    """The requested metrics of one merged piece (``goals``: its conversions)."""
    sessions = part.sessions
    values = {
        "visitors": part.visitors, "pageviews": part.pageviews, "events": part.events,
        "bot_events": part.bot_events, "sessions": sessions,
        "engaged_sessions": part.engaged_sessions,
        "bounce_rate": ratio(part.bounces, sessions, 4),
        "visit_duration": ratio(part.duration_s, sessions, 1),
        "views_per_session": ratio(part.session_pageviews, sessions, 2),
    }
    if goals is not None:
        base = part.visitors if visitors_of_range is None else visitors_of_range
        values.update(conversions=goals.events, converting_visitors=goals.visitors,
                      conversion_rate=ratio(goals.visitors, base, 4))
    return {m: values.get(m) for m in metrics}


def merge_goals(days: list[dict[str, Part]], lg_k: int) -> Part:
    """All goals of the days as one piece: conversions add up, converting visitors are the
    union of every goal's."""
    return merge_parts([p for goals in days for p in goals.values()], lg_k)


def batch_hour_part(row) -> Part:
    return Part(visitors=row.visitors or 0, sketch=row.visitors_sketch,
                pageviews=row.pageviews or 0, events=row.custom_events or 0,
                sessions=row.sessions or 0, engaged_sessions=row.engaged_sessions or 0,
                bounces=row.bounces or 0, duration_s=row.total_duration_s or 0.0,
                session_pageviews=row.session_pageviews or 0)


def order_rows(rows: list[dict], query: Query, dimension: str) -> list[dict]:
    """By ``order_by`` (default: the first metric, descending), then by value; nulls last."""
    order = list(query.order_by) or [(query.metrics[0], True)]
    rows = sorted(rows, key=lambda r: str(r[dimension]))
    for name, desc in reversed(order):
        present = [r for r in rows if r.get(name) is not None]
        absent = [r for r in rows if r.get(name) is None]
        rows = sorted(present, key=lambda r, n=name: r[n], reverse=desc) + absent
    return rows


def passes(query: Query, dimension: str, value: str) -> bool:
    """Whether ``value`` of ``dimension`` passes the query's filters on that dimension."""
    return all(f.matches(value) for f in query.filters if f.dimension == dimension)


def aware(value: datetime) -> datetime:
    """A stored timestamp (naive UTC from the driver) as an aware UTC instant."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
