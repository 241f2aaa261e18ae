"""Late events in the provisional days of every report, on a fake store and a fixed now.

Site K (Asia/Kathmandu, +05:45; goal ``signup``), now = 2026-12-03 12:00Z (17:45 local).
Local days: 12-01 = [11-30 18:15Z, 12-01 18:15Z) closed by the batch layer (10 pageviews,
1 custom event, visitors {x}); 12-02 = [12-01 18:15Z, 12-02 18:15Z) and 12-03 =
[12-02 18:15Z, 12-03 18:15Z) provisional (speed layer).

On-time minute rows (view ``totals`` and ``pages``):
  12-02 09:00Z (14:45 local 12-02): 5 pageviews, 1 custom event (signup), visitors {a, b}
  12-03 06:00Z (11:45 local 12-03): 3 pageviews, visitors {a, c}: / 2 {a, c}, /pricing 1 {a}
Late rows (view ``late``; arrived minute -> event minute):
  L1 12-03 09:30Z -> 12-02 18:10Z (23:55 local 12-02): 4 pageviews, 1 bot event
  L2 12-03 09:30Z -> 12-02 18:20Z (00:05 local 12-03): 2 pageviews, 1 custom event
  L3 12-03 11:00Z -> 12-03 07:00Z (12:45 local 12-03): 1 pageview
  L4 12-02 10:00Z -> 12-01 10:00Z (15:45 local 12-01, a closed day): 7 pageviews —
     already in the batch layer's day, never added
No late row has visitors (the speed layer's late sketch is empty).

Worked out:
  12-02: pageviews 5 + 4 = 9, events 1, bot events 1, visitors 2 ({a, b}); late 4 + 0.
  12-03: pageviews 3 + 2 + 1 = 6, events 1, visitors 2 ({a, c}); late 3 + 1.
  12-02..12-03: pageviews 15, events 2, bot events 1, visitors 3; late 7 pageviews,
  1 event, 1 bot event; 8 counted late events without visitors.
  12-01..12-03: pageviews 10 + 15 = 25 (L4 not again), events 3, visitors 4.
  12-03 by local hour: 00:00 -> 2 pageviews 1 event (L2), 11:00 -> 3 (on time),
  12:00 -> 1 (L3); 18 hours up to now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import datasketches
import pytest

from analytics.periods import utc_hours
from analytics.sites import Site
from api.read.late import LateEvents, late_row
from api.read.query import parse_query
from api.read.reports import Reports
from api.read.sketches import Part
from api.read.store import ClosedDay, ViewStore, minute_parts

LG_K = 14
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
K = Site(site_id="k.example", domain="k.example", timezone="Asia/Kathmandu",
         goals=frozenset({"signup"}))
D1, D2, D3 = date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=UTC)


def sketch(*visitors: str) -> bytes:
    s = datasketches.hll_sketch(LG_K)
    for v in visitors:
        s.update(v)
    return s.serialize_compact()


EMPTY_SKETCH = sketch()


def row(view, minute, key="", *, event_minute=None, pageviews=0, custom_events=0,
        bot_events=0, visitors=()):
    return SimpleNamespace(view=view, minute=minute, key=key,
                           event_minute=event_minute or minute, pageviews=pageviews,
                           custom_events=custom_events, bot_events=bot_events,
                           visitors=len(visitors), visitors_sketch=sketch(*visitors))


ROWS = [
    row("totals", at(2, 9), pageviews=5, custom_events=1, visitors=("a", "b")),
    row("events", at(2, 9), "signup", custom_events=1, visitors=("a",)),
    row("totals", at(3, 6), pageviews=3, visitors=("a", "c")),
    row("pages", at(3, 6), "/", pageviews=2, visitors=("a", "c")),
    row("pages", at(3, 6), "/pricing", pageviews=1, visitors=("a",)),
    row("late", at(3, 9, 30), event_minute=at(2, 18, 10), pageviews=4, bot_events=1),
    row("late", at(3, 9, 30), event_minute=at(2, 18, 20), pageviews=2, custom_events=1),
    row("late", at(3, 11), event_minute=at(3, 7), pageviews=1),
    row("late", at(2, 10), event_minute=at(1, 10), pageviews=7),
]


class FakeStore:
    """The ViewStore methods the reports call, over ``ROWS``; records the late hours read."""

    def __init__(self, rows, closed):
        self.rows = rows
        self.closed = closed
        self.late_hours: list[datetime] = []

    def closed_days(self, site_id, first, last):
        return {d: c for d, c in self.closed.items() if first <= d <= last}

    def speed(self, site_id, view, start, end, now):
        return minute_parts([r for r in self.rows
                             if r.view == view and start <= r.minute < end], LG_K)

    def late(self, site_id, start, end, now):
        hours = list(utc_hours(start, end))
        self.late_hours.extend(hours)
        return [late_row(r.minute, r.event_minute, pageviews=r.pageviews,
                         custom_events=r.custom_events, bot_events=r.bot_events,
                         visitors=r.visitors, visitors_sketch=r.visitors_sketch)
                for r in self.rows
                if r.view == "late" and hours[0] <= r.minute < hours[-1] + timedelta(hours=1)]

    def batch_breakdown(self, site_id, day, version, dimension):
        return {"/": Part(visitors=1, sketch=sketch("x"), pageviews=10)} \
            if dimension == "page" else {}

    def batch_goals(self, site_id, day, version):
        return [SimpleNamespace(goal="signup", converting_visitors=1,
                                converting_sketch=sketch("x"), conversions=1)]

    def merged(self, key, make):
        return make()


@pytest.fixture
def store():
    closed = {D1: ClosedDay(D1, SimpleNamespace(version="v1"), Part(
        visitors=1, sketch=sketch("x"), pageviews=10, events=1, sessions=1,
        engaged_sessions=1, bounces=0, duration_s=30.0, session_pageviews=10))}
    return FakeStore(ROWS, closed)


def run(store, kind, **query):
    reports = Reports(store, lg_k=LG_K, realtime_ttl_days=8)
    document = {"site_id": K.site_id, "date_range": "custom", **query}
    return getattr(reports, kind)(K, parse_query(document), NOW)


def days(first: date, last: date) -> dict:
    return {"start": first.isoformat(), "end": last.isoformat()}


def test_provisional_days_count_their_late_events_once(store):
    found = run(store, "aggregate", **days(D2, D3),
                metrics=["visitors", "pageviews", "events", "bot_events"])
    assert found.rows == [{"visitors": 3, "pageviews": 15, "events": 2, "bot_events": 1}]
    late = found.meta["late_events"]
    assert {k: late[k] for k in ("included", "pageviews", "events", "bot_events")} == {
        "included": True, "pageviews": 7, "events": 1, "bot_events": 1}
    assert late["days"] == {
        "2026-12-02": {"pageviews": 4, "events": 0, "bot_events": 1},
        "2026-12-03": {"pageviews": 3, "events": 1, "bot_events": 0}}
    assert found.meta["incomplete"] == [{
        "metrics": ["visitors"], "days": ["2026-12-02", "2026-12-03"], "late_events": 8,
        "reason": "visitors leave out whoever sent the 8 late events of these days (they "
                  "are in pageviews and events): the speed layer keeps no visitor sketch "
                  "for late events; the batch run counts them"}]
    # the arrival hours read: from the first provisional day's first hour up to now
    assert store.late_hours == list(utc_hours(at(1, 18), NOW))


def test_a_closed_day_keeps_its_batch_numbers_and_its_late_rows_are_not_added(store):
    found = run(store, "aggregate", **days(D1, D3), metrics=["visitors", "pageviews", "events"])
    assert found.rows == [{"visitors": 4, "pageviews": 25, "events": 3}]
    assert found.meta["late_events"]["days"].keys() == {"2026-12-02", "2026-12-03"}
    closed_only = run(store, "aggregate", **days(D1, D1), metrics=["pageviews"])
    assert closed_only.rows == [{"pageviews": 10}]
    assert closed_only.meta["incomplete"] == []
    assert closed_only.meta["late_events"] == {
        "included": True, "pageviews": 0, "events": 0, "bot_events": 0, "days": {},
        "description": closed_only.meta["late_events"]["description"]}
    assert store.late_hours == list(utc_hours(at(1, 18), NOW))  # only the first report read


def test_daily_series_and_hours_place_late_events_where_they_belong(store):
    daily = run(store, "timeseries", **days(D1, D3), metrics=["pageviews", "events"])
    assert daily.rows == [{"period": "2026-12-01", "pageviews": 10, "events": 1},
                          {"period": "2026-12-02", "pageviews": 9, "events": 1},
                          {"period": "2026-12-03", "pageviews": 6, "events": 1}]
    hours = run(store, "timeseries", **days(D3, D3), interval="hour",
                metrics=["pageviews", "events"]).rows
    assert len(hours) == 18 and hours[0]["period"] == "2026-12-03T00:00+05:45"
    assert {h["period"][11:16]: (h["pageviews"], h["events"]) for h in hours
            if h["pageviews"] or h["events"]} == {"00:00": (2, 1), "11:00": (3, 0),
                                                  "12:00": (1, 0)}


def test_breakdowns_filters_and_goals_leave_late_events_out_and_say_how_many(store):
    pages = run(store, "breakdown", **days(D3, D3), dimensions=["page"],
                metrics=["pageviews"])
    assert pages.rows == [{"page": "/", "pageviews": 2}, {"page": "/pricing", "pageviews": 1}]
    assert pages.meta["late_events"]["included"] is False
    assert pages.meta["incomplete"] == [{
        "dimension": "page", "days": ["2026-12-03"], "late_events": 4,
        "reason": "these numbers exclude 4 late events of these days (3 pageviews, 1 custom "
                  "event) pending the batch run: the speed layer counts late events per "
                  "minute only, not by page"}]
    filtered = run(store, "aggregate", **days(D3, D3), metrics=["pageviews"],
                   filters=[{"dimension": "page", "op": "is", "value": "/"}])
    assert filtered.rows == [{"pageviews": 2}]
    assert filtered.meta["incomplete"][0]["metrics"] == ["pageviews"]
    assert filtered.meta["incomplete"][0]["late_events"] == 4
    goals = run(store, "goals", **days(D2, D3))
    assert [(r["goal"], r["conversions"]) for r in goals.rows] == [("signup", 1)]
    assert goals.meta["incomplete"][0]["dimension"] == "goal"
    assert goals.meta["incomplete"][0]["late_events"] == 8
    with_goals = run(store, "aggregate", **days(D2, D3), metrics=["pageviews", "conversions"])
    assert with_goals.rows == [{"pageviews": 15, "conversions": 1}]
    assert [n["metrics"] for n in with_goals.meta["incomplete"]] == [["conversions"]]


def test_a_batch_only_breakdown_adds_no_late_note(store):
    countries = run(store, "breakdown", **days(D3, D3), dimensions=["country"],
                    metrics=["visitors"])
    assert [n.get("dimension") for n in countries.meta["incomplete"]] == ["country"]


def test_late_rows_with_visitor_sketches_are_merged_into_visitors():
    rows = [late_row(at(3, 9), at(3, 8), pageviews=2, custom_events=0, bot_events=0,
                     visitors=2, visitors_sketch=sketch("a", "d")),
            late_row(at(3, 9), at(3, 8, 1), pageviews=1, custom_events=0, bot_events=0,
                     visitors=0, visitors_sketch=EMPTY_SKETCH)]
    assert rows[1].part.sketch is None and rows[1].lacks_visitors
    assert not rows[0].lacks_visitors
    late = LateEvents(rows, LG_K)
    part = late.part(at(3, 0), at(3, 9))
    assert (part.visitors, part.pageviews) == (2, 3)
    assert late.part(at(3, 8, 1), at(3, 9)).pageviews == 1
    assert late.part(at(3, 9), at(3, 10)) is not None and late.between(at(3, 9), NOW) == []


class FakeSession:
    def __init__(self, rows):
        self.rows = rows
        self.reads = []

    def prepare(self, text):
        return text

    def execute(self, statement, params):
        if "'late'" not in statement:
            return []
        self.reads.append(params)
        return [r for r in self.rows if r.hour == params[1]]


def test_the_store_reads_late_partitions_by_arrival_hour_and_keeps_final_ones():
    naive = SimpleNamespace(hour=datetime(2026, 12, 3, 9), minute=datetime(2026, 12, 3, 9, 30),
                            event_minute=datetime(2026, 12, 2, 18, 10), pageviews=4,
                            custom_events=0, bot_events=1, visitors=0,
                            visitors_sketch=EMPTY_SKETCH)
    session = FakeSession([naive])
    store = ViewStore(session, lg_k=LG_K, speed_final_after=timedelta(minutes=11))
    found = store.late("k", at(3, 9), at(3, 11), NOW)
    assert [(r.arrived, r.event_minute, r.part.pageviews, r.part.bot_events, r.part.sketch)
            for r in found] == [(at(3, 9, 30), at(2, 18, 10), 4, 1, None)]
    assert [p[1] for p in session.reads] == [datetime(2026, 12, 3, 9),
                                             datetime(2026, 12, 3, 10)]
    store.late("k", at(3, 9), at(3, 12), NOW)
    # 09:00 and 10:00 are final at 12:00 (+11 min), kept; 11:00 is read once
    assert [p[1] for p in session.reads][2:] == [datetime(2026, 12, 3, 11)]
