"""The ``goals`` report: every goal of the site over the range — conversions, converting
visitors, conversion rate (of the range's visitors, in ``meta.visitors``) (no Falcon in
here). A provisional day's goals are its custom events and pageviews named like the
goal; late events are not in them (:mod:`api.read.reports.planner`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from analytics.sites import Site
from api.read.query import Query
from api.read.reports.planner import GOAL_METRICS
from api.read.reports.reading import open_report
from api.read.reports.values import Report, ratio
from api.read.sketches import Part, merge_parts

if TYPE_CHECKING:
    from api.read.reports import Reports


def goals_report(reports: Reports, site: Site, query: Query, now: datetime) -> Report:
    """Every goal of the site: conversions, converting visitors, conversion rate."""
    reader = open_report(reports, "goals", site, query, now)
    plan, lg_k = reader.plan, reports.lg_k
    visitors = merge_parts([reader.totals(d) for d in plan.days], lg_k).visitors
    per_goal: dict[str, list[Part]] = {g: [] for g in site.goals}
    for day in plan.days:
        for goal, part in reader.goals(day).items():
            per_goal.setdefault(goal, []).append(part)
    rows = []
    for goal, parts in sorted(per_goal.items()):
        merged = merge_parts(parts, lg_k)
        rows.append({"goal": goal, "conversions": merged.events,
                     "converting_visitors": merged.visitors,
                     "conversion_rate": ratio(merged.visitors, visitors, 4)})
    incomplete: list = list(plan.incomplete)
    reader.add_late_notes(incomplete)
    meta = reader.meta(incomplete)
    meta["visitors"] = visitors
    return Report(["goal", *GOAL_METRICS], rows, meta)
