"""The speed layer's views: per site and UTC minute (Spark Structured Streaming).

Every view is keyed by a UTC minute. A site's time zone is applied when reading, not
here: every IANA offset (including the :30 and :45 ones, e.g. Asia/Kolkata,
Asia/Kathmandu) is a whole number of minutes from UTC, so UTC minute buckets map exactly
onto any zone's hours and days, DST included, and one set of views serves every zone.

All views come out of ONE aggregation (:func:`minute_views`), so the streaming job keeps one
state store and reads Kafka once for them: each event is fanned out into the rows it
counts in — ``totals``, ``pages`` (by path), ``sources`` (by source) and ``events`` (by
custom event name) — and grouped by (site, minute, view, key). The output is long; the
job splits it by ``view`` into its tables.

Visitors are kept as mergeable DataSketches HLL sketches (``visitors_sketch``, Spark 3.5
``hll_sketch_agg``) next to their estimate for the minute (``visitors``). Visitors over a
range (the last 30 minutes, an hour, a day in the site's zone) come from merging the
minutes' sketches (``hll_union_agg`` in Spark, ``datasketches`` in Python) and estimating
the union; summing per-minute visitors would count a visitor once per minute.

Late events. An event that reaches the pipeline more than the watermark after its event
time (a client that buffered it, or a stream that lagged) must not update a minute that
readers may already treat as final, and must not vanish either. :func:`mark_late` decides
that per event from its own timestamps — deterministic, unlike Spark's global watermark —
and :func:`minute_views` counts such events in a ``late`` view keyed by the minute they
arrived in, with the minute they belong to in ``event_minute``. Spark's own watermark
(:func:`stream_watermark`) is set a little wider, so that it drops nothing that
:func:`mark_late` let through unless the stream's partitions drift minutes apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from analytics.metrics.events import (
    EVENT_TS,
    MINUTE,
    bot_rows,
    counted,
    dedup,
    is_bot,
    is_counted,
    with_event_ts,
)
from analytics.metrics.sources import source_column, source_of

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = [
    "ARRIVED_TS", "DEFAULT_LG_K", "EVENTS", "EVENT_TS", "IS_LATE", "LATE", "PAGES", "SOURCES",
    "TOTALS", "VIEW_TS", "bot_rows", "counted", "dedup", "mark_late", "minute_views",
    "source_of", "speed_layer_views", "stream_watermark", "with_event_ts",
]

DEFAULT_LG_K = 14
"""Default of ``Config.visitor_sketch_lg_k``; sketches merged together must share it."""

TOTALS, PAGES, SOURCES, EVENTS, LATE = "totals", "pages", "sources", "events", "late"
NO_PATH = "/"
NO_NAME = "(not set)"

ARRIVED_TS = "arrived_ts"
"""When the event reached the pipeline: its Kafka timestamp (a spooled event replayed
after a Kafka outage arrives when it is replayed), else the server's receive time."""
IS_LATE = "is_late"
VIEW_TS = "view_ts"
"""The time the views group an event by: ``event_ts``, or ``arrived_ts`` for late events."""
VISITORS_SKETCH = "visitors_sketch"
VISITORS = "visitors"
WATERMARK_SLACK_MS = 2 * 60_000
_WINDOW = "_minute_window"
_DIM = "_dim"


def mark_late(df: DataFrame, late_after_ms: int) -> DataFrame:
    """Add ``arrived_ts``, ``is_late`` (arrived more than ``late_after_ms`` after its event
    time) and ``view_ts``. Needs ``event_ts`` (:func:`with_event_ts`)."""
    received = F.timestamp_millis(F.col("received_at"))
    arrived = (F.coalesce(F.col("kafka_timestamp"), received)
               if "kafka_timestamp" in df.columns else received)
    late = (F.unix_millis(F.col(ARRIVED_TS)) - F.unix_millis(F.col(EVENT_TS))
            > F.lit(late_after_ms))
    return (df.withColumn(ARRIVED_TS, arrived)
              .withColumn(IS_LATE, late)
              .withColumn(VIEW_TS, F.when(F.col(IS_LATE), F.col(ARRIVED_TS))
                          .otherwise(F.col(EVENT_TS))))


def stream_watermark(late_after_ms: int) -> str:
    """Spark's watermark delay on ``view_ts`` for a lateness limit of ``late_after_ms``."""
    return f"{late_after_ms + WATERMARK_SLACK_MS} milliseconds"


