"""The reports of the read API, answered from both layers' views (no Falcon in here).

:class:`Reports` is what the resources call. Each report is a module of its own
(:mod:`~api.read.reports.aggregate`, :mod:`~api.read.reports.timeseries`,
:mod:`~api.read.reports.breakdown`, :mod:`~api.read.reports.goals`,
:mod:`~api.read.reports.realtime`); :mod:`~api.read.reports.planner` decides which layer
and which view answers each part of a report day by day (and what no view can: an ad-hoc
job, or ``meta.incomplete``); :mod:`~api.read.reports.reading` reads the days as planned
and writes ``meta``; :mod:`~api.read.reports.values` holds what reports are made of.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from analytics.sites import Site
from api.read.query import Query
from api.read.reports.aggregate import aggregate_report
from api.read.reports.breakdown import EVENT_LEVEL, breakdown_report
from api.read.reports.goals import goals_report
from api.read.reports.planner import (
    GOAL_METRICS,
    MAX_HOURLY_DAYS,
    SESSION_METRICS,
    SPEED_DIMENSIONS,
    NeedsJob,
)
from api.read.reports.realtime import REALTIME_MINUTES, realtime_report
from api.read.reports.timeseries import timeseries_report
from api.read.reports.values import (
    Report,
    batch_hour_part,
    merge_goals,
    metric_values,
    order_rows,
)
from api.read.store import ViewStore

__all__ = [
    "EVENT_LEVEL", "GOAL_METRICS", "MAX_HOURLY_DAYS", "REALTIME_MINUTES", "SESSION_METRICS",
    "SPEED_DIMENSIONS", "NeedsJob", "Report", "Reports", "batch_hour_part", "merge_goals",
    "metric_values", "order_rows",
]


class Reports:
    """The reports over one store's views (``lg_k``: the visitor sketches';
    ``realtime_ttl_days``: how long the speed layer keeps its minute views)."""

    def __init__(self, store: ViewStore, *, lg_k: int, realtime_ttl_days: int):
        self.store = store
        self.lg_k = lg_k
        self.realtime_ttl = timedelta(days=realtime_ttl_days)

    def aggregate(self, site: Site, query: Query, now: datetime) -> Report:
        return aggregate_report(self, site, query, now)

    def timeseries(self, site: Site, query: Query, now: datetime) -> Report:
        return timeseries_report(self, site, query, now)

    def breakdown(self, site: Site, query: Query, now: datetime) -> Report:
        return breakdown_report(self, site, query, now)

    def goals(self, site: Site, query: Query, now: datetime) -> Report:
        """Every goal of the site: conversions, converting visitors, conversion rate."""
        return goals_report(self, site, query, now)

    def realtime(self, site: Site, now: datetime, top: int = 10) -> dict:
        """The last 30 minutes up to now, minute by minute, with top pages and sources."""
        return realtime_report(self, site, now, top)
