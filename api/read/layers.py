"""Where each part of a report comes from: the seam between the batch and speed layers
(docs/metrics.md, Layers; no Falcon in here).

A site-local day with a ``batch_days`` row is closed: it comes whole from the batch
layer. Every other day of the range comes from the speed layer's UTC minutes that fall
inside it (up to now). Days are whole units on both sides, so no hour is counted twice
or missed at the seam, in any zone: the speed layer's minutes map exactly onto any
zone's days (every offset is a whole number of minutes).

Visitors over several days or minutes come from merging HLL sketches (both layers write
DataSketches HLL with the same lg_k; :mod:`api.read.sketches`), never from adding daily
counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from analytics.periods import day_bounds, days

BATCH, SPEED = "batch", "speed"


@dataclass(frozen=True)
class DaySource:
    """One local day of a report and the layer that answers it. For the speed layer,
    [utc_start, utc_end) are the minutes to read (the day's start up to now at most)."""

    day: date
    layer: str
    utc_start: datetime
    utc_end: datetime


def plan_days(first: date, last: date, timezone: str, closed: Iterable[date],
              now: datetime) -> list[DaySource]:
    """The layer of every day from ``first`` to ``last``; days that have not begun at
    ``now`` are left out (nothing to read yet)."""
    closed = set(closed)
    plan = []
    for day in days(first, last):
        start, end = day_bounds(day, timezone)
        if day in closed:
            plan.append(DaySource(day, BATCH, start, end))
        elif start < now:
            plan.append(DaySource(day, SPEED, start, min(end, now)))
    return plan


def local_hours(start: datetime, end: datetime, timezone: str) -> list[datetime]:
    """The UTC instants where the site's local hours that overlap [start, end) begin,
    clipped to ``start``: at :15 past a UTC hour in Kathmandu, twice 01:00 when clocks go
    back. ``start`` must be a local hour's start (a day's start is)."""
    zone = ZoneInfo(timezone)
    hours, at = [], start
    while at < end:
        hours.append(at)
        local = at.astimezone(zone)
        at = at + timedelta(minutes=60 - local.minute, seconds=-local.second,
                            microseconds=-local.microsecond)
    return hours
