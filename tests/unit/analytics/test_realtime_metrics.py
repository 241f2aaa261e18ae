"""The speed layer's minute views (analytics.metrics) on a hand-made event set.

Expected numbers are worked out by hand from docs/metrics.md; see the comments at EVENTS.
The unit tests' local SparkSession (conftest) serves the module (batch views and one
streaming query).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pytest
from pyspark.sql import functions as F

from analytics.config import Config
from analytics.event_schema import spark_schema
from analytics.metrics.events import bot_rows, counted, dedup, with_event_ts
from analytics.metrics.realtime import (
    DEFAULT_LG_K,
    mark_late,
    minute_views,
    speed_layer_views,
    stream_watermark,
)
from analytics.metrics.sources import source_of

A, B = "a.example", "b.example"
LATE_AFTER_MS = 10 * 60_000


def ms(clock: str) -> int:
    """Epoch ms of 2024-05-01 at ``clock`` (HH:MM:SS[.fff]) UTC."""
    return int(datetime.fromisoformat(f"2024-05-01T{clock}+00:00").timestamp() * 1000)


def event(event_id, site, kind, clock, visitor, *, bot=False, **fields) -> dict:
    when = ms(clock)
    return {"schema": "analytics/enriched_event/1-0-0", "event_id": event_id,
            "site_id": site, "kind": kind, "url": f"https://{site}{fields.get('path', '/')}",
            "received_at": when, "event_time": when, "visitor_id": visitor, "is_bot": bot,
            "path": "/", "host": site, **fields}


# Site a, minute 10:59 -- counted: pageviews e1, e2, e3 (v1, v2, v1), custom e4 (v2),
# engagement e5 (v3): visitors v1 v2 v3; bots e6, e7.
# Site a, minute 11:00 -- pageviews e8 (v1), e9 (v4); custom e10 (v4, sent twice), e11 (v1);
# bot e12. e3's copy stamped 11:00:05 is a duplicate (batch keeps the earlier copy).
# Site b, minute 10:59 -- b1 reuses e1's event_id (another site: another event), b2, b3.
E3_COPY_LATER_MINUTE = event("e3", A, "pageview", "11:00:05", "v1")
E1_COPY = event("e1", A, "pageview", "10:59:12", "v1", utm_source="newsletter",
                referrer_host="google.com")
EVENTS = [
    event("e1", A, "pageview", "10:59:10", "v1", utm_source="newsletter",
          referrer_host="google.com"),                       # utm beats referrer
    event("e2", A, "pageview", "10:59:59.900", "v2", path="/pricing", utm_source="",
          referrer_host="news.ycombinator.com"),             # duplicate listed first
    event("e2", A, "pageview", "10:59:59.999", "v2", path="/pricing", utm_source="",
          referrer_host="news.ycombinator.com"),             # empty utm falls through
    E3_COPY_LATER_MINUTE,                                    # duplicate listed first
    event("e3", A, "pageview", "10:59:40", "v1"),            # (direct)
    event("e4", A, "custom", "10:59:50", "v2", name="signup", path="/pricing"),
    event("e5", A, "engagement", "10:59:30", "v3", engagement_ms=4000),
    event("e6", A, "pageview", "10:59:15", "bot", bot=True, utm_source="x"),
    event("e7", A, "custom", "10:59:16", "bot", bot=True, name="signup"),
    event("e8", A, "pageview", "11:00:00.000", "v1", referrer_host="google.com"),
    event("e9", A, "pageview", "11:00:30", "v4", utm_source=None, referrer_host=" "),
    event("e10", A, "custom", "11:00:31", "v4", name="signup"),
    event("e10", A, "custom", "11:00:32", "v4", name="signup"),
    event("e11", A, "custom", "11:00:40", "v1", name="download"),
    event("e12", A, "engagement", "11:00:10", "bot", bot=True, engagement_ms=100),
    event("e1", B, "pageview", "10:59:05", "v1", utm_source="twitter"),
    event("b2", B, "pageview", "10:59:06", "v5", path="/about", utm_source="twitter"),
    event("b3", B, "custom", "10:59:07", "v5", name="signup", utm_source="twitter"),
]

M1, M2 = "2024-05-01 10:59", "2024-05-01 11:00"
# (site, minute, pageviews, custom_events, engagements, bot_events, visitors)
TOTALS = [
    (A, M1, 3, 1, 1, 2, 3),
    (A, M2, 2, 2, 0, 1, 2),
    (B, M1, 2, 1, 0, 0, 2),
]


def frame(spark, events):
    schema = spark_schema()
    rows = [tuple(e.get(name) for name in schema.fieldNames()) for e in events]
    return spark.createDataFrame(rows, schema)


@pytest.fixture(scope="module")
def events(spark):
    """Deduplicated events with event_ts/minute and lateness, as the views take them."""
    return dedup(mark_late(with_event_ts(frame(spark, EVENTS)), LATE_AFTER_MS)).cache()


@pytest.fixture(scope="module")
def views(events):
    return minute_views(events).cache()


def view(views, name: str, key_as: str | None = None):
    picked = views.where(F.col("view") == name)
    return picked.withColumnRenamed("key", key_as) if key_as else picked


def rows(df, *columns):
    """Sorted tuples; ``minute`` as UTC text, so the Python process's zone plays no part."""
    picked = [F.date_format(c, "yyyy-MM-dd HH:mm").alias(c) if c == "minute" else F.col(c)
              for c in columns]
    return sorted(tuple(r) for r in df.select(*picked).collect())


