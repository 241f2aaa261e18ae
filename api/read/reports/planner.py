"""The report planner: which layer and which view answers each part of a report, day by
day, or that no view can (pure: no store, no Falcon, no clock in here).

Inputs (:class:`PlanInputs`): the report kind, the query, the site's zone, the range of
site-local days it covers, the days the batch layer has closed, ``now`` and how long the
speed layer keeps its minute views. Output (:class:`ReportPlan`): one :class:`DayPlan` per
day that has begun — its layer (:func:`api.read.layers.plan_days`) and the views that answer
its totals, hours, goals and the rows of the dimension the report is split by — plus what
the layers cannot answer, as ``meta.incomplete`` entries, and how late events are counted.
A query no view can answer is refused (:func:`refusal`): :class:`NeedsJob` when the raw
events can (an ad-hoc job), :class:`~api.read.query.QueryError` when nothing can.

What the views can answer:
- a closed day: everything, from the batch layer's ``batch_days``, ``batch_hourly``,
  ``batch_breakdowns`` (any dimension) and ``batch_goals``;
- any other day: the speed layer's minute views ``totals`` plus ``late`` (totals and hours),
  ``pages``, ``sources``, ``events`` (breakdowns by page, source per pageview, custom event)
  and ``events`` plus ``pages`` (goals). No sessions, no other dimension: those are
  reported missing for the day (never as zero) until the batch layer closes it;
- a day of neither whose minute views have expired (older than the views' TTL): nothing;
  ``meta.incomplete`` asks for a backfill;
- filters on one dimension are answered from that dimension's rows (for a breakdown, it
  must be the breakdown's own dimension); other combinations, hourly series with
  filters and goal metrics with filters need the raw events;
- late events are in a provisional day's totals and hours, not in its rows, filtered
  numbers, goals or visitors (:mod:`api.read.late`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from api.read.layers import BATCH, DaySource, plan_days
from api.read.query import Query, QueryError

# the views (Cassandra tables of the batch layer; ``view_name``s of the speed layer)
BATCH_DAYS, BATCH_HOURLY = "batch_days", "batch_hourly"
BATCH_BREAKDOWNS, BATCH_GOALS = "batch_breakdowns", "batch_goals"
TOTALS, PAGES, SOURCES, EVENTS, LATE = "totals", "pages", "sources", "events", "late"

SESSION_METRICS = ("sessions", "engaged_sessions", "bounce_rate", "visit_duration",
                   "views_per_session")
GOAL_METRICS = ("conversions", "converting_visitors", "conversion_rate")
SPEED_DIMENSIONS = {"page": PAGES, "source": SOURCES, "event": EVENTS}
"""The dimensions the speed layer has rows of, and the view that has them."""
MAX_HOURLY_DAYS = 93
KINDS = ("aggregate", "timeseries", "breakdown", "goals")
_JOB = "submit it as an ad-hoc job (POST /api/v1/jobs)"


class NeedsJob(QueryError):
    """Valid, but no view answers it: an ad-hoc job over the raw events does."""


@dataclass(frozen=True)
class PlanInputs:
    """What a report's plan depends on."""

    kind: str  # one of KINDS
    query: Query
    timezone: str
    first: date  # the range of site-local days, both included (query.resolve_days)
    last: date
    closed: Collection[date]  # the days of the range the batch layer has closed
    now: datetime
    realtime_ttl: timedelta  # how long the speed layer keeps its minute views


@dataclass(frozen=True)
class DayPlan:
    """One day of a report: its layer and the views that answer each part of it. An empty
    tuple: nothing to read (the day's minute views have expired); ``rows`` is None when the
    day's layer has no rows of the report's ``split_by`` dimension (or nothing splits)."""

    source: DaySource
    expired: bool
    totals: tuple[str, ...]
    hours: tuple[str, ...]
    goals: tuple[str, ...]
    rows: tuple[str, ...] | None
    missing: tuple[str, ...]  # requested metrics and dimension no view of this day has

    @property
    def day(self) -> date:
        return self.source.day

    @property
    def layer(self) -> str:
        return self.source.layer


