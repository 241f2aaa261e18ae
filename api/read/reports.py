"""The reports of the read API, answered from both layers' views (no Falcon in here).

Every report plans its days with :func:`api.read.layers.plan_days`: a closed day comes
whole from the batch layer, any other day from the speed layer's minutes of that day up
to now. Pieces are :class:`~api.read.sketches.Part` and add up as that module says.

What the views can answer:
- the speed layer has no sessions, and breaks down by page, source (per pageview, not per
  session) and custom event only. For a day it serves, the other metrics and dimensions
  are reported missing in ``meta.incomplete`` (never as zero); they appear when the
  batch layer closes the day;
- filters on one dimension are answered from that dimension's breakdown rows (for a
  breakdown, it must be the breakdown's own dimension); other combinations, and hourly
  series with filters, need the raw events: :class:`NeedsJob` (400, "use /api/v1/jobs");
- late events (arrived more than the watermark after they happened) are in a provisional
  day's totals and hours, by the minute they belong to, but not in its breakdowns,
  filtered numbers, goals or visitors (:mod:`api.read.late`); ``meta.late_events`` says
  how many there are and ``meta.incomplete`` what leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from analytics.sites import Site
from api.read.late import LateEvents, LateTally, arrival_window, late_notes, meta_of, tally
from api.read.layers import BATCH, DaySource, local_hours, plan_days
from api.read.query import Query, QueryError, resolve_days
from api.read.sketches import BATCH_EMPTY, EMPTY, Part, estimate, merge_parts, union_sketch
from api.read.store import ViewStore

SESSION_METRICS = ("sessions", "engaged_sessions", "bounce_rate", "visit_duration",
                   "views_per_session")
GOAL_METRICS = ("conversions", "converting_visitors", "conversion_rate")
SPEED_DIMENSIONS = {"page": "pages", "source": "sources", "event": "events"}
EVENT_LEVEL = ("page", "event")
REALTIME_MINUTES = 30
MAX_HOURLY_DAYS = 93


class NeedsJob(QueryError):
    """Valid, but no view answers it: an ad-hoc job over the raw events does."""


@dataclass
class Report:
    columns: list[str]
    rows: list[dict]
    meta: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"meta": self.meta, "columns": self.columns, "rows": self.rows}


@dataclass
class _Plan:
    site: Site
    first: date
    last: date
    days: list[DaySource]
    closed: dict
    late: LateEvents | None = None
    late_tally: LateTally | None = None

    @property
    def speed_days(self) -> list[date]:
        return [d.day for d in self.days if d.layer != BATCH]


def _ratio(num, den, digits: int):
    if num is None or den is None or den == 0:
        return None
    return round(num / den, digits)


def metric_values(part: Part, metrics: Iterable[str], goals: Part | None = None,
                  visitors_of_range: int | None = None) -> dict:
    """The requested metrics of one merged piece (``goals``: its conversions)."""
    sessions = part.sessions
    values = {
        "visitors": part.visitors, "pageviews": part.pageviews, "events": part.events,
        "bot_events": part.bot_events, "sessions": sessions,
        "engaged_sessions": part.engaged_sessions,
        "bounce_rate": _ratio(part.bounces, sessions, 4),
        "visit_duration": _ratio(part.duration_s, sessions, 1),
        "views_per_session": _ratio(part.session_pageviews, sessions, 2),
    }
    if goals is not None:
        base = part.visitors if visitors_of_range is None else visitors_of_range
        values.update(conversions=goals.events, converting_visitors=goals.visitors,
                      conversion_rate=_ratio(goals.visitors, base, 4))
    return {m: values.get(m) for m in metrics}


class Reports:
    def __init__(self, store: ViewStore, *, lg_k: int, realtime_ttl_days: int):
        self.store = store
        self.lg_k = lg_k
        self.realtime_ttl = timedelta(days=realtime_ttl_days)

    # -- planning ------------------------------------------------------------------------
    def plan(self, site: Site, query: Query, now: datetime) -> _Plan:
        first, last = resolve_days(query, site.timezone, now)
        closed = self.store.closed_days(site.site_id, first, last)
        return _Plan(site, first, last,
                     plan_days(first, last, site.timezone, closed, now), closed)

    def _meta(self, plan: _Plan, query: Query, now: datetime, incomplete: list, *,
              late_included: bool = True) -> dict:
        speed = plan.speed_days
        expired = [d.day for d in plan.days if d.layer != BATCH and self._expired(d, now)]
        if expired:
            incomplete.append({"days": _iso(expired), "reason": (
                "the batch layer has not closed these days and the speed layer's views of "
                "them have expired: run the nightly DAG for them (a backfill)")})
        return {
            "site_id": plan.site.site_id, "timezone": plan.site.timezone,
            "start": plan.first.isoformat(), "end": plan.last.isoformat(),
            "interval": query.interval, "generated_at": now.isoformat(),
            "layers": {"batch": _iso(d.day for d in plan.days if d.layer == BATCH),
                       "speed": _iso(speed)},
            "incomplete": incomplete,
            "late_events": meta_of(self._late_tally(plan, now), late_included),
        }

    def _missing(self, plan: _Plan, query: Query, dimension: str | None) -> list:
        speed = plan.speed_days
        notes = []
        if not speed:
            return notes
        wanted = [m for m in query.metrics if m in SESSION_METRICS]
        if dimension and dimension not in SPEED_DIMENSIONS and dimension != "goal":
            notes.append({"dimension": dimension, "days": _iso(speed), "reason": (
                "this breakdown comes from the batch layer, which has not closed these "
                "days yet; their rows are not included")})
        elif wanted:
            notes.append({"metrics": wanted, "days": _iso(speed), "reason": (
                "sessions are made by the batch layer, which has not closed these days "
                "yet; the values cover the other days only")})
        if dimension == "source":
            notes.append({"dimension": "source", "days": _iso(speed), "reason": (
                "until the batch layer closes these days, source is counted per pageview "
                "(its own referrer or utm_source), not per session")})
        return notes

    # -- late events of the provisional days ---------------------------------------------
    def late_events(self, plan: _Plan, now: datetime) -> LateEvents:
        """The ``late`` rows of the plan's provisional days (read once per report)."""
        if plan.late is None:
            live = self._live_days(plan, now)
            window = arrival_window((s.utc_start for s in live), now)
            rows = [] if window is None else self.store.late(plan.site.site_id, *window, now)
            plan.late = LateEvents(rows, self.lg_k)
        return plan.late

    def _late_tally(self, plan: _Plan, now: datetime) -> LateTally:
        if plan.late_tally is None:
            late = self.late_events(plan, now)
            plan.late_tally = tally(late, ((s.day, s.utc_start, s.utc_end)
                                           for s in self._live_days(plan, now)))
        return plan.late_tally

    def _live_days(self, plan: _Plan, now: datetime) -> list[DaySource]:
        """The provisional days whose speed-layer views still exist."""
        return [s for s in plan.days if s.layer != BATCH and not self._expired(s, now)]

    def _late_notes(self, plan: _Plan, query: Query, now: datetime, incomplete: list, *,
                    counted: bool, split_by: str | None = None, as_row: bool = False) -> None:
        """What of this report leaves the provisional days' late events out: with
        ``counted`` its totals include them (visitors and goals cannot); otherwise it is
        split by ``split_by`` (rows of that dimension when ``as_row``, else a filter)."""
        found = self._late_tally(plan, now)
        if counted:
            notes = late_notes(found, query.metrics, goal_metrics=GOAL_METRICS)
        elif split_by in SPEED_DIMENSIONS or split_by == "goal":
            what = {"dimension": split_by} if as_row else {"metrics": list(query.metrics)}
            notes = late_notes(found, query.metrics, excluded=what, split_by=split_by)
        else:
            notes = []  # a batch-only dimension: _missing says the days are left out
        incomplete.extend(notes)

    # -- pieces of a day -----------------------------------------------------------------
    def day_part(self, plan: _Plan, source: DaySource, now: datetime) -> Part:
        """A day's totals: a closed day's batch row; a provisional day's on-time minutes
        plus the late events that belong to it."""
        if source.layer == BATCH:
            return plan.closed[source.day].part
        if self._expired(source, now):
            return EMPTY
        on_time = self.store.speed(plan.site.site_id, "totals", source.utc_start,
                                   source.utc_end, now).get("", EMPTY)
        late = self.late_events(plan, now).part(source.utc_start, source.utc_end)
        return merge_parts([on_time, late], self.lg_k)

    def goal_parts(self, plan: _Plan, source: DaySource, now: datetime) -> dict[str, Part]:
        """goal -> Part(events=conversions, visitors/sketch=converting visitors)."""
        site = plan.site
        if source.layer == BATCH:
            row = plan.closed[source.day]
            return {g.goal: Part(visitors=g.converting_visitors or 0,
                                 sketch=g.converting_sketch,
                                 events=g.conversions or 0)
                    for g in self.store.batch_goals(site.site_id, source.day, row.version)}
        if self._expired(source, now):
            return {}
        events = self.store.speed(site.site_id, "events", source.utc_start, source.utc_end, now)
        pages = self.store.speed(site.site_id, "pages", source.utc_start, source.utc_end, now)
        found = {}
        for goal in sorted(site.goals):
            hits = [Part(visitors=p.visitors, sketch=p.sketch, events=p.events)
                    for p in [events.get(goal)] if p]
            hits += [Part(visitors=p.visitors, sketch=p.sketch, events=p.pageviews)
                     for p in [pages.get(goal)] if p]
            found[goal] = merge_parts(hits, self.lg_k)
        return found

    def breakdown_parts(self, plan: _Plan, source: DaySource, dimension: str,
                        now: datetime) -> dict[str, Part] | None:
        """value -> Part of one day; None when the day's layer has no such breakdown."""
        if dimension == "goal":
            return self.goal_parts(plan, source, now)
        if source.layer == BATCH:
            row = plan.closed[source.day]
            return self.store.batch_breakdown(plan.site.site_id, source.day, row.version,
                                              dimension)
        view = SPEED_DIMENSIONS.get(dimension)
        if view is None:
            return None
        if self._expired(source, now):
            return {}
        return self.store.speed(plan.site.site_id, view, source.utc_start, source.utc_end, now)

    def _expired(self, source: DaySource, now: datetime) -> bool:
        """A day the batch layer has not closed whose minute views have expired: nothing
        to read (``meta.incomplete`` says so), and a range of years stays cheap."""
        return source.utc_end < now - self.realtime_ttl

    def _filtered_day(self, plan, source, query, now) -> Part | None:
        dimension = _filter_dimension(query)
        parts = self.breakdown_parts(plan, source, dimension, now)
        if parts is None:
            return None
        return merge_parts([p for v, p in parts.items() if _passes(query, dimension, v)],
                           self.lg_k)

    # -- reports -------------------------------------------------------------------------
    def aggregate(self, site: Site, query: Query, now: datetime) -> Report:
        plan = self.plan(site, query, now)
        dimension = _filter_dimension(query)
        incomplete = self._missing(plan, query, dimension)
        parts = self._day_parts(plan, query, now)
        total = merge_parts(list(parts.values()), self.lg_k)
        goals = self._goals_total(plan, query, now)
        row = metric_values(total, query.metrics, goals)
        self._late_notes(plan, query, now, incomplete, counted=not query.filters,
                         split_by=dimension)
        return Report(list(query.metrics), [row], self._meta(
            plan, query, now, incomplete, late_included=not query.filters))

    def timeseries(self, site: Site, query: Query, now: datetime) -> Report:
        plan = self.plan(site, query, now)
        dimension = _filter_dimension(query)
        incomplete = self._missing(plan, query, dimension)
        if query.interval == "hour":
            if query.filters:
                raise NeedsJob("filters on an hourly series need the raw events: submit it "
                               "as an ad-hoc job (POST /api/v1/jobs), or use interval day")
            rows = self._hourly_rows(plan, query, now)
        else:
            parts = self._day_parts(plan, query, now)
            goal_days = self._goal_days(plan, query, now)
            buckets: dict[date, list[date]] = {}
            for source in plan.days:
                buckets.setdefault(_bucket(source.day, query.interval), []).append(source.day)
            rows = []
            for start, members in buckets.items():
                part = merge_parts([parts[d] for d in members], self.lg_k)
                goals = (merge_goals([goal_days[d] for d in members], self.lg_k)
                         if goal_days is not None else None)
                rows.append({"period": start.isoformat(),
                             **metric_values(part, query.metrics, goals)})
        self._late_notes(plan, query, now, incomplete, counted=not query.filters,
                         split_by=dimension)
        return Report(["period", *query.metrics], rows, self._meta(
            plan, query, now, incomplete, late_included=not query.filters))

    def breakdown(self, site: Site, query: Query, now: datetime) -> Report:
        if not query.dimensions:
            raise QueryError("dimensions: a breakdown needs one dimension")
        dimension = query.dimensions[0]
        other = {f.dimension for f in query.filters} - {dimension}
        if other:
            raise NeedsJob(f"filters on {', '.join(sorted(other))} with a breakdown by "
                           f"{dimension} need the raw events: submit it as an ad-hoc job "
                           "(POST /api/v1/jobs)")
        plan = self.plan(site, query, now)
        incomplete = self._missing(plan, query, dimension)
        batch_days = [s for s in plan.days if s.layer == BATCH]
        by_value: dict[str, list[Part]] = {
            value: [part] for value, part in self._merged_batch(
                plan, batch_days, dimension, now).items()}
        for source in plan.days:
            if source.layer == BATCH:
                continue
            for value, part in (self.breakdown_parts(plan, source, dimension, now)
                                or {}).items():
                by_value.setdefault(value, []).append(part)
        goal_base = None
        if dimension == "goal":
            goal_base = merge_parts([self.day_part(plan, s, now) for s in plan.days],
                                    self.lg_k).visitors
        rows = []
        for value, parts in by_value.items():
            if not _passes(query, dimension, value):
                continue
            part = merge_parts(parts, self.lg_k)
            if dimension in EVENT_LEVEL or dimension.startswith("prop:"):
                part = Part(visitors=part.visitors, pageviews=part.pageviews,
                            events=part.events)
            goals = part if dimension == "goal" else None
            shown = Part(visitors=part.visitors) if dimension == "goal" else part
            rows.append({dimension: value, **metric_values(
                shown, query.metrics, goals, visitors_of_range=goal_base)})
        rows = order_rows(rows, query, dimension)
        self._late_notes(plan, query, now, incomplete, counted=False, split_by=dimension,
                         as_row=True)
        meta = self._meta(plan, query, now, incomplete, late_included=False)
        meta["total_rows"] = len(rows)
        page = rows[query.offset:query.offset + query.limit]
        meta["next_offset"] = (query.offset + query.limit
                               if query.offset + query.limit < len(rows) else None)
        return Report([dimension, *query.metrics], page, meta)

    def _merged_batch(self, plan: _Plan, batch_days: list[DaySource], dimension: str,
                      now: datetime) -> dict[str, Part]:
        """value -> Part over the closed days of the plan; the versions are in the key,
        so a recompute of any of those days makes a new entry."""
        def merge():
            by_value: dict[str, list[Part]] = {}
            for source in batch_days:
                for value, part in self.breakdown_parts(plan, source, dimension, now).items():
                    by_value.setdefault(value, []).append(part)
            return {v: merge_parts(parts, self.lg_k) for v, parts in by_value.items()}
        versions = tuple((s.day, plan.closed[s.day].version) for s in batch_days)
        return self.store.merged((plan.site.site_id, dimension, versions), merge)

    def goals(self, site: Site, query: Query, now: datetime) -> Report:
        """Every goal of the site: conversions, converting visitors, conversion rate."""
        plan = self.plan(site, query, now)
        visitors = merge_parts([self.day_part(plan, s, now) for s in plan.days],
                               self.lg_k).visitors
        per_goal: dict[str, list[Part]] = {g: [] for g in site.goals}
        for source in plan.days:
            for goal, part in self.goal_parts(plan, source, now).items():
                per_goal.setdefault(goal, []).append(part)
        rows = []
        for goal, parts in sorted(per_goal.items()):
            merged = merge_parts(parts, self.lg_k)
            rows.append({"goal": goal, "conversions": merged.events,
                         "converting_visitors": merged.visitors,
                         "conversion_rate": _ratio(merged.visitors, visitors, 4)})
        incomplete: list = []
        self._late_notes(plan, query, now, incomplete, counted=False, split_by="goal",
                         as_row=True)
        meta = self._meta(plan, query, now, incomplete, late_included=False)
        meta["visitors"] = visitors
        return Report(["goal", *GOAL_METRICS], rows, meta)

    def realtime(self, site: Site, now: datetime, top: int = 10) -> dict:
        """The last 30 minutes up to now, minute by minute, with top pages and sources."""
        zone = ZoneInfo(site.timezone)
        end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        start = end - timedelta(minutes=REALTIME_MINUTES)
        rows = self.store.speed_minutes(site.site_id, "totals", start, end)
        by_minute = {_aware(r.minute): r for r in rows}
        minutes = []
        for n in range(REALTIME_MINUTES):
            at = start + timedelta(minutes=n)
            r = by_minute.get(at)
            minutes.append({"minute": at.astimezone(zone).isoformat(timespec="minutes"),
                            "visitors": (r.visitors or 0) if r else 0,
                            "pageviews": (r.pageviews or 0) if r else 0,
                            "events": (r.custom_events or 0) if r else 0})
        visitors = estimate(union_sketch((r.visitors_sketch for r in rows), self.lg_k))

        def top_of(view: str, key_name: str) -> list[dict]:
            parts = self.store.speed(site.site_id, view, start, end, now)
            ranked = sorted(parts.items(), key=lambda kv: (-(kv[1].visitors or 0),
                                                           -kv[1].pageviews, kv[0]))
            return [{key_name: k, "visitors": p.visitors, "pageviews": p.pageviews}
                    for k, p in ranked[:top]]

        return {"site_id": site.site_id, "timezone": site.timezone,
                "from": start.astimezone(zone).isoformat(timespec="minutes"),
                "to": now.astimezone(zone).isoformat(timespec="seconds"),
                "visitors": visitors, "pageviews": sum(m["pageviews"] for m in minutes),
                "events": sum(m["events"] for m in minutes), "minutes": minutes,
                "pages": top_of("pages", "page"), "sources": top_of("sources", "source")}

    # -- helpers -------------------------------------------------------------------------
    def _day_parts(self, plan: _Plan, query: Query, now: datetime) -> dict[date, Part]:
        if not query.filters:
            return {s.day: self.day_part(plan, s, now) for s in plan.days}
        return {s.day: self._filtered_day(plan, s, query, now) or EMPTY for s in plan.days}

    def _goal_days(self, plan, query, now) -> dict[date, dict[str, Part]] | None:
        if not set(query.metrics) & set(GOAL_METRICS):
            return None
        if query.filters:
            raise NeedsJob("goal metrics with filters need the raw events: submit it as an "
                           "ad-hoc job (POST /api/v1/jobs)")
        return {s.day: self.goal_parts(plan, s, now) for s in plan.days}

    def _goals_total(self, plan, query, now) -> Part | None:
        goal_days = self._goal_days(plan, query, now)
        if goal_days is None:
            return None
        return merge_goals(list(goal_days.values()), self.lg_k)

    def _hourly_rows(self, plan: _Plan, query: Query, now: datetime) -> list[dict]:
        zone = ZoneInfo(plan.site.timezone)
        if (plan.last - plan.first).days + 1 > MAX_HOURLY_DAYS:
            raise QueryError(f"interval: hour covers {MAX_HOURLY_DAYS} days at most; use day, "
                             "week or month")
        if set(query.metrics) & set(GOAL_METRICS):
            raise QueryError("metrics: goal metrics are reported per day, week or month")
        rows = []
        for source in plan.days:
            if source.layer == BATCH:
                row = plan.closed[source.day]
                hours = {_aware(h.hour_start): batch_hour_part(h) for h in
                         self.store.batch_hours(plan.site.site_id, source.day, row.version)}
            else:
                hours = None
            starts = local_hours(source.utc_start, source.utc_end, plan.site.timezone)
            for n, at in enumerate(starts):
                if hours is not None:
                    part = hours.get(at, BATCH_EMPTY)
                elif self._expired(source, now):
                    part = EMPTY
                else:
                    end = starts[n + 1] if n + 1 < len(starts) else source.utc_end
                    on_time = self.store.speed(plan.site.site_id, "totals", at, end,
                                               now).get("", EMPTY)
                    late = self.late_events(plan, now).part(at, end)
                    part = merge_parts([on_time, late], self.lg_k)
                rows.append({"period": at.astimezone(zone).isoformat(timespec="minutes"),
                             **metric_values(part, query.metrics)})
        return rows


