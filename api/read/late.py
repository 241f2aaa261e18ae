"""Late events in the speed layer's provisional numbers (no Falcon in here).

An event that reaches the speed layer more than its watermark after its event time (a
client that buffered it, a lagging stream, an import) is left out of the on-time minute
views (``totals``, ``pages``, ``sources``, ``events``) and counted in the ``late`` view
instead: one row per site, UTC minute it *arrived* in (``minute``, which also picks the
partition's ``hour``) and UTC minute it *belongs* to (``event_minute``), with its counted
pageviews, custom events and bot events (``analytics.metrics.realtime.minute_views``).
Each event counted by the speed layer is in exactly one of the two sides (the one
aggregation fans a deduplicated event out to the on-time views or to ``late``, decided per
event by ``is_late``), so a provisional day is its on-time minutes plus the late rows whose
``event_minute`` lies in it, and nothing is counted twice.

What the late view cannot say: which page, source or custom event name a late event had
(its key is always ""), so breakdowns, filters and goals of a provisional day leave late
events out and ``meta`` says how many; and who sent them — the streaming job builds the
late rows' visitor sketch over on-time events only, so it is empty. Late rows that do
carry a sketch are merged into visitors like any other piece; the others are named in
``meta``. The batch layer counts every one of them when it closes the day.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from analytics.periods import floor_hour
from api.read.sketches import EMPTY, Part, loaded, merge_parts


@dataclass(frozen=True)
class LateRow:
    """One ``late`` row: events of ``event_minute`` that arrived in ``arrived``."""

    arrived: datetime
    event_minute: datetime
    part: Part

    @property
    def counted(self) -> int:
        """Counted (non-bot) late events: pageviews and custom events."""
        return self.part.pageviews + self.part.events

    @property
    def lacks_visitors(self) -> bool:
        """Counted events whose visitors the row cannot tell (no sketch of them)."""
        return self.counted > 0 and self.part.sketch is None


def late_row(minute: datetime, event_minute: datetime, *, pageviews, custom_events,
             bot_events, visitors, visitors_sketch) -> LateRow:
    """A stored ``late`` row (timestamps aware UTC) as a :class:`LateRow`. An empty sketch
    (what ``hll_sketch_agg`` makes of no visitor ids) is no sketch."""
    sketch = loaded(visitors_sketch)
    if sketch is not None and sketch.is_empty():
        sketch = None
    return LateRow(minute, event_minute, Part(
        visitors=(visitors or 0) if sketch is not None else 0, sketch=sketch,
        pageviews=pageviews or 0, events=custom_events or 0, bot_events=bot_events or 0))


def arrival_window(day_starts: Iterable[datetime], now: datetime,
                   ) -> tuple[datetime, datetime] | None:
    """The arrival minutes to read for days starting at ``day_starts``: an event arrives
    after it happened, so from the first day's first hour up to now (the views' TTL bounds
    how far back rows exist)."""
    starts = list(day_starts)
    if not starts:
        return None
    return floor_hour(min(starts)), now


class LateEvents:
    """The late rows of a report's provisional days, sorted by the minute they belong to."""

    def __init__(self, rows: Iterable[LateRow], lg_k: int):
        self.rows = sorted(rows, key=lambda r: r.event_minute)
        self._keys = [r.event_minute for r in self.rows]
        self.lg_k = lg_k

    def between(self, start: datetime, end: datetime) -> list[LateRow]:
        """The rows whose events belong to [start, end)."""
        return self.rows[bisect_left(self._keys, start):bisect_left(self._keys, end)]

    def part(self, start: datetime, end: datetime) -> Part:
        """The late events of [start, end) as one piece (EMPTY when there are none)."""
        rows = self.between(start, end)
        if not rows:
            return EMPTY
        return merge_parts([r.part for r in rows], self.lg_k)


