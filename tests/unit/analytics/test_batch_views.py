"""The batch views (analytics.metrics.batch_views) on hand-made events of three sites in
three zones; every expected number is worked out by hand from docs/metrics.md in the
comments.

Site k.example, Asia/Kolkata (UTC+05:30), goals "signup" and "/thanks". D1 = 2024-05-01,
D2 = 2024-05-02 (local). Sessions:
  A  v1  e1 pageview /        D1 23:50 (referrer google.com; IN desktop Chrome Windows 1920)
         e2 pageview /pricing D2 00:10 (utm_source twitter: ignored, not the first event)
         e3 custom signup     D2 00:15 (plan=pro)
         -> crosses local midnight, belongs to D1; 25 min = 1500 s; engaged (2 pageviews);
            google.com / organic / Organic Search; entry /, exit /pricing
  B  v2  e4 pageview /blog D1 10:00 (utm newsletter/email/may; IN mobile Safari iOS 390)
         e5 engagement     D1 10:00:30 -> 30 s, engaged by the ping alone; Email
  C  v3  e6 pageview /blog D1 11:00 (direct; US desktop Firefox Linux 1366)
         e7 engagement     D1 11:00:04 -> 4 s, 1 pageview, no goal: bounce; Direct
  D  v3  e8 pageview /pricing D1 12:00 (referrer l.facebook.com; US desktop Firefox Linux 1366)
         e9 custom signup    D1 12:00:05 (plan=free) -> 5 s, engaged by the goal;
            l.facebook.com / referral / Organic Social
  E  v4  e10 pageview /thanks  D2 09:00 (direct; DE desktop Chrome macOS 1440)
         e11 custom download   D2 09:00:02 (plan=pro, file=a.pdf) -> 2 s, bounce; Direct
  bots: one pageview on D1, a pageview and a custom event on D2.
Site n.example, Asia/Kathmandu (UTC+05:45), no goals: day and hour edges (see KTM_*).
Site ny.example, America/New_York, goals []: the 23- and 25-hour days (see NY_*).
"""

from __future__ import annotations

from datetime import datetime

import datasketches
import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from analytics.event_schema import spark_schema
from analytics.metrics.batch_views import (
    BREAKDOWN_COLUMNS,
    SERIES_COLUMNS,
    batch_views,
    with_local_time,
)
from analytics.metrics.events import bot_rows, counted, dedup, with_event_ts

K, N, NY = "k.example", "n.example", "ny.example"
SITES = {K: ("Asia/Kolkata", ["signup", "/thanks"]), N: ("Asia/Kathmandu", None),
         NY: ("America/New_York", [])}
D1, D2 = "2024-05-01", "2024-05-02"


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def event(event_id, site, kind, iso, visitor, *, bot=False, **fields) -> dict:
    return {"schema": "analytics/enriched_event/1-0-0", "event_id": event_id,
            "site_id": site, "kind": kind, "url": f"https://{site}/", "received_at": ms(iso),
            "event_time": ms(iso), "visitor_id": visitor, "is_bot": bot, "host": site,
            **fields}


def kolkata(event_id, kind, local, visitor, **fields) -> dict:
    return event(event_id, K, kind, f"{local}+05:30", visitor, **fields)


IN_DESKTOP = {"country": "IN", "device_type": "desktop", "browser": "Chrome", "os": "Windows",
              "screen_width": 1920}
IN_MOBILE = {"country": "IN", "device_type": "mobile", "browser": "Safari", "os": "iOS",
             "screen_width": 390}
US_LAPTOP = {"country": "US", "device_type": "desktop", "browser": "Firefox", "os": "Linux",
             "screen_width": 1366}
DE_DESKTOP = {"country": "DE", "device_type": "desktop", "browser": "Chrome", "os": "macOS",
              "screen_width": 1440}
