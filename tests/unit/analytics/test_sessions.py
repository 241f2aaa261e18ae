"""Sessions (analytics.metrics.sessions) on hand-made events; expected values worked out by
hand from docs/metrics.md, Sessions, in the comments. All times are 2024-05-01 UTC unless
written in full."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from analytics.event_schema import spark_schema
from analytics.metrics.events import dedup, with_event_ts
from analytics.metrics.sessions import SESSION_COLUMNS, sessionize, sessions

S, T_SITE = "s.example", "t.example"
GOALS = {S: ["signup"], T_SITE: None}


def ms(when: str) -> int:
    """Epoch ms of ``HH:MM:SS[.fff]`` on 2024-05-01 UTC, or of a full ISO time with offset."""
    iso = when if "T" in when else f"2024-05-01T{when}+00:00"
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def event(event_id, kind, when, visitor, site=S, **fields) -> dict:
    return {"schema": "analytics/enriched_event/1-0-0", "event_id": event_id, "site_id": site,
            "kind": kind, "url": f"https://{site}/", "received_at": ms(when),
            "event_time": ms(when), "visitor_id": visitor, "is_bot": False, "host": site,
            **fields}


def frame(spark, events):
    schema = spark_schema().add("goals", T.ArrayType(T.StringType()))
    rows = [tuple({**e, "goals": GOALS[e["site_id"]]}.get(n) for n in schema.fieldNames())
            for e in events]
    return dedup(with_event_ts(spark.createDataFrame(rows, schema)))


def rows(df, *columns):
    picked = [F.date_format(c, "yyyy-MM-dd HH:mm:ss.SSS").alias(c)
              if c in ("event_ts", "session_start", "session_end") else F.col(c)
              for c in columns]
    return sorted(tuple(r) for r in df.select(*picked).collect())


# v1 on s: a1 10:00, a2 10:30 (gap exactly 30 min: same session), a3 and a4 at
# 11:00:00.001 (gap 30 min 1 ms: a new session; equal times ordered by event_id, a3 first
# although a4 is listed first). v2 on s: c1 alone. v1 on t: another site, its own session.
# v3 on s: m1 23:50 and m2 00:10 the next day: one session across midnight.
GAP_EVENTS = [
    event("a1", "pageview", "10:00:00", "v1"),
    event("a4", "custom", "11:00:00.001", "v1", name="x"),
    event("a2", "pageview", "10:30:00", "v1"),
    event("a3", "pageview", "11:00:00.001", "v1"),
    event("c1", "pageview", "10:05:00", "v2"),
    event("b1", "pageview", "10:10:00", "v1", site=T_SITE),
    event("m1", "pageview", "23:50:00", "v3"),
    event("m2", "pageview", "2024-05-02T00:10:00+00:00", "v3"),
]
GAP_EXPECTED = [
    (S, "a1", f"v1:{ms('10:00:00')}", "2024-05-01 10:00:00.000"),
    (S, "a2", f"v1:{ms('10:00:00')}", "2024-05-01 10:00:00.000"),
    (S, "a3", f"v1:{ms('11:00:00.001')}", "2024-05-01 11:00:00.001"),
    (S, "a4", f"v1:{ms('11:00:00.001')}", "2024-05-01 11:00:00.001"),
    (S, "c1", f"v2:{ms('10:05:00')}", "2024-05-01 10:05:00.000"),
    (S, "m1", f"v3:{ms('23:50:00')}", "2024-05-01 23:50:00.000"),
    (S, "m2", f"v3:{ms('23:50:00')}", "2024-05-01 23:50:00.000"),
    (T_SITE, "b1", f"v1:{ms('10:10:00')}", "2024-05-01 10:10:00.000"),
]


def test_sessionize_splits_after_more_than_30_minutes(spark):
    got = rows(sessionize(frame(spark, GAP_EVENTS)),
               "site_id", "event_id", "session_id", "session_start")
    assert got == GAP_EXPECTED


def test_sessionize_is_deterministic_whatever_the_input_order(spark):
    shuffled = frame(spark, list(reversed(GAP_EVENTS))).repartition(3)
    got = rows(sessionize(shuffled), "site_id", "event_id", "session_id", "session_start")
    assert got == GAP_EXPECTED


def test_sessionize_takes_the_gap_as_a_parameter(spark):
    # With a 5-minute gap, v1's a1 (10:00) and a2 (10:30) are two sessions.
    got = rows(sessionize(frame(spark, GAP_EVENTS[:3]), gap_minutes=5).where(
        F.col("event_id") == "a2"), "session_id")
    assert got == [(f"v1:{ms('10:30:00')}",)]


DEVICE = {"country": "DE", "device_type": "desktop", "browser": "Firefox", "os": "Linux",
          "screen_width": 1920}
SESSION_EVENTS = [
    # v1: 2 pageviews -> engaged; 5 s; source etc. from p1 only (p2's utm and device differ).
    event("p1", "pageview", "10:00:00", "v1", path="/", utm_source="newsletter",
          utm_medium="email", utm_campaign="spring", utm_term="analytics", utm_content="hero",
          referrer_host="google.com", **DEVICE),
    event("p2", "pageview", "10:00:05", "v1", path="/pricing", utm_source="twitter",
          referrer_host="t.co", country="FR", device_type="mobile", screen_width=390),
    # v2: one pageview and a leave ping 12.5 s later -> duration 12.5 s -> engaged.
    event("q1", "pageview", "11:00:00", "v2", path="/blog", referrer_host="google.de",
          country="US", device_type="mobile", browser="Safari", os="iOS", screen_width=390),
    event("q2", "engagement", "11:00:12.500", "v2", path="/blog", engagement_ms=12500),
    # v3: one pageview, then the goal "signup" 3 s later -> engaged by the goal.
    event("r1", "pageview", "12:00:00", "v3", path="/pricing", device_type="tablet",
          browser="Chrome", os="Android", screen_width=800),
    event("r2", "custom", "12:00:03", "v3", path="/pricing", name="signup"),
    # v4: one pageview, two non-goal events, 9.999 s -> bounce.
    event("s1", "pageview", "13:00:00", "v4", path="/", referrer_host="l.facebook.com",
          country="GB", device_type="desktop", browser="Edge", os="Windows",
          screen_width=1366),
    event("s2", "custom", "13:00:02", "v4", path="/", name="download"),
    event("s3", "custom", "13:00:09.999", "v4", path="/", name="download"),
    # v5: first event a ping (its empty device fields win), then 2 pageviews -> engaged;
    # entry page is the first PAGEVIEW; the last one has no path -> "/".
    event("t1", "engagement", "14:00:00", "v5", path="/docs", utm_source="Google",
          utm_medium="cpc"),
    event("t2", "pageview", "14:00:01", "v5", path="/docs", **DEVICE),
    event("t3", "pageview", "14:00:03", "v5", path=None, **DEVICE),
    # v6: a custom event only: no pageview, no entry/exit page, 0 s -> bounce.
    event("u1", "custom", "15:00:00", "v6", path="/", name="video_play"),
    # v7 on site t, which has no goals: "signup" does not engage -> bounce.
    event("w1", "pageview", "16:00:00", "v7", site=T_SITE, path="/"),
    event("w2", "custom", "16:00:01", "v7", site=T_SITE, path="/", name="signup"),
    # v8: a ping exactly 10 s after the pageview -> engaged.
    event("x1", "pageview", "17:00:00", "v8", path="/a"),
    event("x2", "engagement", "17:00:10", "v8", path="/a", engagement_ms=10000),
]


@pytest.fixture(scope="module")
def session_rows(spark):
    return sessions(sessionize(frame(spark, SESSION_EVENTS))).cache()


def test_session_columns_are_the_documented_ones(session_rows):
    assert tuple(session_rows.columns) == SESSION_COLUMNS
    types = {f.name: f.dataType.simpleString() for f in session_rows.schema.fields}
    assert (types["session_start"], types["duration_s"], types["pageviews"],
            types["is_engaged"]) == ("timestamp", "double", "bigint", "boolean")


def test_session_duration_engagement_and_pages(session_rows):
    got = rows(session_rows, "site_id", "visitor_id", "session_id", "session_start",
               "session_end", "duration_s", "pageviews", "custom_events", "is_engaged",
               "is_bounce", "entry_page", "exit_page")
    day = "2024-05-01 "
    assert got == [
        (S, "v1", f"v1:{ms('10:00:00')}", day + "10:00:00.000", day + "10:00:05.000", 5.0,
         2, 0, True, False, "/", "/pricing"),
        (S, "v2", f"v2:{ms('11:00:00')}", day + "11:00:00.000", day + "11:00:12.500", 12.5,
         1, 0, True, False, "/blog", "/blog"),
        (S, "v3", f"v3:{ms('12:00:00')}", day + "12:00:00.000", day + "12:00:03.000", 3.0,
         1, 1, True, False, "/pricing", "/pricing"),
        (S, "v4", f"v4:{ms('13:00:00')}", day + "13:00:00.000", day + "13:00:09.999", 9.999,
         1, 2, False, True, "/", "/"),
        (S, "v5", f"v5:{ms('14:00:00')}", day + "14:00:00.000", day + "14:00:03.000", 3.0,
         2, 0, True, False, "/docs", "/"),
        (S, "v6", f"v6:{ms('15:00:00')}", day + "15:00:00.000", day + "15:00:00.000", 0.0,
         0, 1, False, True, None, None),
        (S, "v8", f"v8:{ms('17:00:00')}", day + "17:00:00.000", day + "17:00:10.000", 10.0,
         1, 0, True, False, "/a", "/a"),
        (T_SITE, "v7", f"v7:{ms('16:00:00')}", day + "16:00:00.000", day + "16:00:01.000",
         1.0, 1, 1, False, True, "/", "/"),
    ]


def test_session_acquisition_and_device_come_from_the_first_event(session_rows):
    got = rows(session_rows, "visitor_id", "source", "medium", "campaign", "term", "content",
               "referrer_host", "channel", "country", "device_type", "browser", "os",
               "screen_size")
    direct = ("(direct)", "(none)", None, None, None, None, "Direct")
    assert got == [
        ("v1", "newsletter", "email", "spring", "analytics", "hero", "google.com", "Email",
         "DE", "desktop", "Firefox", "Linux", "desktop"),
        ("v2", "google.de", "organic", None, None, None, "google.de", "Organic Search",
         "US", "mobile", "Safari", "iOS", "mobile"),
        ("v3", *direct, None, "tablet", "Chrome", "Android", "tablet"),
        ("v4", "l.facebook.com", "referral", None, None, None, "l.facebook.com",
         "Organic Social", "GB", "desktop", "Edge", "Windows", "laptop"),
        ("v5", "Google", "cpc", None, None, None, None, "Paid Search",
         None, None, None, None, None),
        ("v6", *direct, None, None, None, None, None),
        ("v7", *direct, None, None, None, None, None),
        ("v8", *direct, None, None, None, None, None),
    ]


def test_without_a_goals_column_no_custom_event_engages(spark):
    # v3's session (1 pageview, "signup" after 3 s) is engaged only through its goal.
    df = frame(spark, [e for e in SESSION_EVENTS if e["visitor_id"] == "v3"]).drop("goals")
    assert rows(sessions(sessionize(df)), "visitor_id", "is_engaged", "is_bounce") == [
        ("v3", False, True)]
