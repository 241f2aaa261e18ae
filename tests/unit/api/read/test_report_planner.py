"""The report planner's decisions for hand-made cases, at a fixed now.

Now = 2026-12-03 12:00Z: 12:00 on the 3rd in UTC, 17:45 in Kathmandu (+05:45), whose
local days start at 18:15Z the day before. Which days are closed is given; nothing is
read: the planner names the layer and the views of every day and what no view answers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from api.read.layers import BATCH, SPEED, DaySource
from api.read.query import QueryError, parse_query, resolve_days
from api.read.reports.planner import (
    BATCH_BREAKDOWNS,
    BATCH_DAYS,
    BATCH_GOALS,
    BATCH_HOURLY,
    EVENTS,
    LATE,
    PAGES,
    SOURCES,
    TOTALS,
    DayPlan,
    NeedsJob,
    PlanInputs,
    plan_report,
    refusal,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
NOV30, DEC1, DEC2, DEC3 = (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2),
                           date(2026, 12, 3))
KATHMANDU = "Asia/Kathmandu"
SESSIONS_WHY = ("sessions are made by the batch layer, which has not closed these days "
                "yet; the values cover the other days only")


def utc(day: int, hh: int = 0, mm: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=UTC)


def plan(kind: str, *, closed=(), timezone: str = "UTC", ttl_days: int = 8, **query):
    document = {"site_id": "s.example", "date_range": "custom", **query}
    if "start" in document:
        document["start"], document["end"] = (str(document["start"]), str(document["end"]))
    parsed = parse_query(document)
    first, last = resolve_days(parsed, timezone, NOW)
    return plan_report(PlanInputs(kind=kind, query=parsed, timezone=timezone, first=first,
                                  last=last, closed=frozenset(closed), now=NOW,
                                  realtime_ttl=timedelta(days=ttl_days)))


def batch_day(source: DaySource, rows=None) -> DayPlan:
    return DayPlan(source, expired=False, totals=(BATCH_DAYS,), hours=(BATCH_HOURLY,),
                   goals=(BATCH_GOALS,), rows=rows, missing=())


def speed_day(source: DaySource, rows=None, missing=()) -> DayPlan:
    return DayPlan(source, expired=False, totals=(TOTALS, LATE), hours=(TOTALS, LATE),
                   goals=(EVENTS, PAGES), rows=rows, missing=missing)


def test_a_closed_day_comes_whole_from_the_batch_views():
    found = plan("aggregate", closed={DEC1}, start=DEC1, end=DEC1,
                 metrics=["visitors", "sessions", "conversions"])
    assert found.days == (batch_day(DaySource(DEC1, BATCH, utc(1), utc(2))),)
    assert (found.split_by, found.goals, found.late_included) == (None, True, True)
    assert (found.incomplete, found.expired, found.expired_note()) == ((), (), None)


def test_today_comes_from_the_speed_layers_minutes_up_to_now():
    found = plan("aggregate", date_range="today", metrics=["pageviews"])
    assert found.days == (speed_day(DaySource(DEC3, SPEED, utc(3), NOW)),)
    assert found.live_days == list(found.days)
    assert found.incomplete == ()


def test_a_range_crossing_the_seam_splits_whole_local_days_between_the_layers():
    found = plan("timeseries", closed={NOV30, DEC1}, timezone=KATHMANDU,
                 start=NOV30, end=date(2026, 12, 4), metrics=["visitors", "bounce_rate"])
    assert found.days == (
        batch_day(DaySource(NOV30, BATCH, utc(29, 18, 15, month=11), utc(30, 18, 15, 11))),
        batch_day(DaySource(DEC1, BATCH, utc(30, 18, 15, month=11), utc(1, 18, 15))),
        speed_day(DaySource(DEC2, SPEED, utc(1, 18, 15), utc(2, 18, 15)),
                  missing=("bounce_rate",)),
        speed_day(DaySource(DEC3, SPEED, utc(2, 18, 15), NOW), missing=("bounce_rate",)),
    )  # 12-04 has not begun in Kathmandu: not planned
    assert [d.day for d in found.batch_days] == [NOV30, DEC1]
    assert [d.day for d in found.speed_days] == [DEC2, DEC3]
    assert found.incomplete == ({"metrics": ["bounce_rate"],
                                 "days": ["2026-12-02", "2026-12-03"],
                                 "reason": SESSIONS_WHY},)


def test_a_day_not_closed_before_a_closed_one_is_still_the_speed_layers():
    found = plan("aggregate", closed={DEC2}, start=DEC1, end=DEC2, metrics=["visitors"])
    assert [(d.day, d.layer) for d in found.days] == [(DEC1, SPEED), (DEC2, BATCH)]


def test_a_provisional_days_late_events_are_in_its_totals_and_hours_not_in_its_rows():
    totals = plan("aggregate", date_range="today", metrics=["visitors", "conversions"])
    assert (totals.days[0].totals, totals.days[0].hours) == ((TOTALS, LATE), (TOTALS, LATE))
    assert (totals.late_included, totals.late_left_out) == (True, None)

    filtered = plan("aggregate", date_range="today", metrics=["pageviews", "events"],
                    filters=[{"dimension": "page", "op": "is", "value": "/"}])
    assert (filtered.split_by, filtered.days[0].rows) == ("page", (PAGES,))
    assert (filtered.late_included, filtered.late_left_out) == (
        False, {"metrics": ["pageviews", "events"]})

    events = plan("breakdown", date_range="today", dimensions=["event"],
                  metrics=["events"])
    assert (events.split_by, events.days[0].rows) == ("event", (EVENTS,))
    assert (events.late_included, events.late_left_out) == (False, {"dimension": "event"})

    goals = plan("goals", date_range="today", metrics=["sessions"])
    assert (goals.split_by, goals.goals, goals.days[0].rows) == ("goal", True,
                                                                  (EVENTS, PAGES))
    assert (goals.late_included, goals.late_left_out) == (False, {"dimension": "goal"})
    assert goals.days[0].missing == () and goals.incomplete == ()


def test_a_dimension_only_the_batch_layer_has_leaves_the_provisional_days_rows_out():
    found = plan("breakdown", closed={DEC1}, start=DEC1, end=DEC2, dimensions=["country"],
                 metrics=["visitors", "sessions"])
    assert found.days == (
        batch_day(DaySource(DEC1, BATCH, utc(1), utc(2)), rows=(BATCH_BREAKDOWNS,)),
        speed_day(DaySource(DEC2, SPEED, utc(2), utc(3)), rows=None,
                  missing=("sessions", "country")),
    )
    assert found.incomplete == ({"dimension": "country", "days": ["2026-12-02"], "reason": (
        "this breakdown comes from the batch layer, which has not closed these days yet; "
        "their rows are not included")},)  # not the sessions note: the rows are missing
    assert (found.late_included, found.late_left_out) == (False, None)

    filtered = plan("aggregate", start=DEC2, end=DEC2, metrics=["visitors"],
                    filters=[{"dimension": "country", "op": "is", "value": "NP"}])
    assert filtered.days[0].rows is None and filtered.days[0].missing == ("country",)
    assert filtered.incomplete[0]["dimension"] == "country"
    assert (filtered.late_included, filtered.late_left_out) == (False, None)


def test_source_on_provisional_days_is_counted_per_pageview_and_says_so():
    found = plan("breakdown", closed={DEC1}, start=DEC1, end=DEC2, dimensions=["source"],
                 metrics=["visitors"])
    assert [d.rows for d in found.days] == [(BATCH_BREAKDOWNS,), (SOURCES,)]
    assert found.incomplete == ({"dimension": "source", "days": ["2026-12-02"], "reason": (
        "until the batch layer closes these days, source is counted per pageview (its own "
        "referrer or utm_source), not per session")},)


def test_goal_rows_come_from_the_goal_views_of_each_layer():
    found = plan("breakdown", closed={DEC1}, start=DEC1, end=DEC2, dimensions=["goal"],
                 metrics=["conversions"])
    assert [d.rows for d in found.days] == [(BATCH_GOALS,), (EVENTS, PAGES)]
    assert (found.goals, found.incomplete) == (False, ())


def test_provisional_days_whose_minute_views_expired_have_nothing_to_read():
    # kept 8 days: views of minutes before 11-25 12:00Z are gone; 11-25 ends after that
    found = plan("breakdown", start=date(2026, 11, 24), end=date(2026, 11, 25), ttl_days=8,
                 dimensions=["page"], metrics=["visitors"])
    assert [d.expired for d in found.days] == [True, False]
    assert found.days[0] == DayPlan(found.days[0].source, expired=True, totals=(), hours=(),
                                    goals=(), rows=(), missing=())
    assert found.live_days == [found.days[1]]
    assert found.expired == (date(2026, 11, 24),)
    assert found.expired_note() == {"days": ["2026-11-24"], "reason": (
        "the batch layer has not closed these days and the speed layer's views of them have "
        "expired: run the nightly DAG for them (a backfill)")}
    batch_only = plan("breakdown", start=date(2026, 11, 24), end=date(2026, 11, 24),
                      dimensions=["country"], metrics=["visitors"])
    assert batch_only.days[0].rows is None  # no such rows in that layer, expired or not


PAGE_IS_ROOT = {"dimension": "page", "op": "is", "value": "/"}
COUNTRY_IS_NP = {"dimension": "country", "op": "is", "value": "NP"}


@pytest.mark.parametrize(("kind", "query", "error", "reason"), [
    ("aggregate", {"filters": [PAGE_IS_ROOT, COUNTRY_IS_NP]}, NeedsJob,
     "filters on several dimensions (country, page) need the raw events: submit it as an "
     "ad-hoc job (POST /api/v1/jobs)"),
    ("aggregate", {"metrics": ["conversions"], "filters": [PAGE_IS_ROOT]}, NeedsJob,
     "goal metrics with filters need the raw events: submit it as an ad-hoc job "
     "(POST /api/v1/jobs)"),
    ("timeseries", {"interval": "hour", "filters": [PAGE_IS_ROOT]}, NeedsJob,
     "filters on an hourly series need the raw events: submit it as an ad-hoc job "
     "(POST /api/v1/jobs), or use interval day"),
    ("timeseries", {"interval": "hour", "start": "2026-08-01"}, QueryError,
     "interval: hour covers 93 days at most; use day, week or month"),
    ("timeseries", {"interval": "hour", "metrics": ["conversion_rate"]}, QueryError,
     "metrics: goal metrics are reported per day, week or month"),
    ("timeseries", {"metrics": ["conversions"], "filters": [PAGE_IS_ROOT]}, NeedsJob,
     "goal metrics with filters need the raw events: submit it as an ad-hoc job "
     "(POST /api/v1/jobs)"),
    ("breakdown", {}, QueryError, "dimensions: a breakdown needs one dimension"),
    ("breakdown", {"dimensions": ["page"], "filters": [COUNTRY_IS_NP]}, NeedsJob,
     "filters on country with a breakdown by page need the raw events: submit it as an "
     "ad-hoc job (POST /api/v1/jobs)"),
])
def test_what_no_view_answers_is_refused_before_anything_is_read(kind, query, error, reason):
    document = {"site_id": "s.example", "date_range": "custom", "start": "2026-12-01",
                "end": "2026-12-03", **query}
    parsed = parse_query(document)
    first, last = parsed.start, parsed.end
    found = refusal(kind, parsed, first, last)
    assert type(found) is error and str(found) == reason
    with pytest.raises(error) as raised:
        plan_report(PlanInputs(kind=kind, query=parsed, timezone="UTC", first=first,
                               last=last, closed=frozenset(), now=NOW,
                               realtime_ttl=timedelta(days=8)))
    assert str(raised.value) == reason


@pytest.mark.parametrize(("kind", "query"), [
    ("breakdown", {"dimensions": ["page"],
                   "filters": [PAGE_IS_ROOT, {**PAGE_IS_ROOT, "op": "is_not"}]}),
    ("goals", {"filters": [PAGE_IS_ROOT, COUNTRY_IS_NP], "interval": "hour"}),
    ("timeseries", {"interval": "hour", "start": "2026-09-02", "metrics": ["sessions"]}),
])
def test_what_the_views_answer_is_not_refused(kind, query):
    parsed = parse_query({"site_id": "s.example", "date_range": "custom",
                          "start": "2026-12-01", "end": "2026-12-03", **query})
    assert refusal(kind, parsed, parsed.start, parsed.end) is None