KOLKATA_EVENTS = [
    kolkata("e1", "pageview", "2024-05-01T23:50:00", "v1", path="/",
            referrer_host="google.com", **IN_DESKTOP),
    kolkata("e2", "pageview", "2024-05-02T00:10:00", "v1", path="/pricing",
            utm_source="twitter", **IN_DESKTOP),
    kolkata("e3", "custom", "2024-05-02T00:15:00", "v1", path="/pricing", name="signup",
            props={"plan": "pro"}, **IN_DESKTOP),
    kolkata("e4", "pageview", "2024-05-01T10:00:00", "v2", path="/blog",
            utm_source="newsletter", utm_medium="email", utm_campaign="may", **IN_MOBILE),
    kolkata("e5", "engagement", "2024-05-01T10:00:30", "v2", path="/blog",
            engagement_ms=30000, **IN_MOBILE),
    kolkata("e6", "pageview", "2024-05-01T11:00:00", "v3", path="/blog", **US_LAPTOP),
    kolkata("e7", "engagement", "2024-05-01T11:00:04", "v3", path="/blog",
            engagement_ms=4000, **US_LAPTOP),
    kolkata("e8", "pageview", "2024-05-01T12:00:00", "v3", path="/pricing",
            referrer_host="l.facebook.com", **US_LAPTOP),
    kolkata("e9", "custom", "2024-05-01T12:00:05", "v3", path="/pricing", name="signup",
            props={"plan": "free"}, **US_LAPTOP),
    kolkata("e10", "pageview", "2024-05-02T09:00:00", "v4", path="/thanks", **DE_DESKTOP),
    kolkata("e11", "custom", "2024-05-02T09:00:02", "v4", path="/thanks", name="download",
            props={"plan": "pro", "file": "a.pdf"}, **DE_DESKTOP),
    kolkata("bot1", "pageview", "2024-05-01T12:00:00", "crawler", bot=True, path="/"),
    kolkata("bot2", "pageview", "2024-05-02T01:00:00", "crawler", bot=True, path="/"),
    kolkata("bot3", "custom", "2024-05-02T01:00:01", "crawler", bot=True, name="signup"),
]
# Kathmandu: local midnight of 05-02 is 05-01 18:15Z, local 10:00 of 05-02 is 04:15Z.
# w1 at 23:59:59.999 (05-01), w2 at 00:00 (05-02); w3 at 09:59:59.999 and 10:00:00.000
# (one session, 1 ms, 2 pageviews: engaged; it belongs to the 09:00 hour).
KTM_EVENTS = [
    event("n1", N, "pageview", "2024-05-01T18:14:59.999+00:00", "w1", path="/"),
    event("n2", N, "pageview", "2024-05-01T18:15:00.000+00:00", "w2", path="/"),
    event("n3", N, "pageview", "2024-05-02T04:14:59.999+00:00", "w3", path="/"),
    event("n4", N, "pageview", "2024-05-02T04:15:00.000+00:00", "w3", path="/"),
]
# New York. 2024-03-10 (EST -> EDT at 07:00Z) is 05:00Z..04:00Z next day, 23 hours;
# 2024-11-03 (EDT -> EST at 06:00Z) is 04:00Z..05:00Z next day, 25 hours.
# u3: 1 ms before and at each edge of 03-10, and either side of the skipped hour.
# u1: a pageview at half past every UTC hour of 11-03 (25): each its own session.
# u2: 1 ms before and at each edge of 11-03 (sessions 03:59:59.999Z (11-02) and
#     04:59:59.999Z 11-04 (= 11-03 23:59:59.999 EST), each 2 pageviews and 1 ms).
NY_EVENTS = [
    event(f"m{i}", NY, "pageview", iso, "u3", path="/") for i, iso in enumerate([
        "2024-03-10T04:59:59.999+00:00", "2024-03-10T05:00:00.000+00:00",
        "2024-03-10T06:59:59.999+00:00", "2024-03-10T07:00:00.000+00:00",
        "2024-03-11T03:59:59.999+00:00", "2024-03-11T04:00:00.000+00:00"])
] + [
    event(f"h{h}", NY, "pageview", f"2024-11-0{3 + (4 + h) // 24}T{(4 + h) % 24:02d}:30:00+00:00",
          "u1", path="/") for h in range(25)
] + [
    event(f"x{i}", NY, "pageview", iso, "u2", path="/") for i, iso in enumerate([
        "2024-11-03T03:59:59.999+00:00", "2024-11-03T04:00:00.000+00:00",
        "2024-11-04T04:59:59.999+00:00", "2024-11-04T05:00:00.000+00:00"])
]


def frame(spark, events):
    schema = (spark_schema().add("timezone", T.StringType())
              .add("goals", T.ArrayType(T.StringType())))
    rows = []
    for e in events:
        zone, goals = SITES[e["site_id"]]
        full = {**e, "timezone": zone, "goals": goals}
        rows.append(tuple(full.get(name) for name in schema.fieldNames()))
    return spark.createDataFrame(rows, schema)


