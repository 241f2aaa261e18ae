"""Reading one report's days from the views its plan names (no Falcon in here):
:func:`open_report` resolves the range, refuses what no view answers before reading
anything (:mod:`api.read.reports.planner`), reads the closed days and plans; a
:class:`DayReader` then reads each day's pieces, the provisional days' late events (once
per report) and writes ``meta``."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from analytics.sites import Site
from api.read.late import LateEvents, LateTally, arrival_window, late_notes, meta_of, tally
from api.read.layers import local_hours
from api.read.query import Query, resolve_days
from api.read.reports.planner import (
    BATCH_BREAKDOWNS,
    BATCH_DAYS,
    BATCH_GOALS,
    BATCH_HOURLY,
    EVENTS,
    GOAL_METRICS,
    PAGES,
    TOTALS,
    DayPlan,
    PlanInputs,
    ReportPlan,
    iso_days,
    plan_report,
    refusal,
)
from api.read.reports.values import aware, batch_hour_part, passes
from api.read.sketches import BATCH_EMPTY, EMPTY, Part, merge_parts

if TYPE_CHECKING:
    from api.read.reports import Reports


def open_report(reports: Reports, kind: str, site: Site, query: Query,
                now: datetime) -> DayReader:
    """The reader of one report, planned (raises the plan's refusal, if any, before any
    read)."""
    first, last = resolve_days(query, site.timezone, now)
    error = refusal(kind, query, first, last)
    if error is not None:
        raise error
    closed = reports.store.closed_days(site.site_id, first, last)
    plan = plan_report(PlanInputs(kind=kind, query=query, timezone=site.timezone,
                                  first=first, last=last, closed=closed, now=now,
                                  realtime_ttl=reports.realtime_ttl))
    return DayReader(reports, site, query, now=now, plan=plan, closed=closed)


class DayReader:
    """The pieces of one report's days, read as its plan says (``closed``: the batch
    layer's rows of the closed days, :meth:`api.read.store.ViewStore.closed_days`)."""

    def __init__(self, reports: Reports, site: Site, query: Query, *, now: datetime,
                 plan: ReportPlan, closed: dict):
        self.store = reports.store
        self.lg_k = reports.lg_k
        self.site = site
        self.query = query
        self.now = now
        self.plan = plan
        self.closed = closed
        self._late: LateEvents | None = None
        self._late_tally: LateTally | None = None

    # -- late events of the provisional days ---------------------------------------------
    def late_events(self) -> LateEvents:
        """The ``late`` rows of the plan's provisional days (read once per report)."""
        if self._late is None:
            window = arrival_window((d.source.utc_start for d in self.plan.live_days),
                                    self.now)
            rows = ([] if window is None
                    else self.store.late(self.site.site_id, *window, self.now))
            self._late = LateEvents(rows, self.lg_k)
        return self._late

    def late_tally(self) -> LateTally:
        if self._late_tally is None:
            late = self.late_events()
            self._late_tally = tally(late, ((d.day, d.source.utc_start, d.source.utc_end)
                                            for d in self.plan.live_days))
        return self._late_tally

    def add_late_notes(self, incomplete: list) -> None:
        """What of this report leaves the provisional days' late events out: with totals
        that include them, visitors and goals; otherwise what the plan says."""
        plan = self.plan
        found = self.late_tally()
        if plan.late_included:
            notes = late_notes(found, self.query.metrics, goal_metrics=GOAL_METRICS)
        elif plan.late_left_out is not None:
            notes = late_notes(found, self.query.metrics, excluded=plan.late_left_out,
                               split_by=plan.split_by)
        else:
            notes = []  # a batch-only dimension: the plan says the days are left out
        incomplete.extend(notes)

    # -- pieces of a day -----------------------------------------------------------------
    def totals(self, day: DayPlan) -> Part:
        """A day's totals: a closed day's batch row; a provisional day's on-time minutes
        plus the late events that belong to it."""
        if day.totals == (BATCH_DAYS,):
            return self.closed[day.day].part
        if not day.totals:
            return EMPTY
        return self._speed_totals(day.source.utc_start, day.source.utc_end)

    def _speed_totals(self, start: datetime, end: datetime) -> Part:
        on_time = self.store.speed(self.site.site_id, TOTALS, start, end,
                                   self.now).get("", EMPTY)
        late = self.late_events().part(start, end)
        return merge_parts([on_time, late], self.lg_k)

    def goals(self, day: DayPlan) -> dict[str, Part]:
        """goal -> Part(events=conversions, visitors/sketch=converting visitors)."""
        site = self.site
        if day.goals == (BATCH_GOALS,):
            row = self.closed[day.day]
            return {g.goal: Part(visitors=g.converting_visitors or 0,
                                 sketch=g.converting_sketch,
                                 events=g.conversions or 0)
                    for g in self.store.batch_goals(site.site_id, day.day, row.version)}
        if not day.goals:
            return {}
        start, end = day.source.utc_start, day.source.utc_end
        events = self.store.speed(site.site_id, EVENTS, start, end, self.now)
        pages = self.store.speed(site.site_id, PAGES, start, end, self.now)
        found = {}
        for goal in sorted(site.goals):
            hits = [Part(visitors=p.visitors, sketch=p.sketch, events=p.events)
                    for p in [events.get(goal)] if p]
            hits += [Part(visitors=p.visitors, sketch=p.sketch, events=p.pageviews)
                     for p in [pages.get(goal)] if p]
            found[goal] = merge_parts(hits, self.lg_k)
        return found

    def rows(self, day: DayPlan) -> dict[str, Part] | None:
        """value -> Part of the day's rows of the plan's ``split_by`` dimension; None when
        the day's layer has no such rows."""
        views, dimension = day.rows, self.plan.split_by
        if views is None:
            return None
        if dimension == "goal":
            return self.goals(day)
        if views == (BATCH_BREAKDOWNS,):
            row = self.closed[day.day]
            return self.store.batch_breakdown(self.site.site_id, day.day, row.version,
                                              dimension)
        if not views:
            return {}
        (view,) = views
        return self.store.speed(self.site.site_id, view, day.source.utc_start,
                                day.source.utc_end, self.now)

    def filtered(self, day: DayPlan) -> Part | None:
        """The day's rows that pass the query's filters, as one piece."""
        parts = self.rows(day)
        if parts is None:
            return None
        dimension = self.plan.split_by
        return merge_parts([p for v, p in parts.items() if passes(self.query, dimension, v)],
                           self.lg_k)

    def day_parts(self) -> dict[date, Part]:
        """Every day's totals, or with filters the part of it that passes them."""
        if not self.query.filters:
            return {d.day: self.totals(d) for d in self.plan.days}
        return {d.day: self.filtered(d) or EMPTY for d in self.plan.days}

    def goal_days(self) -> dict[date, dict[str, Part]] | None:
        """Every day's goals, when the plan reads them."""
        if not self.plan.goals:
            return None
        return {d.day: self.goals(d) for d in self.plan.days}

    def hours(self, day: DayPlan) -> list[tuple[datetime, Part]]:
        """The day's local hours (their UTC starts) with their pieces."""
        source = day.source
        hours = None
        if day.hours == (BATCH_HOURLY,):
            row = self.closed[day.day]
            hours = {aware(h.hour_start): batch_hour_part(h) for h in
                     self.store.batch_hours(self.site.site_id, day.day, row.version)}
        starts = local_hours(source.utc_start, source.utc_end, self.site.timezone)
        found = []
        for n, at in enumerate(starts):
            if hours is not None:
                part = hours.get(at, BATCH_EMPTY)
            elif not day.hours:
                part = EMPTY
            else:
                end = starts[n + 1] if n + 1 < len(starts) else source.utc_end
                part = self._speed_totals(at, end)
            found.append((at, part))
        return found

    def merged_batch_rows(self) -> dict[str, Part]:
        """value -> Part of ``split_by`` over the closed days of the plan; the versions are
        in the key, so a recompute of any of those days makes a new entry."""
        batch_days = self.plan.batch_days

        def merge():
            by_value: dict[str, list[Part]] = {}
            for day in batch_days:
                for value, part in self.rows(day).items():
                    by_value.setdefault(value, []).append(part)
            return {v: merge_parts(parts, self.lg_k) for v, parts in by_value.items()}
        versions = tuple((d.day, self.closed[d.day].version) for d in batch_days)
        return self.store.merged((self.site.site_id, self.plan.split_by, versions), merge)

    # -- meta ----------------------------------------------------------------------------
    def meta(self, incomplete: list) -> dict:
        """``meta`` of the report; ``incomplete`` gets the expired days' entry last."""
        plan = self.plan
        expired = plan.expired_note()
        if expired is not None:
            incomplete.append(expired)
        return {
            "site_id": self.site.site_id, "timezone": self.site.timezone,
            "start": plan.first.isoformat(), "end": plan.last.isoformat(),
            "interval": self.query.interval, "generated_at": self.now.isoformat(),
            "layers": {"batch": iso_days(d.day for d in plan.batch_days),
                       "speed": iso_days(d.day for d in plan.speed_days)},
            "incomplete": incomplete,
            "late_events": meta_of(self.late_tally(), plan.late_included),
        }