def test_event_ts_and_minute_are_utc_and_split_at_the_minute(spark):
    df = with_event_ts(frame(spark, [event("x", A, "pageview", "10:59:59.999", "v"),
                                     event("y", A, "pageview", "11:00:00.000", "v")]))
    got = rows(df.select("event_id", F.date_format("event_ts", "HH:mm:ss.SSS").alias("t"),
                         "minute"), "event_id", "t", "minute")
    assert got == [("x", "10:59:59.999", M1), ("y", "11:00:00.000", M2)]


def test_dedup_keeps_one_row_per_site_and_event_id_the_earliest(events):
    got = rows(events.select("site_id", "event_id",
                             F.date_format("event_ts", "HH:mm:ss.SSS").alias("t")),
               "site_id", "event_id", "t")
    assert got == [
        (A, "e1", "10:59:10.000"), (A, "e10", "11:00:31.000"), (A, "e11", "11:00:40.000"),
        (A, "e12", "11:00:10.000"), (A, "e2", "10:59:59.900"), (A, "e3", "10:59:40.000"),
        (A, "e4", "10:59:50.000"), (A, "e5", "10:59:30.000"), (A, "e6", "10:59:15.000"),
        (A, "e7", "10:59:16.000"), (A, "e8", "11:00:00.000"), (A, "e9", "11:00:30.000"),
        (B, "b2", "10:59:06.000"), (B, "b3", "10:59:07.000"), (B, "e1", "10:59:05.000"),
    ]


def test_counted_and_bot_rows_split_on_is_bot(events):
    assert rows(bot_rows(events), "event_id") == [("e12",), ("e6",), ("e7",)]
    assert rows(counted(events), "site_id", "event_id") == sorted(
        [(A, e) for e in ("e1", "e2", "e3", "e4", "e5", "e8", "e9", "e10", "e11")]
        + [(B, e) for e in ("e1", "b2", "b3")])


def test_source_utm_then_referrer_then_direct(events):
    got = rows(source_of(events).where(F.col("kind") == "pageview"),
               "site_id", "event_id", "source")
    assert got == [
        (A, "e1", "newsletter"), (A, "e2", "news.ycombinator.com"), (A, "e3", "(direct)"),
        (A, "e6", "x"), (A, "e8", "google.com"), (A, "e9", "(direct)"),
        (B, "b2", "twitter"), (B, "e1", "twitter"),
    ]


def test_minute_totals(views):
    got = rows(view(views, "totals"), "site_id", "minute", "pageviews", "custom_events",
               "engagements", "bot_events", "visitors")
    assert got == TOTALS