@pytest.fixture(scope="module")
def views(spark):
    events = dedup(with_event_ts(frame(spark, KOLKATA_EVENTS + KTM_EVENTS + NY_EVENTS)))
    built = batch_views(counted(events), bot_rows(events))
    built["sessionized"].cache()
    built["sessions"].cache()
    return built


_FORMATS = {"local_day": "yyyy-MM-dd", "hour_start": "MM-dd HH:mm", "local_hour": "HH:mm",
            "local_ts": "yyyy-MM-dd HH:mm:ss.SSS"}


def rows(df, *columns, site=None):
    """Sorted tuples; times as text in the session zone (UTC), i.e. instants in UTC and
    local wall-clock columns as their wall-clock."""
    if site:
        df = df.where(F.col("site_id") == site)
    picked = [F.date_format(c, _FORMATS[c]).alias(c) if c in _FORMATS else F.col(c)
              for c in columns]
    return sorted(tuple(r) for r in df.select(*picked).collect())


SERIES = [c for c in SERIES_COLUMNS if c != "visitors_sketch"]


def test_local_time_columns(spark):
    cases = [  # zone, instant -> local_ts, local_day, local_hour, hour_start (UTC)
        ("Asia/Kathmandu", "2024-05-01T18:14:59.999", "2024-05-01 23:59:59.999",
         "2024-05-01", "23:00", "05-01 17:15"),
        ("Asia/Kathmandu", "2024-05-01T18:15:00.000", "2024-05-02 00:00:00.000",
         "2024-05-02", "00:00", "05-01 18:15"),
        ("Asia/Kolkata", "2024-05-01T18:29:59.999", "2024-05-01 23:59:59.999",
         "2024-05-01", "23:00", "05-01 17:30"),
        ("Asia/Kolkata", "2024-05-01T18:30:00.000", "2024-05-02 00:00:00.000",
         "2024-05-02", "00:00", "05-01 18:30"),
        # 2024-03-10: 01:59:59.999 EST is followed by 03:00 EDT.
        ("America/New_York", "2024-03-10T06:59:59.999", "2024-03-10 01:59:59.999",
         "2024-03-10", "01:00", "03-10 06:00"),
        ("America/New_York", "2024-03-10T07:00:00.000", "2024-03-10 03:00:00.000",
         "2024-03-10", "03:00", "03-10 07:00"),
        # 2024-11-03: 01:30 happens twice; same label, two hours.
        ("America/New_York", "2024-11-03T05:30:00.000", "2024-11-03 01:30:00.000",
         "2024-11-03", "01:00", "11-03 05:00"),
        ("America/New_York", "2024-11-03T06:30:00.000", "2024-11-03 01:30:00.000",
         "2024-11-03", "01:00", "11-03 06:00"),
        (None, "2024-05-01T23:59:59.999", "2024-05-01 23:59:59.999",
         "2024-05-01", "23:00", "05-01 23:00"),
    ]
    df = spark.createDataFrame([(zone, ms(f"{utc}+00:00")) for zone, utc, *_ in cases],
                               "timezone string, t long")
    df = with_local_time(df.withColumn("event_ts", F.timestamp_millis("t")))
    got = [tuple(r) for r in df.select(
        "timezone", F.date_format("event_ts", "yyyy-MM-dd'T'HH:mm:ss.SSS"),
        *[F.date_format(c, _FORMATS[c]) for c in ("local_ts", "local_day", "local_hour",
                                                    "hour_start")]).collect()]
    assert got == [tuple(case) for case in cases]
    assert dict(df.dtypes)["local_day"] == "date"


def test_output_columns(views):
    assert views["daily"].columns == ["site_id", "local_day", *SERIES_COLUMNS]
    assert views["hourly"].columns == ["site_id", "local_day", "hour_start", "local_hour",
                                       *SERIES_COLUMNS]
    assert tuple(views["breakdowns"].columns) == BREAKDOWN_COLUMNS
    assert views["goals"].columns == ["site_id", "local_day", "goal", "conversions",
                                      "converting_visitors", "converting_sketch", "visitors"]
    assert views["bots"].columns == ["site_id", "local_day", "bot_events"]
    types = dict(views["daily"].dtypes)
    assert (types["visitors"], types["visitors_sketch"], types["total_duration_s"]) == (
        "bigint", "binary", "double")


