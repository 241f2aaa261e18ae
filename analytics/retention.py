"""Retention of the master dataset: raw events older than a site's ``retention_days`` go.

``raw_event_chunks`` is partitioned by (site, UTC hour), so removing a site's old events
is one partition delete per hour; nothing is read. A site without a retention setting
keeps its raw events forever (the seed's "we will always have the data"). The batch
layer's views are aggregates and stay.

A run deletes the hours of ``lookback_days`` that end at the cutoff, so the daily
retention DAG, each run covering one day, deletes every expired hour exactly once and a
missed day is caught up by its own run (or by one run with a longer lookback).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from analytics.periods import floor_hour, utc_hours
from analytics.raw_events import TABLE
from analytics.sites import Site


def cutoff(site: Site, until: datetime) -> datetime | None:
    """Raw events of hours that start before this instant are expired (None: kept)."""
    if site.retention_days is None:
        return None
    return floor_hour(until - timedelta(days=site.retention_days))


def expired_hours(site: Site, until: datetime, lookback_days: int) -> list[datetime]:
    """The site's UTC hours to delete: the ``lookback_days`` before its cutoff."""
    end = cutoff(site, until)
    if end is None:
        return []
    return list(utc_hours(end - timedelta(days=lookback_days), end))


def purge_raw_events(session, sites: Iterable[Site], *, until: datetime,
                     lookback_days: int = 1) -> dict[str, int]:
    """Delete every expired hour of each site's raw events; returns site id -> number of
    hours deleted (0 for a site that keeps everything). ``session`` is bound to the
    keyspace."""
    from cassandra.concurrent import execute_concurrent_with_args

    delete = session.prepare(f"DELETE FROM {TABLE} WHERE site_id = ? AND hour = ?")
    deleted = {}
    for site in sites:
        hours = expired_hours(site, until, lookback_days)
        execute_concurrent_with_args(session, delete, [(site.site_id, h) for h in hours],
                                     concurrency=64, raise_on_first_error=True)
        deleted[site.site_id] = len(hours)
    return deleted