def _kind(kind: str) -> Column:
    return F.col("kind") == F.lit(kind)


def _dim(view: str, key: Column | str) -> Column:
    key_column = key if not isinstance(key, str) else F.lit(key)
    return F.struct(F.lit(view).alias("view"), key_column.alias("key"))


def minute_views(df: DataFrame, lg_k: int = DEFAULT_LG_K) -> DataFrame:
    """Every speed-layer view in one aggregation, long format.

    Input: deduplicated events with ``event_ts``, ``minute`` and the :func:`mark_late`
    columns. Output, one row per (site_id, minute, view, key, event_minute):

    - ``totals`` (key ""): ``pageviews``, ``custom_events``, ``engagements`` (counted events
      of each kind), ``bot_events`` (bot events of every kind) and visitors over counted
      events of every kind;
    - ``pages`` (key: path), ``sources`` (key: source, :mod:`analytics.metrics.sources`):
      counted pageviews and their visitors;
    - ``events`` (key: custom event name): counted custom events (``custom_events``) and
      their visitors;
    - ``late`` (key ""): late events by the minute they arrived in (``minute``) and the
      minute they belong to (``event_minute``); counts only, no visitors.

    ``minute`` is the start of the UTC minute; ``event_minute`` equals it except in
    ``late``. Measures that do not apply to a view are 0 there.
    """
    on_time = ~F.col(IS_LATE)
    counted_on_time = is_counted() & on_time
    pageview = counted_on_time & _kind("pageview")
    dims = F.filter(F.array(
        F.when(on_time, _dim(TOTALS, "")),
        F.when(pageview, _dim(PAGES, F.coalesce(F.col("path"), F.lit(NO_PATH)))),
        F.when(pageview, _dim(SOURCES, source_column())),
        F.when(counted_on_time & _kind("custom"),
               _dim(EVENTS, F.coalesce(F.col("name"), F.lit(NO_NAME)))),
        F.when(~on_time, _dim(LATE, "")),
    ), lambda d: d.isNotNull())
    fanned = df.select("site_id", VIEW_TS, MINUTE, "kind", "is_bot", "visitor_id", IS_LATE,
                       F.explode(dims).alias(_DIM))
    window = F.window(VIEW_TS, "1 minute").alias(_WINDOW)
    aggregated = fanned.groupBy(
        "site_id", window, F.col(f"{_DIM}.view").alias("view"),
        F.col(f"{_DIM}.key").alias("key"), F.col(MINUTE).alias("event_minute"),
    ).agg(
        F.count_if(is_counted() & _kind("pageview")).alias("pageviews"),
        F.count_if(is_counted() & _kind("custom")).alias("custom_events"),
        F.count_if(is_counted() & _kind("engagement")).alias("engagements"),
        F.count_if(is_bot()).alias("bot_events"),
        F.hll_sketch_agg(F.when(counted_on_time, F.col("visitor_id")), lg_k)
         .alias(VISITORS_SKETCH),
    )
    return aggregated.select(
        "site_id", F.col(f"{_WINDOW}.start").alias(MINUTE), "view", "key", "event_minute",
        "pageviews", "custom_events", "engagements", "bot_events", VISITORS_SKETCH,
        F.hll_sketch_estimate(VISITORS_SKETCH).alias(VISITORS),
    )


VIEW_INPUT_COLUMNS = ("site_id", "event_id", "kind", "name", "path", "utm_source",
                      "referrer_host", "visitor_id", "is_bot", "event_time", "received_at")
"""The event fields the views use; the rest are dropped before the shuffle of the dedup."""


def speed_layer_views(events: DataFrame, late_after_ms: int, lg_k: int = DEFAULT_LG_K,
                      ) -> DataFrame:
    """Parsed, valid events -> :func:`minute_views`: the fields the views use, event time,
    lateness, dedup (with the stream watermark when ``events`` is streaming), then the one
    aggregation."""
    columns = [*VIEW_INPUT_COLUMNS, *(["kafka_timestamp"] if "kafka_timestamp" in events.columns
                                      else [])]
    timed = mark_late(with_event_ts(events.select(*columns)), late_after_ms)
    unique = dedup(timed, stream_watermark(late_after_ms), time_column=VIEW_TS)
    return minute_views(unique, lg_k)