def test_daily_series_kolkata(views):
    # D1: visitors v1 v2 v3; pageviews e1 e4 e6 e8; custom e9; sessions A B C D starting,
    #     engaged A B D, bounce C, 1500 + 30 + 4 + 5 s, pageviews 2 + 1 + 1 + 1.
    # D2: visitors v1 v4; pageviews e2 e10; custom e3 e11; only E starts (A was counted
    #     on D1): 1 session, bounce, 2 s, 1 pageview. Bounce rate D1 = 1 - 3/4.
    assert rows(views["daily"], "local_day", *SERIES, site=K) == [
        (D1, 3, 4, 1, 4, 3, 1, 1539.0, 5),
        (D2, 2, 2, 2, 1, 0, 1, 2.0, 1),
    ]


def test_hourly_series_kolkata(views):
    # Local hour h starts at h - 05:30 UTC. A is in D1's 23:00 hour; its D2 events make
    # the 00:00 hour's visitor and pageview but no session.
    assert rows(views["hourly"], "local_day", "local_hour", "hour_start", *SERIES,
                site=K) == [
        (D1, "10:00", "05-01 04:30", 1, 1, 0, 1, 1, 0, 30.0, 1),
        (D1, "11:00", "05-01 05:30", 1, 1, 0, 1, 0, 1, 4.0, 1),
        (D1, "12:00", "05-01 06:30", 1, 1, 1, 1, 1, 0, 5.0, 1),
        (D1, "23:00", "05-01 17:30", 1, 1, 0, 1, 1, 0, 1500.0, 2),
        (D2, "00:00", "05-01 18:30", 1, 1, 1, 0, 0, 0, 0.0, 0),
        (D2, "09:00", "05-02 03:30", 1, 1, 1, 1, 0, 1, 2.0, 1),
    ]


def test_kathmandu_days_and_hours(views):
    # 05-01: w1 (a 0 s bounce). 05-02: w2 (bounce), w3 (2 pageviews, 1 ms: engaged).
    assert rows(views["daily"], "local_day", *SERIES, site=N) == [
        (D1, 1, 1, 0, 1, 0, 1, 0.0, 1),
        (D2, 2, 3, 0, 2, 1, 1, 0.001, 3),
    ]
    assert rows(views["hourly"], "local_day", "local_hour", "hour_start", *SERIES,
                site=N) == [
        (D1, "23:00", "05-01 17:15", 1, 1, 0, 1, 0, 1, 0.0, 1),
        (D2, "00:00", "05-01 18:15", 1, 1, 0, 1, 0, 1, 0.0, 1),
        (D2, "09:00", "05-02 03:15", 1, 1, 0, 1, 1, 0, 0.001, 2),
        (D2, "10:00", "05-02 04:15", 1, 1, 0, 0, 0, 0, 0.0, 0),
    ]


def test_new_york_days_partition_the_events_across_dst(views):
    # u3: 03-09 gets 04:59:59.999Z (its session holds 05:00Z too: 2 pageviews, 1 ms);
    # 03-10 gets 05:00Z, 06:59:59.999Z, 07:00Z, 03:59:59.999Z(+1) and the sessions
    # starting at 06:59:59.999Z and 03:59:59.999Z(+1); 03-11 gets 04:00Z(+1).
    # 11-02: u2's 03:59:59.999Z. 11-03: u1's 25, u2's 04:00Z and 04:59:59.999Z(+1);
    # sessions: u1's 25 bounces and u2's second (engaged). 11-04: u2's 05:00Z.
    # Pageviews 1 + 4 + 1 + 1 + 27 + 1 = 35 = all NY events: each in exactly one day.
    assert rows(views["daily"], "local_day", *SERIES, site=NY) == [
        ("2024-03-09", 1, 1, 0, 1, 1, 0, 0.001, 2),
        ("2024-03-10", 1, 4, 0, 2, 2, 0, 0.002, 4),
        ("2024-03-11", 1, 1, 0, 0, 0, 0, 0.0, 0),
        ("2024-11-02", 1, 1, 0, 1, 1, 0, 0.001, 2),
        ("2024-11-03", 2, 27, 0, 26, 1, 25, 0.001, 27),
        ("2024-11-04", 1, 1, 0, 0, 0, 0, 0.0, 0),
    ]
    assert len(NY_EVENTS) == 35


