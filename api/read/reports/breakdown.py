"""The ``breakdown`` report: the query's metrics per value of one dimension, ordered and
paged (no Falcon in here). Closed days' rows are merged once per set of batch versions
and kept; provisional days add the speed layer's rows where it has the dimension. Late
events are not in the rows (:mod:`api.read.reports.planner`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from analytics.sites import Site
from api.read.query import Query
from api.read.reports.reading import open_report
from api.read.reports.values import Report, metric_values, order_rows, passes
from api.read.sketches import Part, merge_parts

if TYPE_CHECKING:
    from api.read.reports import Reports

EVENT_LEVEL = ("page", "event")
"""Dimensions of single events: their rows have no sessions (neither have ``prop:``s)."""


def breakdown_report(reports: Reports, site: Site, query: Query, now: datetime) -> Report:
    reader = open_report(reports, "breakdown", site, query, now)
    plan, lg_k = reader.plan, reports.lg_k
    dimension = plan.split_by
    incomplete = list(plan.incomplete)
    by_value: dict[str, list[Part]] = {
        value: [part] for value, part in reader.merged_batch_rows().items()}
    for day in plan.speed_days:
        for value, part in (reader.rows(day) or {}).items():
            by_value.setdefault(value, []).append(part)
    goal_base = None
    if dimension == "goal":
        goal_base = merge_parts([reader.totals(d) for d in plan.days], lg_k).visitors
    rows = []
    for value, parts in by_value.items():
        if not passes(query, dimension, value):
            continue
        part = merge_parts(parts, lg_k)
        if dimension in EVENT_LEVEL or dimension.startswith("prop:"):
            part = Part(visitors=part.visitors, pageviews=part.pageviews,
                        events=part.events)
        goals = part if dimension == "goal" else None
        shown = Part(visitors=part.visitors) if dimension == "goal" else part
        rows.append({dimension: value, **metric_values(
            shown, query.metrics, goals, visitors_of_range=goal_base)})
    rows = order_rows(rows, query, dimension)
    reader.add_late_notes(incomplete)
    meta = reader.meta(incomplete)
    meta["total_rows"] = len(rows)
    page = rows[query.offset:query.offset + query.limit]
    meta["next_offset"] = (query.offset + query.limit
                           if query.offset + query.limit < len(rows) else None)
    return Report([dimension, *query.metrics], page, meta)