def test_minute_pages(views):
    got = rows(view(views, "pages", "path"), "site_id", "minute", "path", "pageviews",
               "visitors")
    assert got == [
        (A, M1, "/", 2, 1), (A, M1, "/pricing", 1, 1),
        (A, M2, "/", 2, 2),
        (B, M1, "/", 1, 1), (B, M1, "/about", 1, 1),
    ]


def test_minute_sources(views):
    got = rows(view(views, "sources", "source"), "site_id", "minute", "source", "pageviews",
               "visitors")
    assert got == [
        (A, M1, "(direct)", 1, 1), (A, M1, "news.ycombinator.com", 1, 1),
        (A, M1, "newsletter", 1, 1),
        (A, M2, "(direct)", 1, 1), (A, M2, "google.com", 1, 1),
        (B, M1, "twitter", 2, 2),
    ]


def test_minute_custom_events(views):
    got = rows(view(views, "events", "name"), "site_id", "minute", "name", "custom_events",
               "visitors")
    assert got == [
        (A, M1, "signup", 1, 1),
        (A, M2, "download", 1, 1), (A, M2, "signup", 1, 1),
        (B, M1, "signup", 1, 1),
    ]


def test_on_time_rows_belong_to_their_own_minute_and_nothing_is_late(views):
    assert views.where(F.col("minute") != F.col("event_minute")).count() == 0
    assert rows(views.groupBy("view").count(), "view", "count") == [
        ("events", 4), ("pages", 5), ("sources", 6), ("totals", 3)]


def test_visitor_sketches_merge_across_minutes(views):
    # Site a: v1 v2 v3 in 10:59, v1 v4 in 11:00 -> 4 distinct, not 3 + 2.
    merged = (view(views, "totals").groupBy("site_id")
              .agg(F.hll_sketch_estimate(F.hll_union_agg("visitors_sketch")).alias("v")))
    assert rows(merged, "site_id", "v") == [(A, 4), (B, 2)]
    # Page "/" of site a: v1 in 10:59, v1 v4 in 11:00 -> 2 distinct, not 1 + 2.
    pages = view(views, "pages").where((F.col("site_id") == A) & (F.col("key") == "/"))
    union = pages.agg(F.hll_sketch_estimate(F.hll_union_agg("visitors_sketch")).alias("v"))
    assert rows(union, "v") == [(2,)]


def test_bot_only_minute_has_empty_sketch_and_zero_visitors(spark):
    df = with_event_ts(frame(spark, [event("z", A, "pageview", "12:00:00", "bot", bot=True)]))
    got = rows(minute_views(mark_late(df, LATE_AFTER_MS))
               .withColumn("has_sketch", F.col("visitors_sketch").isNotNull()),
               "view", "site_id", "minute", "pageviews", "bot_events", "visitors", "has_sketch")
    assert got == [("totals", A, "2024-05-01 12:00", 0, 1, 0, True)]


def test_late_events_leave_the_minute_views_and_are_counted_by_arrival(spark):
    # l1 buffered 10 min exactly: on time. l2 (pageview) and l3 (bot) arrive 10 min 0.001 s
    # and 25 min after their event time: late, counted in the minute they arrived in, with
    # the minute they belong to; a Kafka timestamp, when there is one, is the arrival.
    l1 = event("l1", A, "pageview", "12:00:00", "v1")
    l2 = event("l2", A, "pageview", "12:00:10", "v2")
    l3 = event("l3", A, "custom", "12:00:20", "bot", bot=True, name="signup")
    l1["received_at"] = ms("12:10:00")
    l2["received_at"] = ms("12:10:10.001")
    l3["received_at"] = ms("12:00:20")
    df = with_event_ts(frame(spark, [l1, l2, l3]))
    df = df.withColumn("kafka_timestamp", F.when(
        F.col("event_id") == "l3", F.timestamp_millis(F.lit(ms("12:25:20")))))
    got = rows(minute_views(mark_late(df, LATE_AFTER_MS))
               .withColumn("event_minute", F.date_format("event_minute", "HH:mm")),
               "view", "minute", "event_minute", "pageviews", "custom_events", "bot_events",
               "visitors")
    assert got == [
        ("late", "2024-05-01 12:10", "12:00", 1, 0, 0, 0),
        ("late", "2024-05-01 12:25", "12:00", 0, 0, 1, 0),
        ("pages", "2024-05-01 12:00", "12:00", 1, 0, 0, 1),
        ("sources", "2024-05-01 12:00", "12:00", 1, 0, 0, 1),
        ("totals", "2024-05-01 12:00", "12:00", 1, 0, 0, 1),
    ]


