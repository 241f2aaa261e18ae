"""What the read API reads from Cassandra: the batch layer's days and their versioned
rows, and the speed layer's minute views (no Falcon in here).

Caching follows what can change. A batch version's rows never change (a recompute writes
a new version), so they are kept by version; which version of each day is current (the
days and versions of ``batch_days``, one partition) is read again after
``ANALYTICS_READ_CACHE_S``, so a recompute shows within seconds. A speed-layer hour is
final once the watermark has passed its end (later events go to the ``late`` view), so
final hours are kept too; the open hour is kept for ``ANALYTICS_READ_CACHE_S`` only. The
``late`` view is partitioned by the hour events arrived in, and the same rule applies.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from analytics.periods import utc_hours
from api.read.late import LateRow, late_row
from api.read.sketches import Part, loaded, merge_parts

HOUR = timedelta(hours=1)


class Lru:
    """A thread-safe LRU with optional expiry per entry, bounded by weight: an entry that
    holds a collection (a day's breakdown rows, hour rows) weighs its length, so the bound
    is on pieces kept (with their sketches), not on entries."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def peek(self, key):
        """The value kept for ``key`` (never an expired one), or None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None or (hit[0] is not None and hit[0] <= time.monotonic()):
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key, value, ttl_s: float | None = None) -> None:
        weight = max(1, len(value)) if isinstance(value, (dict, list, tuple)) else 1
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._weight -= old[2]
            self._items[key] = (None if ttl_s is None else time.monotonic() + ttl_s, value,
                                weight)
            self._weight += weight
            while self._weight > self.size and len(self._items) > 1:
                self._weight -= self._items.popitem(last=False)[1][2]

    def get_or_make(self, key, make: Callable, ttl_s: float | None = None):
        hit = self.peek(key)
        if hit is not None:
            return hit
        value = make()
        self.put(key, value, ttl_s)
        return value


def _naive_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime) -> datetime:
    """Cassandra returns naive UTC timestamps."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class ViewStore:
    """Reads of both layers' views for one keyspace (``session`` bound to it)."""

    def __init__(self, session, *, lg_k: int, speed_final_after: timedelta,
                 changing_cache_s: float = 2.0, cache_pieces: int = 200_000):
        self.session = session
        self.lg_k = lg_k
        self.speed_final_after = speed_final_after
        self.changing_cache_s = changing_cache_s
        self._cache = Lru(cache_pieces)
        prepare = session.prepare
        self._versions = prepare("SELECT day, version FROM batch_days WHERE site_id = ? "
                                 "AND day >= ? AND day <= ?")
        self._days = prepare("SELECT * FROM batch_days WHERE site_id = ? AND day IN ?")
        self._hourly = prepare("SELECT * FROM batch_hourly WHERE site_id = ? AND day = ? "
                               "AND version = ?")
        self._breakdowns = prepare(
            "SELECT value, visitors, visitors_sketch, pageviews, events, sessions, bounces, "
            "total_duration_s FROM batch_breakdowns WHERE site_id = ? AND day = ? "
            "AND version = ? AND dimension = ?")
        self._goals = prepare("SELECT * FROM batch_goals WHERE site_id = ? AND day = ? "
                              "AND version = ?")
        self._minutes = prepare(
            "SELECT minute, key, pageviews, custom_events, bot_events, visitors, "
            "visitors_sketch FROM realtime_views WHERE site_id = ? AND view_name = ? "
            "AND hour = ? AND minute >= ? AND minute < ?")
        self._late = prepare(
            "SELECT minute, event_minute, pageviews, custom_events, bot_events, visitors, "
            "visitors_sketch FROM realtime_views WHERE site_id = ? AND view_name = 'late' "
            "AND hour = ?")

    # -- batch layer ---------------------------------------------------------------------
    def closed_days(self, site_id: str, first: date, last: date) -> dict[date, ClosedDay]:
        """The days of the range the batch layer has closed, with their ``batch_days`` row.
        Which version is current is read again after ``changing_cache_s``; a version's
        row never changes, so it is kept."""
        versions = self._cache.get_or_make(
            ("versions", site_id, first, last),
            lambda: [(_as_date(r.day), r.version) for r in
                     self.session.execute(self._versions, (site_id, first, last))],
            ttl_s=self.changing_cache_s)
        found, missing = {}, []
        for day, version in versions:
            hit = self._cache.peek(("day", site_id, day, version))
            if hit is None:
                missing.append(day)
            else:
                found[day] = hit
        for chunk in range(0, len(missing), 100):
            for row in self.session.execute(self._days, (site_id, missing[chunk:chunk + 100])):
                day = ClosedDay(_as_date(row.day), row, batch_day_part(row))
                self._cache.put(("day", site_id, day.day, row.version), day)
                found[day.day] = day
        return found

    def batch_hours(self, site_id: str, day: date, version: str) -> list:
        return self._cache.get_or_make(
            ("hourly", site_id, day, version),
            lambda: list(self.session.execute(self._hourly, (site_id, day, version))))

    def batch_breakdown(self, site_id: str, day: date, version: str,
                        dimension: str) -> dict[str, Part]:
        """value -> :class:`Part` of one closed day's breakdown by ``dimension``."""
        def read():
            rows = self.session.execute(self._breakdowns, (site_id, day, version, dimension))
            return {r.value: Part(
                visitors=r.visitors or 0, sketch=loaded(r.visitors_sketch),
                pageviews=r.pageviews or 0,
                events=r.events or 0, sessions=r.sessions, bounces=r.bounces,
                duration_s=r.total_duration_s) for r in rows}
        return self._cache.get_or_make(("breakdown", site_id, day, version, dimension), read)

    def merged(self, key: tuple, make: Callable):
        """A result made from batch versions only (so it never changes), kept."""
        return self._cache.get_or_make(("merged", *key), make)

    def batch_goals(self, site_id: str, day: date, version: str) -> list:
        return self._cache.get_or_make(
            ("goals", site_id, day, version),
            lambda: list(self.session.execute(self._goals, (site_id, day, version))))

    # -- speed layer ---------------------------------------------------------------------
    def speed(self, site_id: str, view: str, start: datetime, end: datetime,
              now: datetime) -> dict[str, Part]:
        """key -> :class:`Part` merged over the UTC minutes [start, end) of ``view``."""
        pieces: dict[str, list[Part]] = {}
        for hour in utc_hours(start, end):
            lo, hi = max(start, hour), min(end, hour + HOUR)
            for key, part in self._speed_hour(site_id, view, hour, (lo, hi), now).items():
                pieces.setdefault(key, []).append(part)
        return {key: merge_parts(parts, self.lg_k) for key, parts in pieces.items()}

    def speed_minutes(self, site_id: str, view: str, start: datetime,
                      end: datetime) -> list:
        """The raw minute rows of ``view`` in [start, end), oldest first (realtime)."""
        rows = []
        for hour in utc_hours(start, end):
            rows.extend(self.session.execute(self._minutes, (
                site_id, view, _naive_utc(hour), _naive_utc(max(start, hour)),
                _naive_utc(min(end, hour + HOUR)))))
        return rows

    def late(self, site_id: str, start: datetime, end: datetime,
             now: datetime) -> list[LateRow]:
        """The ``late`` view's rows of the events that arrived in the UTC hours overlapping
        [start, end) (its partitions are the hours events arrived in, not the hours they
        belong to; :mod:`api.read.late`). An hour the watermark has passed gets no more
        rows, so it is kept; the others are read again after ``changing_cache_s``."""
        rows: list[LateRow] = []
        for hour in utc_hours(start, end):
            final = hour + HOUR + self.speed_final_after <= now
            rows.extend(self._cache.get_or_make(
                ("late", site_id, hour), lambda h=hour: self._read_late_hour(site_id, h),
                ttl_s=None if final else self.changing_cache_s))
        return rows

    def _read_late_hour(self, site_id: str, hour: datetime) -> list[LateRow]:
        return [late_row(_aware(r.minute), _aware(r.event_minute), pageviews=r.pageviews,
                         custom_events=r.custom_events, bot_events=r.bot_events,
                         visitors=r.visitors, visitors_sketch=r.visitors_sketch)
                for r in self.session.execute(self._late, (site_id, _naive_utc(hour)))]

    def _speed_hour(self, site_id, view, hour, window, now) -> dict[str, Part]:
        lo, hi = window
        final = hour + HOUR + self.speed_final_after <= now
        return self._cache.get_or_make(
            ("speed", site_id, view, hour, lo, hi),
            lambda: self._read_speed_hour(site_id, view, hour, lo, hi),
            ttl_s=None if final else self.changing_cache_s)

    def _read_speed_hour(self, site_id, view, hour, lo, hi) -> dict[str, Part]:
        rows = self.session.execute(self._minutes, (
            site_id, view, _naive_utc(hour), _naive_utc(lo), _naive_utc(hi)))
        return minute_parts(rows, self.lg_k)


@dataclass(frozen=True)
class ClosedDay:
    """A day the batch layer has closed: its ``batch_days`` row and that row as a Part."""

    day: date
    row: object
    part: Part

    @property
    def version(self) -> str:
        return self.row.version


def batch_day_part(row) -> Part:
    return Part(visitors=row.visitors or 0, sketch=loaded(row.visitors_sketch),
                pageviews=row.pageviews or 0, events=row.custom_events or 0,
                bot_events=row.bot_events or 0, sessions=row.sessions or 0,
                engaged_sessions=row.engaged_sessions or 0, bounces=row.bounces or 0,
                duration_s=row.total_duration_s or 0.0,
                session_pageviews=row.session_pageviews or 0)


def minute_parts(rows: Iterable, lg_k: int) -> dict[str, Part]:
    """Speed-layer minute rows -> key -> one merged :class:`Part` (no sessions)."""
    by_key: dict[str, list[Part]] = {}
    for r in rows:
        by_key.setdefault(r.key, []).append(Part(
            visitors=r.visitors or 0, sketch=r.visitors_sketch, pageviews=r.pageviews or 0,
            events=r.custom_events or 0, bot_events=r.bot_events or 0))
    return {key: merge_parts(parts, lg_k) for key, parts in by_key.items()}


def _as_date(value) -> date:
    """cassandra-driver gives ``cassandra.util.Date`` for date columns."""
    return value if isinstance(value, date) else value.date()
