"""The ``timeseries`` report: the query's metrics per hour, day, week (from Monday) or
month of its range (no Falcon in here). Hours of a closed day come from the batch layer's
hourly rows, of a provisional day from its minutes and late events; hourly series take
no filters, no goal metrics and at most ``MAX_HOURLY_DAYS`` days
(:mod:`api.read.reports.planner`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from analytics.sites import Site
from api.read.query import Query
from api.read.reports.reading import DayReader, open_report
from api.read.reports.values import Report, merge_goals, metric_values
from api.read.sketches import merge_parts

if TYPE_CHECKING:
    from api.read.reports import Reports


def timeseries_report(reports: Reports, site: Site, query: Query, now: datetime) -> Report:
    reader = open_report(reports, "timeseries", site, query, now)
    incomplete = list(reader.plan.incomplete)
    if query.interval == "hour":
        rows = hourly_rows(reader)
    else:
        rows = period_rows(reader, reports.lg_k)
    reader.add_late_notes(incomplete)
    return Report(["period", *query.metrics], rows, reader.meta(incomplete))


def period_rows(reader: DayReader, lg_k: int) -> list[dict]:
    """One row per day, week or month that has begun."""
    query = reader.query
    parts = reader.day_parts()
    goal_days = reader.goal_days()
    buckets: dict[date, list[date]] = {}
    for day in reader.plan.days:
        buckets.setdefault(bucket(day.day, query.interval), []).append(day.day)
    rows = []
    for start, members in buckets.items():
        part = merge_parts([parts[d] for d in members], lg_k)
        goals = (merge_goals([goal_days[d] for d in members], lg_k)
                 if goal_days is not None else None)
        rows.append({"period": start.isoformat(),
                     **metric_values(part, query.metrics, goals)})
    return rows


def hourly_rows(reader: DayReader) -> list[dict]:
    """One row per local hour of the days that have begun (up to now)."""
    zone = ZoneInfo(reader.site.timezone)
    rows = []
    for day in reader.plan.days:
        for at, part in reader.hours(day):
            rows.append({"period": at.astimezone(zone).isoformat(timespec="minutes"),
                         **metric_values(part, reader.query.metrics)})
    return rows


def bucket(day: date, interval: str) -> date:
    """The first day of the period ``day`` falls in."""
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day
