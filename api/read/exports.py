"""Rows of the Tableau tables (:mod:`api.read.tables`) for a site and a range of days
(no Falcon in here). Day tables take closed days only, and stop before the first day of
the range that is not closed (see :func:`closed_run`); ``realtime`` is the realtime
report's minutes."""

from __future__ import annotations

from datetime import date, datetime

from analytics.periods import days as every_day
from analytics.sites import Site
from api.read.reports import Reports, metric_values
from api.read.tables import Table

_DAILY_METRICS = ("visitors", "pageviews", "events", "sessions", "engaged_sessions",
                  "bounce_rate", "visit_duration", "views_per_session", "bot_events")
_BREAKDOWNS = {"pages": "page", "sources": "source", "events": "event"}


def export_rows(reports: Reports, site: Site, table: Table, *, first: date, last: date,
                now: datetime) -> list[dict]:
    if table.id == "realtime":
        minutes = reports.realtime(site, now)["minutes"]
        return [{"minute": m["minute"][:16].replace("T", " ") + ":00",
                 "visitors": m["visitors"], "pageviews": m["pageviews"],
                 "events": m["events"]} for m in minutes]
    closed = reports.store.closed_days(site.site_id, first, last)
    rows = []
    for day in closed_run(closed, first, last):
        row = closed[day]
        if table.id == "daily_stats":
            rows.append({"date": day.isoformat(),
                         **metric_values(row.part, _DAILY_METRICS)})
            continue
        dimension = _BREAKDOWNS[table.id]
        parts = reports.store.batch_breakdown(site.site_id, day, row.version, dimension)
        for value, part in sorted(parts.items(), key=lambda kv: (-kv[1].visitors, kv[0])):
            values = metric_values(part, _DAILY_METRICS)
            rows.append({c: (day.isoformat() if c == "date" else
                             value if c == dimension else values[c])
                         for c in table.column_ids})
    return rows


def closed_run(closed, first: date, last: date) -> list[date]:
    """The closed days of the range up to the first day that is not closed, after the
    first one that is: an incremental refresh that took day X + 1 while day X was still
    open would never get X."""
    run = []
    for day in every_day(first, last):
        if day in closed:
            run.append(day)
        elif run:
            break
    return run


def closed_through(reports: Reports, site: Site, first: date, last: date) -> date | None:
    """The last day a day table of [first, last] holds (None: none closed yet)."""
    run = closed_run(reports.store.closed_days(site.site_id, first, last), first, last)
    return run[-1] if run else None