def test_new_york_hours_on_the_dst_days(views):
    hourly = views["hourly"].where(F.col("local_day").isin("2024-03-10", "2024-11-03"))
    got = rows(hourly, "local_day", "local_hour", "hour_start", *SERIES, site=NY)
    # 03-10: u3's events in local hours 00, 01 (the session 06:59:59.999Z..07:00Z starts
    # there), 03 (02:00 does not exist) and 23 (session 03:59:59.999Z..04:00Z next day).
    march = [
        ("2024-03-10", "00:00", "03-10 05:00", 1, 1, 0, 0, 0, 0, 0.0, 0),
        ("2024-03-10", "01:00", "03-10 06:00", 1, 1, 0, 1, 1, 0, 0.001, 2),
        ("2024-03-10", "03:00", "03-10 07:00", 1, 1, 0, 0, 0, 0, 0.0, 0),
        ("2024-03-10", "23:00", "03-11 03:00", 1, 1, 0, 1, 1, 0, 0.001, 2),
    ]
    # 11-03: 25 rows. 00:00 EDT = 04:00Z (u1's bounce, u2's 04:00Z of a session started
    # the day before); 01:00 twice (05:00Z EDT, 06:00Z EST); from then on EST, hour h
    # starts at h + 5 UTC; 23:00 = 04:00Z(+1): u1's bounce and u2's engaged session.
    one = (1, 1, 0, 1, 0, 1, 0.0, 1)
    november = [("2024-11-03", "00:00", "11-03 04:00", 2, 2, 0, 1, 0, 1, 0.0, 1),
                ("2024-11-03", "01:00", "11-03 05:00", *one)]
    for hour in range(1, 23):
        utc = hour + 5
        start = f"11-03 {utc:02d}:00" if utc < 24 else f"11-04 {utc - 24:02d}:00"
        november.append(("2024-11-03", f"{hour:02d}:00", start, *one))
    november.append(("2024-11-03", "23:00", "11-04 04:00", 2, 2, 0, 2, 1, 1, 0.001, 3))
    assert got == sorted(march + november)
    assert len(november) == 25


# Breakdowns of k.example: (dimension, day, value, visitors, pageviews, events, sessions,
# bounces, total_duration_s). Session dimensions count every event of a session under the
# session's value (A's D2 events: visitor v1, 1 pageview, 1 event, no session start);
# sessions/bounces/duration over sessions starting that day. Null values: "(not set)".
A1 = (1, 1, 0, 1, 0, 1500.0)   # A on D1
A2 = (1, 1, 1, 0, 0, 0.0)      # A's D2 part
B = (1, 1, 0, 1, 0, 30.0)
C = (1, 1, 0, 1, 1, 4.0)
D = (1, 1, 1, 1, 0, 5.0)
E = (1, 1, 1, 1, 1, 2.0)
BC = (2, 2, 0, 2, 1, 34.0)     # v2, v3
CD = (1, 2, 1, 2, 1, 9.0)      # both v3
ACD = (2, 3, 1, 3, 1, 1509.0)  # v1, v3
A2E = (2, 2, 2, 1, 1, 2.0)     # v1, v4
SESSION_BREAKDOWNS = {
    "source": [(D1, "google.com", *A1), (D1, "newsletter", *B), (D1, "(direct)", *C),
               (D1, "l.facebook.com", *D), (D2, "google.com", *A2), (D2, "(direct)", *E)],
    "medium": [(D1, "organic", *A1), (D1, "email", *B), (D1, "(none)", *C),
               (D1, "referral", *D), (D2, "organic", *A2), (D2, "(none)", *E)],
    "channel": [(D1, "Organic Search", *A1), (D1, "Email", *B), (D1, "Direct", *C),
                (D1, "Organic Social", *D), (D2, "Organic Search", *A2), (D2, "Direct", *E)],
    "campaign": [(D1, "may", *B), (D1, "(not set)", *ACD), (D2, "(not set)", *A2E)],
    "referrer": [(D1, "google.com", *A1), (D1, "l.facebook.com", *D),
                 (D1, "(not set)", *BC), (D2, "google.com", *A2), (D2, "(not set)", *E)],
    "entry_page": [(D1, "/", *A1), (D1, "/blog", *BC), (D1, "/pricing", *D),
                   (D2, "/", *A2), (D2, "/thanks", *E)],
    "exit_page": [(D1, "/pricing", 2, 2, 1, 2, 0, 1505.0), (D1, "/blog", *BC),
                  (D2, "/pricing", *A2), (D2, "/thanks", *E)],
    "country": [(D1, "IN", 2, 2, 0, 2, 0, 1530.0), (D1, "US", *CD), (D2, "IN", *A2),
                (D2, "DE", *E)],
    "device": [(D1, "desktop", *ACD), (D1, "mobile", *B), (D2, "desktop", *A2E)],
    "browser": [(D1, "Chrome", *A1), (D1, "Safari", *B), (D1, "Firefox", *CD),
                (D2, "Chrome", *A2E)],
    "os": [(D1, "Windows", *A1), (D1, "iOS", *B), (D1, "Linux", *CD), (D2, "Windows", *A2),
           (D2, "macOS", *E)],
    "screen_size": [(D1, "desktop", *A1), (D1, "mobile", *B), (D1, "laptop", *CD),
                    (D2, "desktop", *A2E)],
}
# Event dimensions: visitors, pageviews, events; no session measures (null).
PAGEVIEWS_OF = {1: (1, 1, 0, None, None, None), 2: (2, 2, 0, None, None, None)}
EVENTS_OF = {1: (1, 0, 1, None, None, None), 2: (2, 0, 2, None, None, None)}
EVENT_BREAKDOWNS = {
    "page": [(D1, "/", *PAGEVIEWS_OF[1]), (D1, "/blog", *PAGEVIEWS_OF[2]),   # e4 e6
             (D1, "/pricing", *PAGEVIEWS_OF[1]), (D2, "/pricing", *PAGEVIEWS_OF[1]),
             (D2, "/thanks", *PAGEVIEWS_OF[1])],
    "event": [(D1, "signup", *EVENTS_OF[1]), (D2, "signup", *EVENTS_OF[1]),
              (D2, "download", *EVENTS_OF[1])],
    "prop:plan": [(D1, "free", *EVENTS_OF[1]), (D2, "pro", *EVENTS_OF[2])],  # e3 e11
    "prop:file": [(D2, "a.pdf", *EVENTS_OF[1])],
}


