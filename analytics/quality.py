"""Data quality: after the batch layer closed a day, do both layers agree on it?

docs/metrics.md, Layers: once the nightly batch has run for a day, batch and speed-layer
totals for that day agree on pageviews and custom events exactly, unless events arrived
later than the speed layer's watermark. The speed layer counts such events in its
``late`` view, by the minute they arrived in, with the minute they belong to
(``event_minute``). So for every measure, with ``late`` = the late view's count for the
day:

    0 <= batch - speed <= late

``batch - speed < 0``: the speed layer counted events the batch layer did not see (raw
events lost, or a dedup that differs). ``batch - speed > late``: events are missing from
the speed layer and lateness does not explain it. (Late events that were copies of an
event already counted are dropped by the batch dedup, hence ``<=``, not ``==``.)

:func:`compare` is the rule (pure); :func:`check_days` reads both layers from Cassandra.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from analytics.config import Config
from analytics.periods import HOUR, days, floor_hour, utc_hours
from analytics.sites import SiteRepository

MEASURES = ("pageviews", "custom_events")


@dataclass(frozen=True)
class DayCheck:
    site_id: str
    day: date
    batch: dict[str, int] = field(default_factory=dict)
    speed: dict[str, int] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        head = f"{self.site_id} {self.day}: {'ok' if self.ok else 'MISMATCH'}"
        counts = "; ".join(
            f"{m} batch {self.batch.get(m, '-')} speed {self.speed.get(m, '-')} "
            f"late {self.late.get(m, '-')}" for m in MEASURES)
        tail = " ".join(p for p in (self.note, *self.problems) if p)
        return f"{head} ({counts}){' ' + tail if tail else ''}"


def compare(batch: dict[str, int], speed: dict[str, int], late: dict[str, int],
            ) -> tuple[str, ...]:
    """What is wrong with a day's numbers (empty: the layers agree)."""
    problems = []
    for measure in MEASURES:
        gap = batch[measure] - speed[measure]
        if gap < 0:
            problems.append(f"the speed layer has {-gap} more {measure} than the batch layer")
        elif gap > late[measure]:
            problems.append(f"the batch layer has {gap} more {measure} than the speed layer; "
                            f"late events explain {late[measure]}")
    return tuple(problems)


def _utc(value: datetime) -> datetime:
    """Cassandra returns naive UTC timestamps."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class LayerReader:
    """Reads one day of each layer for a site (``session`` bound to the keyspace)."""

    def __init__(self, session, concurrency: int = 32):
        self.session = session
        self.concurrency = concurrency
        self._batch = session.prepare(
            "SELECT pageviews, custom_events, utc_start, utc_end FROM batch_days "
            "WHERE site_id = ? AND day = ?")
        self._views = session.prepare(
            "SELECT minute, event_minute, pageviews, custom_events FROM realtime_views "
            "WHERE site_id = ? AND view_name = ? AND hour = ?")

    def batch_day(self, site_id: str, day: date):
        return self.session.execute(self._batch, (site_id, day)).one()

    def speed_counts(self, site_id: str, view: str, hours: list[datetime], *,
                     start: datetime, end: datetime, by: str) -> dict[str, int]:
        """Sums over the view's rows in ``hours`` whose ``by`` minute is in [start, end)."""
        from cassandra.concurrent import execute_concurrent_with_args

        totals = dict.fromkeys(MEASURES, 0)
        results = execute_concurrent_with_args(
            self.session, self._views, [(site_id, view, h) for h in hours],
            concurrency=self.concurrency, raise_on_first_error=True)
        for _, rows in results:
            for row in rows:
                if start <= _utc(getattr(row, by)) < end:
                    for measure in MEASURES:
                        totals[measure] += getattr(row, measure) or 0
        return totals


def check_day(reader: LayerReader, site_id: str, day: date, *, now: datetime,
              late_hours: int, ttl_days: int) -> DayCheck:
    row = reader.batch_day(site_id, day)
    if row is None:
        return DayCheck(site_id, day, problems=("the batch layer has not closed this day",))
    start, end = _utc(row.utc_start), _utc(row.utc_end)
    batch = {m: getattr(row, m) or 0 for m in MEASURES}
    if end + timedelta(days=ttl_days) - HOUR < now:
        return DayCheck(site_id, day, batch=batch,
                        note="not compared: the speed layer's views of this day expired")
    speed = reader.speed_counts(site_id, "totals", list(utc_hours(start, end)), start=start,
                                end=end, by="minute")
    arrived_by = min(now, end + timedelta(hours=late_hours))
    late = reader.speed_counts(site_id, "late", list(utc_hours(floor_hour(start), arrived_by)),
                               start=start, end=end, by="event_minute")
    return DayCheck(site_id, day, batch=batch, speed=speed, late=late,
                    problems=compare(batch, speed, late))


def check_days(config: Config, session, *, start_day: date, end_day: date,
               site_ids: Sequence[str] | None, now: datetime) -> list[DayCheck]:
    """One :class:`DayCheck` per site (``site_ids``, or every site) and local day."""
    wanted = set(site_ids or ())
    sites = [s for s in SiteRepository(session).all() if not wanted or s.site_id in wanted]
    missing = sorted(wanted - {s.site_id for s in sites})
    checks = [DayCheck(site_id, day, problems=("unknown site",))
              for site_id in missing for day in days(start_day, end_day)]
    reader = LayerReader(session)
    return checks + [check_day(reader, site.site_id, day, now=now,
                               late_hours=config.quality_late_hours,
                               ttl_days=config.realtime_ttl_days)
                     for site in sites for day in days(start_day, end_day)]
