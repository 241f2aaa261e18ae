"""The ``aggregate`` report: the query's metrics over its whole range, one row (no Falcon
in here). With a filter, from the filtered dimension's rows; late events are counted
unless filtered (:mod:`api.read.reports.planner`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from analytics.sites import Site
from api.read.query import Query
from api.read.reports.reading import open_report
from api.read.reports.values import Report, merge_goals, metric_values
from api.read.sketches import merge_parts

if TYPE_CHECKING:
    from api.read.reports import Reports


def aggregate_report(reports: Reports, site: Site, query: Query, now: datetime) -> Report:
    reader = open_report(reports, "aggregate", site, query, now)
    incomplete = list(reader.plan.incomplete)
    parts = reader.day_parts()
    total = merge_parts(list(parts.values()), reports.lg_k)
    goal_days = reader.goal_days()
    goals = None if goal_days is None else merge_goals(list(goal_days.values()),
                                                        reports.lg_k)
    row = metric_values(total, query.metrics, goals)
    reader.add_late_notes(incomplete)
    return Report(list(query.metrics), [row], reader.meta(incomplete))