@dataclass(frozen=True)
class ReportPlan:
    """The decisions for one report.

    ``split_by``: the dimension whose rows answer it (a breakdown's dimension, a filter's,
    ``goal`` for the goals report), None for plain totals. ``goals``: it reads the goal
    views (goal metrics, or goals report). ``late_included``: its totals count late
    events (``meta.late_events.included``); otherwise ``late_left_out`` says what leaves
    them out (``{"dimension": ...}`` or ``{"metrics": [...]}``; None: nothing to say, the
    provisional days' rows are missing altogether). ``incomplete``: the ``meta.incomplete``
    entries about what the speed layer's days lack; ``expired``: the days nothing can
    answer until a backfill."""

    first: date
    last: date
    days: tuple[DayPlan, ...]
    split_by: str | None
    goals: bool
    late_included: bool
    late_left_out: dict | None
    incomplete: tuple[dict, ...]
    expired: tuple[date, ...]

    @property
    def batch_days(self) -> list[DayPlan]:
        return [d for d in self.days if d.layer == BATCH]

    @property
    def speed_days(self) -> list[DayPlan]:
        return [d for d in self.days if d.layer != BATCH]

    @property
    def live_days(self) -> list[DayPlan]:
        """The provisional days whose speed-layer views still exist."""
        return [d for d in self.days if d.layer != BATCH and not d.expired]

    def expired_note(self) -> dict | None:
        """The ``meta.incomplete`` entry for the expired days (the last one)."""
        if not self.expired:
            return None
        return {"days": iso_days(self.expired), "reason": (
            "the batch layer has not closed these days and the speed layer's views of "
            "them have expired: run the nightly DAG for them (a backfill)")}


def refusal(kind: str, query: Query, first: date, last: date) -> QueryError | None:
    """Why no view can answer this query (the first reason, as the error to raise), or
    None. Decided from the query and its range alone, before anything is read."""
    if kind == "breakdown":
        if not query.dimensions:
            return QueryError("dimensions: a breakdown needs one dimension")
        dimension = query.dimensions[0]
        other = {f.dimension for f in query.filters} - {dimension}
        if other:
            return NeedsJob(f"filters on {', '.join(sorted(other))} with a breakdown by "
                            f"{dimension} need the raw events: {_JOB}")
        return None
    if kind not in ("aggregate", "timeseries"):
        return None
    dimensions = {f.dimension for f in query.filters}
    if len(dimensions) > 1:
        return NeedsJob(f"filters on several dimensions ({', '.join(sorted(dimensions))}) "
                        f"need the raw events: {_JOB}")
    goals = set(query.metrics) & set(GOAL_METRICS)
    if kind == "timeseries" and query.interval == "hour":
        if query.filters:
            return NeedsJob("filters on an hourly series need the raw events: submit it "
                            "as an ad-hoc job (POST /api/v1/jobs), or use interval day")
        if (last - first).days + 1 > MAX_HOURLY_DAYS:
            return QueryError(f"interval: hour covers {MAX_HOURLY_DAYS} days at most; use "
                              "day, week or month")
        if goals:
            return QueryError("metrics: goal metrics are reported per day, week or month")
    elif goals and query.filters:
        return NeedsJob(f"goal metrics with filters need the raw events: {_JOB}")
    return None


