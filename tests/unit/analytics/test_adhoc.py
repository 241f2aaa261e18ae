"""Ad-hoc breakdowns and funnels (analytics.metrics.adhoc) on hand-made events; every
expected number is worked out by hand below from docs/metrics.md and the module's rules.

Site k.example, Asia/Kathmandu (UTC+05:45), goals "signup" and "/pricing". The range is
the local day D = 2024-05-02, which starts at M = 2024-05-01 18:15 UTC; times are minutes
from M. (The integration test tests/integration/read/test_adhoc_jobs.py posts the same
story through the whole pipeline.)
  S1  v1  a1 pageview /         M-5  (referrer google.com: Organic Search; day D-1)
          a2 custom signup      M+2  plan=pro
          a3 pageview /pricing  M+3  -> starts on D-1; 480 s, 2 pageviews: engaged
  S2  v2  b1 pageview /         M+10 (utm newsletter/email)
          b2 custom signup      M+11 plan=free
          b3 pageview /pricing  M+12
          b4 custom purchase    M+13 plan=free -> 180 s: engaged
  S3  v3  c1 pageview /pricing  M+20
          c2 pageview /         M+21
          c3 custom signup      M+22 plan=pro -> 120 s: engaged
  S4  v4  d1 custom share       M+30 plan=pro -> 0 s, no pageview, not a goal: bounce
  S5a v5  e1 pageview /         M+1  -> alone: bounce
  S5b v5  e2 custom signup      M+40 plan=free (39 min later: a new session)
          e3 pageview /pricing  M+41 -> 60 s: engaged; entry page /pricing
  S6  v6  f1 pageview /         M+1445 (day D+1: outside the range)
Every session's source but S1's is (direct) or newsletter; no event has a campaign.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from pyspark.sql import types as T

from analytics.event_schema import spark_schema
from analytics.metrics.adhoc import BREAKDOWN_METRICS, FUNNEL_COLUMNS, breakdown, funnel
from analytics.metrics.events import dedup, with_event_ts
from analytics.metrics.sessions import sessionize, sessions
from api.read.query import Filter

SITE, ZONE, GOALS = "k.example", "Asia/Kathmandu", ["signup", "/pricing"]
M = datetime.fromisoformat("2024-05-01T18:15:00+00:00")
D = date(2024, 5, 2)


def event(event_id, kind, minute, visitor, **fields) -> dict:
    at = int((M + timedelta(minutes=minute)).timestamp() * 1000)
    return {"schema": "analytics/enriched_event/1-0-0", "event_id": event_id,
            "site_id": SITE, "kind": kind, "url": f"https://{SITE}/", "received_at": at,
            "event_time": at, "visitor_id": visitor, "is_bot": False, "host": SITE,
            "timezone": ZONE, "goals": GOALS, **fields}


def pv(event_id, minute, visitor, path, **fields) -> dict:
    return event(event_id, "pageview", minute, visitor, path=path, **fields)


def custom(event_id, minute, visitor, name, plan=None) -> dict:
    return event(event_id, "custom", minute, visitor, name=name, path="/",
                 props={"plan": plan} if plan else None)


EVENTS = [
    pv("a1", -5, "v1", "/", referrer_host="google.com"), custom("a2", 2, "v1", "signup", "pro"),
    pv("a3", 3, "v1", "/pricing"),
    pv("b1", 10, "v2", "/", utm_source="newsletter", utm_medium="email"),
    custom("b2", 11, "v2", "signup", "free"), pv("b3", 12, "v2", "/pricing"),
    custom("b4", 13, "v2", "purchase", "free"),
    pv("c1", 20, "v3", "/pricing"), pv("c2", 21, "v3", "/"),
    custom("c3", 22, "v3", "signup", "pro"),
    custom("d1", 30, "v4", "share", "pro"),
    pv("e1", 1, "v5", "/"), custom("e2", 40, "v5", "signup", "free"),
    pv("e3", 41, "v5", "/pricing"),
    pv("f1", 1445, "v6", "/"),
]


@pytest.fixture(scope="module")
def frames(spark):
    schema = (spark_schema().add("timezone", T.StringType())
              .add("goals", T.ArrayType(T.StringType())))
    rows = [tuple(e.get(n) for n in schema.fieldNames()) for e in EVENTS]
    events = sessionize(dedup(with_event_ts(spark.createDataFrame(rows, schema)))).cache()
    return events, sessions(events).cache()


def table(df, columns) -> list[tuple]:
    return [tuple(r) for r in df.select(*columns).collect()]


ALL = ("value", *BREAKDOWN_METRICS)


@pytest.mark.parametrize(("dimension", "filters", "expected"), [
    # pro: v1 a2 (S1), v3 c3 (S3), v4 d1 (S4): 1 bounce in 3; (480 + 120 + 0) / 3 s.
    # free: v2 b2, b4 (S2), v5 e2 (S5b): no bounce; (180 + 60) / 2 s.
    ("prop:plan", [], [("pro", 3, 0, 3, 3, 0.3333, 200.0), ("free", 2, 0, 3, 2, 0.0, 120.0)]),
    # S1's source comes from a1 on the day before: its events on D are filtered out; a tie
    # of visitors is ordered by value.
    ("prop:plan", [("source", "is_not", ["google.com"])],
     [("free", 2, 0, 3, 2, 0.0, 120.0), ("pro", 2, 0, 2, 2, 0.5, 60.0)]),
    # Pageviews of D only (a1 is on D-1, f1 on D+1). /pricing: a3, b3, c1, e3 in S1, S2,
    # S3, S5b; /: b1, c2, e1 in S2, S3, S5a (a bounce): (180 + 120 + 0) / 3 s.
    ("page", [], [("/pricing", 4, 4, 0, 4, 0.0, 210.0), ("/", 3, 3, 0, 3, 0.3333, 100.0)]),
    # An event dimension's is_not keeps the events it does not apply to (pageviews).
    ("page", [("event", "is_not", ["signup"])],
     [("/pricing", 4, 4, 0, 4, 0.0, 210.0), ("/", 3, 3, 0, 3, 0.3333, 100.0)]),
    # Session dimension, event filter: the signups a2, b2 (entry /), c3, e2 (entry
    # /pricing: S5b starts with e2, a custom event; e3 is its first pageview).
    ("entry_page", [("goal", "is", ["signup"])],
     [("/", 2, 0, 2, 2, 0.0, 330.0), ("/pricing", 2, 0, 2, 2, 0.0, 90.0)]),
    # Goals: the /pricing pageviews and the signup events (a2, b2, c3, e2 in S1, S2, S3,
    # S5b: (480 + 180 + 120 + 60) / 4 s).
    ("goal", [], [("/pricing", 4, 4, 0, 4, 0.0, 210.0), ("signup", 4, 0, 4, 4, 0.0, 210.0)]),
    # A null session dimension reads (not set): every event of D, all six sessions, two
    # bounces (S4, S5a), (480 + 180 + 120 + 0 + 0 + 60) / 6 s.
    ("campaign", [], [("(not set)", 5, 7, 6, 6, 0.3333, 140.0)]),
    # contains is case-insensitive: the pro events a2, c3 (signup), d1 (share).
    ("event", [("prop:plan", "contains", ["PR"])],
     [("signup", 2, 0, 2, 2, 0.0, 300.0), ("share", 1, 0, 1, 1, 1.0, 0.0)]),
    # Two filters: both must pass.
    ("event", [("prop:plan", "is", ["free", "pro"]), ("channel", "is", ["Direct"])],
     [("signup", 2, 0, 2, 2, 0.0, 90.0), ("share", 1, 0, 1, 1, 1.0, 0.0)]),
])
def test_breakdown(frames, dimension, filters, expected):
    events, sessions_ = frames
    got = breakdown(events, sessions_, dimension, D, D, filters=filters)
    assert table(got, ALL) == expected


def test_breakdown_over_two_days_takes_both(frames):
    # D and D+1: f1 (v6, a lone pageview: bounce) joins /.
    events, sessions_ = frames
    got = breakdown(events, sessions_, "page", D, D + timedelta(days=1))
    assert table(got, ALL) == [("/", 4, 4, 0, 4, 0.5, 75.0),
                               ("/pricing", 4, 4, 0, 4, 0.0, 210.0)]


@pytest.mark.parametrize(("steps", "expected"), [
    # Sessions starting on D: S2 (/, signup, /pricing: all three), S3 (/pricing comes
    # before /, so /, signup: two), S4 (none), S5a (/: one), S5b (no / first: none).
    # S1 started on D-1 and is left out although it has signup and /pricing on D.
    ([("page", "/"), ("event", "signup"), ("page", "/pricing")],
     [(1, "page", "/", 3, 3, 1.0, 1.0), (2, "event", "signup", 2, 2, 0.6667, 0.6667),
      (3, "page", "/pricing", 1, 1, 0.5, 0.3333)]),
    # Only S2 has a purchase, and no / after it.
    ([("event", "purchase"), ("page", "/")],
     [(1, "event", "purchase", 1, 1, 1.0, 1.0), (2, "page", "/", 0, 0, 0.0, 0.0)]),
    # Nobody reaches step 1: no conversion at all.
    ([("event", "nothing"), ("page", "/")],
     [(1, "event", "nothing", 0, 0, None, None), (2, "page", "/", 0, 0, None, None)]),
    # /pricing then /: S2, S3 and S5b have /pricing; only in S3 (c1, c2) a / follows.
    ([("page", "/pricing"), ("page", "/")],
     [(1, "page", "/pricing", 3, 3, 1.0, 1.0), (2, "page", "/", 1, 1, 0.3333, 0.3333)]),
])
def test_funnel(frames, steps, expected):
    events, sessions_ = frames
    assert table(funnel(events, sessions_, steps, D, D), FUNNEL_COLUMNS) == expected


def test_funnel_over_two_days(frames):
    # / then /pricing on D and D+1: step 1 = S2, S3, S5a and S6 (f1 on D+1); /pricing
    # after / only in S2 (S3's /pricing came first).
    events, sessions_ = frames
    got = funnel(events, sessions_, [("page", "/"), ("page", "/pricing")], D,
                 D + timedelta(days=1))
    assert table(got, ("step", "visitors", "sessions")) == [(1, 4, 4), (2, 1, 1)]


@pytest.mark.parametrize("query_filter", [
    Filter("prop:plan", "is", ("pro",)), Filter("prop:plan", "is_not", ("pro",)),
    Filter("prop:plan", "contains", ("RE", "o")), Filter("campaign", "is", ("(not set)",)),
    Filter("page", "is_not", ("/",)), Filter("page", "contains", ("PRIC",)),
])
def test_filters_agree_with_the_query_models_filter(frames, query_filter):
    """Which events pass: the Spark condition and api.read.query.Filter.matches on the
    value the dimension has for the event (None where it does not apply)."""
    from analytics.metrics.adhoc import dimension_value, filter_condition, with_sessions

    events, sessions_ = frames
    dim = query_filter.dimension
    rows = with_sessions(events, sessions_).select(
        "event_ts", dimension_value(dim).alias("v"),
        filter_condition(dim, query_filter.op, query_filter.values).alias("passes")).collect()
    assert [r.passes for r in rows] == [query_filter.matches(r.v) for r in rows]