def test_config_defaults_match_the_functions():
    assert (Config().streaming_late_after_ms, Config().visitor_sketch_lg_k) == (
        LATE_AFTER_MS, DEFAULT_LG_K)
    assert stream_watermark(LATE_AFTER_MS) == "720000 milliseconds"


def _write_json_lines(folder, name, events):
    hidden = folder / f".{name}.tmp"  # Spark's file source ignores dot files
    hidden.write_text("".join(json.dumps(e) + "\n" for e in events))
    hidden.rename(folder / name)


def test_views_run_as_one_streaming_query(spark, tmp_path):
    inbox = tmp_path / "events"
    inbox.mkdir()
    # Batch 1: everything but e3's later copy (which copy of a duplicate pair in one
    # micro-batch survives is not defined, and the two lie in different minutes).
    _write_json_lines(inbox, "1.json", [e for e in EVENTS if e is not E3_COPY_LATER_MINUTE])
    stream = spark.readStream.schema(spark_schema()).json(str(inbox))
    with pytest.raises(ValueError, match="watermark"):
        dedup(with_event_ts(stream))
    query = (speed_layer_views(stream, LATE_AFTER_MS)
             .writeStream.outputMode("update").format("memory").queryName("rt_views")
             .option("checkpointLocation", str(tmp_path / "checkpoint")).start())
    columns = ("site_id", "minute", "pageviews", "custom_events", "engagements",
               "bot_events", "visitors")

    def totals():
        return rows(spark.table("rt_views").where(F.col("view") == "totals"), *columns)

    try:
        query.processAllAvailable()
        first = totals()
        assert first == TOTALS
        # Batch 2: copies of e1 and e3 arrive later (ids remembered across micro-batches,
        # so they count nothing), and v6 views a page of site a at 10:59.
        _write_json_lines(inbox, "2.json", [
            E1_COPY, E3_COPY_LATER_MINUTE, event("e13", A, "pageview", "10:59:45", "v6")])
        query.processAllAvailable()
        emitted = Counter(totals()) - Counter(first)
        assert sorted(emitted.elements()) == [(A, M1, 4, 1, 1, 2, 4)]
        # Batch 3: an event at 11:30 moves Spark's watermark to 11:18 (10 min + 2 min
        # slack); the minutes before it leave the aggregation's state (grouping by a
        # window on the watermarked column is what allows that). Batch 4: an event for
        # 10:59 that claims to have been received at once (so mark_late finds it on time)
        # is behind Spark's watermark and dropped by it -- the case the slack is for.
        seen = Counter(totals())
        _write_json_lines(inbox, "3.json", [event("e14", A, "pageview", "11:30:00", "v7")])
        query.processAllAvailable()
        _write_json_lines(inbox, "4.json", [event("e15", A, "pageview", "10:59:30", "v8")])
        query.processAllAvailable()
        emitted = Counter(totals()) - seen
        assert sorted(emitted.elements()) == [(A, "2024-05-01 11:30", 1, 0, 0, 0, 1)]
        progress = query.lastProgress
        state = {op["operatorName"]: op["numRowsTotal"] for op in progress["stateOperators"]}
        # e14 fans out into totals, pages "/" and sources "(direct)": 3 groups.
        assert state == {"stateStoreSave": 3, "dedupeWithinWatermark": 1}
        dropped = sum(op["numRowsDroppedByWatermark"] for op in progress["stateOperators"])
        assert dropped == 1
    finally:
        query.stop()