def plan_report(inputs: PlanInputs) -> ReportPlan:
    """The plan of one report (raises :func:`refusal`'s error for a query no view
    answers)."""
    kind, query = inputs.kind, inputs.query
    if kind not in KINDS:
        raise ValueError(f"no report kind {kind!r}")
    error = refusal(kind, query, inputs.first, inputs.last)
    if error is not None:
        raise error
    split_by = split_dimension(kind, query)
    wanted = () if kind == "goals" else tuple(m for m in query.metrics
                                                  if m in SESSION_METRICS)
    stale_before = inputs.now - inputs.realtime_ttl
    days = tuple(day_plan(source, split_by=split_by, session_metrics=wanted,
                          expired=source.layer != BATCH and source.utc_end < stale_before)
                 for source in plan_days(inputs.first, inputs.last, inputs.timezone,
                                         inputs.closed, inputs.now))
    filtered = kind in ("aggregate", "timeseries") and bool(query.filters)
    late_included = kind in ("aggregate", "timeseries") and not filtered
    late_left_out = None
    if not late_included and (split_by in SPEED_DIMENSIONS or split_by == "goal"):
        late_left_out = ({"metrics": list(query.metrics)} if filtered
                         else {"dimension": split_by})
    return ReportPlan(
        first=inputs.first, last=inputs.last, days=days, split_by=split_by,
        goals=kind == "goals" or (kind != "breakdown"
                                  and bool(set(query.metrics) & set(GOAL_METRICS))),
        late_included=late_included, late_left_out=late_left_out,
        incomplete=() if kind == "goals" else speed_gaps(days, split_by, wanted),
        expired=tuple(d.day for d in days if d.expired))


def split_dimension(kind: str, query: Query) -> str | None:
    """The dimension whose rows answer the report: a breakdown's, the one its filters
    name, ``goal`` for the goals report; None for totals."""
    if kind == "goals":
        return "goal"
    if kind == "breakdown":
        return query.dimensions[0]
    dimensions = {f.dimension for f in query.filters}
    return dimensions.pop() if dimensions else None


def day_plan(source: DaySource, *, split_by: str | None, session_metrics: tuple[str, ...],
             expired: bool) -> DayPlan:
    """The views that answer one day (``session_metrics``: the requested ones)."""
    if source.layer == BATCH:
        rows = None
        if split_by is not None:
            rows = (BATCH_GOALS,) if split_by == "goal" else (BATCH_BREAKDOWNS,)
        return DayPlan(source, expired=False, totals=(BATCH_DAYS,), hours=(BATCH_HOURLY,),
                       goals=(BATCH_GOALS,), rows=rows, missing=())
    rows, missing = None, session_metrics
    if split_by == "goal":
        rows = (EVENTS, PAGES)
    elif split_by in SPEED_DIMENSIONS:
        rows = (SPEED_DIMENSIONS[split_by],)
    elif split_by is not None:
        missing = (*missing, split_by)
    if expired:
        return DayPlan(source, expired=True, totals=(), hours=(), goals=(),
                       rows=None if rows is None else (), missing=missing)
    return DayPlan(source, expired=False, totals=(TOTALS, LATE), hours=(TOTALS, LATE),
                   goals=(EVENTS, PAGES), rows=rows, missing=missing)


def speed_gaps(days: Iterable[DayPlan], split_by: str | None,
               session_metrics: tuple[str, ...]) -> tuple[dict, ...]:
    """``meta.incomplete`` entries for what the provisional days' views lack: a
    dimension's rows (then the days are left out of the rows, whatever the metrics), else
    sessions; and that source is counted per pageview there."""
    days = list(days)
    notes = []
    no_rows = [d.day for d in days if split_by is not None and split_by in d.missing]
    no_sessions = [d.day for d in days if any(m in d.missing for m in session_metrics)]
    if no_rows:
        notes.append({"dimension": split_by, "days": iso_days(no_rows), "reason": (
            "this breakdown comes from the batch layer, which has not closed these "
            "days yet; their rows are not included")})
    elif no_sessions:
        notes.append({"metrics": list(session_metrics), "days": iso_days(no_sessions),
                      "reason": (
                          "sessions are made by the batch layer, which has not closed these "
                          "days yet; the values cover the other days only")})
    speed = [d.day for d in days if d.layer != BATCH]
    if split_by == "source" and speed:
        notes.append({"dimension": "source", "days": iso_days(speed), "reason": (
            "until the batch layer closes these days, source is counted per pageview "
            "(its own referrer or utm_source), not per session")})
    return tuple(notes)


def iso_days(days: Iterable[date]) -> list[str]:
    return [d.isoformat() for d in days]