@dataclass
class LateTally:
    """What ``meta.late_events`` reports: the late events of the provisional days."""

    pageviews: int = 0
    events: int = 0
    bot_events: int = 0
    days: dict[date, dict] = field(default_factory=dict)
    without_visitors: dict[date, int] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return self.pageviews + self.events

    def add(self, day: date, rows: Sequence[LateRow]) -> None:
        pageviews = sum(r.part.pageviews for r in rows)
        events = sum(r.part.events for r in rows)
        bots = sum(r.part.bot_events for r in rows)
        if not (pageviews or events or bots):
            return
        self.pageviews += pageviews
        self.events += events
        self.bot_events += bots
        self.days[day] = {"pageviews": pageviews, "events": events, "bot_events": bots}
        blind = sum(r.counted for r in rows if r.lacks_visitors)
        if blind:
            self.without_visitors[day] = blind

    def days_with_counted(self) -> list[date]:
        return [d for d, c in self.days.items() if c["pageviews"] or c["events"]]


def tally(late: LateEvents, days: Iterable[tuple[date, datetime, datetime]]) -> LateTally:
    """Per provisional day (day, utc_start, utc_end): its late events."""
    found = LateTally()
    for day, start, end in days:
        found.add(day, late.between(start, end))
    return found


WATERMARK_WORDS = ("arrived more than the speed layer's watermark after they happened "
                   "(buffered by a client, a lagging stream, an import)")


def meta_of(found: LateTally, included: bool) -> dict:
    """``meta.late_events``: how many late events the provisional days have and whether
    this report's numbers include them."""
    return {
        "included": included,
        "pageviews": found.pageviews, "events": found.events,
        "bot_events": found.bot_events,
        "days": {d.isoformat(): counts for d, counts in sorted(found.days.items())},
        "description": ("events of the provisional days (not yet closed by the batch layer) "
                        f"that {WATERMARK_WORDS}; "
                        + ("counted in the days and hours they belong to"
                           if included else
                           "not in these numbers: the speed layer counts them per minute "
                           "only, without page, source or event name")),
    }


def late_notes(found: LateTally, metrics: Sequence[str], *, goal_metrics: Sequence[str] = (),
               excluded: dict | None = None, split_by: str | None = None) -> list[dict]:
    """``meta.incomplete`` entries about late events. A report whose totals include them
    (no ``excluded``): visitors do not, nor do the ``goal_metrics`` among ``metrics``.
    A report split by ``split_by`` leaves them out of ``excluded`` (``{"dimension": ...}``
    or ``{"metrics": [...]}``) altogether."""
    if excluded is not None:
        why = (GOALS_WHY if split_by == "goal" else f"not by {split_by}")
        notes = [excluded_note(found, excluded, why)]
    else:
        notes = [visitors_note(found) if "visitors" in metrics else None]
        goals = [m for m in metrics if m in goal_metrics]
        if goals:
            notes.append(excluded_note(found, {"metrics": goals}, GOALS_WHY))
    return [n for n in notes if n]


GOALS_WHY = "not by event name or page, so they cannot be matched to goals"


def excluded_note(found: LateTally, what: dict, why: str) -> dict | None:
    """A ``meta.incomplete`` entry: numbers of ``what`` (``{"dimension": ...}`` or
    ``{"metrics": [...]}``) that leave the late events of the provisional days out."""
    days = found.days_with_counted()
    if not days:
        return None
    return {**what, "days": [d.isoformat() for d in sorted(days)],
            "late_events": found.counted, "reason": (
                f"these numbers exclude {found.counted} late events of these days "
                f"({_n(found.pageviews, 'pageview')}, {_n(found.events, 'custom event')}) "
                f"pending the batch run: the speed layer counts late events per minute only, "
                f"{why}")}


def visitors_note(found: LateTally) -> dict | None:
    """A ``meta.incomplete`` entry when late events are in the counts but their visitors
    cannot be (their rows have no sketch)."""
    if not found.without_visitors:
        return None
    blind = sum(found.without_visitors.values())
    return {"metrics": ["visitors"],
            "days": [d.isoformat() for d in sorted(found.without_visitors)],
            "late_events": blind, "reason": (
                f"visitors leave out whoever sent the {blind} late events of these days "
                "(they are in pageviews and events): the speed layer keeps no visitor "
                "sketch for late events; the batch run counts them")}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