def test_breakdowns_kolkata(views):
    got = rows(views["breakdowns"], "dimension", "local_day", "value", "visitors",
               "pageviews", "events", "sessions", "bounces", "total_duration_s", site=K)
    expected = sorted((dimension, *row)
                      for table in (SESSION_BREAKDOWNS, EVENT_BREAKDOWNS)
                      for dimension, day_rows in table.items() for row in day_rows)
    assert got == expected


def test_goals_kolkata_only(views):
    # D1: signup e9 (v3); /thanks none; 3 visitors. D2: signup e3 (v1), /thanks e10 (v4);
    # 2 visitors. n.example (null goals) and ny.example ([]) have no goal rows.
    assert rows(views["goals"], "site_id", "local_day", "goal", "conversions",
                "converting_visitors", "visitors") == [
        (K, D1, "/thanks", 0, 0, 3), (K, D1, "signup", 1, 1, 3),
        (K, D2, "/thanks", 1, 1, 2), (K, D2, "signup", 1, 1, 2),
    ]
    # converting visitors as a sketch too (null without conversions), for ranges of days
    sketches = {(str(r["local_day"]), r["goal"]): r["converting_sketch"]
                for r in views["goals"].where(F.col("site_id") == K).collect()}
    assert sketches[(D1, "/thanks")] is None
    assert round(datasketches.hll_sketch.deserialize(
        bytes(sketches[(D2, "signup")])).get_estimate()) == 1


def test_bot_events(views):
    assert rows(views["bots"], "site_id", "local_day", "bot_events") == [
        (K, D1, 1), (K, D2, 2)]


def test_visitor_sketches_match_exact_counts_and_merge(views):
    daily = views["daily"].select(
        "site_id", "local_day", "visitors",
        F.hll_sketch_estimate("visitors_sketch").alias("estimate"))
    got = rows(daily, "site_id", "local_day", "visitors", "estimate")
    assert [(v, e) for *_, v, e in got] == [(v, v) for *_, v, _ in got]
    assert len(got) == 10
    merged = views["daily"].groupBy("site_id").agg(
        F.hll_sketch_estimate(F.hll_union_agg("visitors_sketch")).alias("visitors"))
    # k: v1..v4 (not 3 + 2); n: w1 w2 w3; ny: u1 u2 u3.
    assert rows(merged, "site_id", "visitors") == [(K, 4), (N, 3), (NY, 3)]
    breakdowns = views["breakdowns"].select(
        "visitors", F.hll_sketch_estimate("visitors_sketch").alias("estimate"))
    pairs = [tuple(r) for r in breakdowns.collect()]
    assert pairs == [(v, v) for v, _ in pairs]