def merge_goals(days: list[dict[str, Part]], lg_k: int) -> Part:
    """All goals of the days as one piece: conversions add up, converting visitors are the
    union of every goal's."""
    return merge_parts([p for goals in days for p in goals.values()], lg_k)


def batch_hour_part(row) -> Part:
    return Part(visitors=row.visitors or 0, sketch=row.visitors_sketch,
                pageviews=row.pageviews or 0, events=row.custom_events or 0,
                sessions=row.sessions or 0, engaged_sessions=row.engaged_sessions or 0,
                bounces=row.bounces or 0, duration_s=row.total_duration_s or 0.0,
                session_pageviews=row.session_pageviews or 0)


def order_rows(rows: list[dict], query: Query, dimension: str) -> list[dict]:
    """By ``order_by`` (default: the first metric, descending), then by value; nulls last."""
    order = list(query.order_by) or [(query.metrics[0], True)]
    rows = sorted(rows, key=lambda r: str(r[dimension]))
    for name, desc in reversed(order):
        present = [r for r in rows if r.get(name) is not None]
        absent = [r for r in rows if r.get(name) is None]
        rows = sorted(present, key=lambda r, n=name: r[n], reverse=desc) + absent
    return rows


def _filter_dimension(query: Query) -> str | None:
    dimensions = {f.dimension for f in query.filters}
    if len(dimensions) > 1:
        raise NeedsJob(f"filters on several dimensions ({', '.join(sorted(dimensions))}) "
                       "need the raw events: submit it as an ad-hoc job (POST /api/v1/jobs)")
    return dimensions.pop() if dimensions else None


def _passes(query: Query, dimension: str, value: str) -> bool:
    return all(f.matches(value) for f in query.filters if f.dimension == dimension)


def _bucket(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _iso(days: Iterable[date]) -> list[str]:
    return [d.isoformat() for d in days]
