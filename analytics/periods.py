"""Site-local days as UTC instants: the periods the batch layer closes.

A "day" in every report is a calendar day in the site's IANA zone (docs/metrics.md, Time).
The batch layer computes it from the raw events of the UTC hours that cover it (plus a
margin, so sessions are whole); the read API and the data-quality check need the exact
UTC instants where it starts and ends. Everything here is pure Python (zoneinfo).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)
MAX_RANGE_DAYS = 3 * 366
"""The most days a report's custom range, an export or an ad-hoc job covers, ``start``
and ``end`` both included (:func:`range_days`): three years, leap days and all, so an
``end`` at most 1097 days after ``start``. Longer report ranges are ad-hoc questions."""


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of the local calendar day ``day`` in zone ``tz``.

    Local midnight is taken with ``fold=0``: on a day whose midnight does not exist (a
    zone that moves its clocks at 00:00) that is the instant of the change, the first
    instant whose local date is ``day``. A day is 23, 24 or 25 hours long around DST.
    """
    zone = ZoneInfo(tz)

    def midnight(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC)

    return midnight(day), midnight(day + timedelta(days=1))


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    if end < start:
        raise ValueError(f"end day {end} is before start day {start}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def range_days(start: date, end: date) -> int:
    """How many days ``start`` .. ``end`` covers, both included (1 for a single day; 0 or
    less when ``end`` is before ``start``): the number :data:`MAX_RANGE_DAYS` bounds."""
    return (end - start).days + 1


def floor_hour(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


def utc_hours(start: datetime, end: datetime) -> Iterator[datetime]:
    """Starts of the UTC hours that overlap [start, end)."""
    hour = floor_hour(start.astimezone(UTC))
    while hour < end:
        yield hour
        hour += HOUR


def read_window(first_day: date, last_day: date, tz: str, margin: timedelta,
                ) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of raw events a recompute of the local days
    ``first_day``..``last_day`` reads: the days plus ``margin`` on each side, so that a
    session that began before the first day or goes on after the last one is whole."""
    start, _ = day_bounds(first_day, tz)
    _, end = day_bounds(last_day, tz)
    return start - margin, end + margin


def day_closed_at(day: date, tz: str, settle: timedelta) -> datetime:
    """When a recompute of ``day`` for a site in ``tz`` may run: the day is over there and
    ``settle`` has passed (events in flight, sessions that go on after midnight)."""
    return day_bounds(day, tz)[1] + settle


def first_open_day(start: date, end: date, zones, settle: timedelta,
                   now: datetime) -> date | None:
    """The first of the days ``start``..``end`` that has not ended (plus ``settle``) in
    every one of ``zones`` at ``now``; None when all have. The batch layer recomputes an
    open day without closing it: the speed layer keeps serving it."""
    zones = set(zones)
    for day in days(start, end):
        if any(now < day_closed_at(day, tz, settle) for tz in zones):
            return day
    return None
