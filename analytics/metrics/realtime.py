"""The speed layer's views: per site and UTC minute (Spark Structured Streaming).

Every view is keyed by ``minute``, the start of a UTC minute. A site's time zone is applied
when reading, not here: every IANA offset (including the :30 and :45 ones, e.g.
Asia/Kolkata, Asia/Kathmandu) is a whole number of minutes from UTC, so UTC minute buckets
map exactly onto any zone's hours and days, DST included, and one set of views serves
every zone.

Visitors are kept as mergeable DataSketches HLL sketches (``visitors_sketch``, Spark 3.5
``hll_sketch_agg``) next to their estimate for the minute (``visitors``). Visitors over a
range (the last 30 minutes, an hour, a day in the site's zone) come from merging the
minutes' sketches with ``hll_union_agg`` and estimating the union; summing per-minute
visitors would count a visitor once per minute. With ``lg_k`` 14 the relative standard
error is about 0.8 %; at small cardinalities the estimate is exact.

Each view is ONE aggregation with conditional counts, so it runs as a single streaming
aggregation (``outputMode("update")``) after :func:`~analytics.metrics.events.dedup`.
Minutes are grouped with a one-minute tumbling ``window`` on ``event_ts`` (the watermarked
column), which is what lets Spark drop a minute's state once the watermark has passed it;
the window start equals ``minute`` from :func:`~analytics.metrics.events.with_event_ts`.
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
from analytics.metrics.sources import SOURCE, source_of

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = [
    "DEFAULT_LG_K", "bot_rows", "counted", "dedup", "minute_custom_events", "minute_pages",
    "minute_sources", "minute_totals", "source_of", "with_event_ts",
]

DEFAULT_LG_K = 14
"""Default of ``Config.visitor_sketch_lg_k``; sketches merged together must share it."""
VISITORS_SKETCH = "visitors_sketch"
VISITORS = "visitors"
_WINDOW = "_minute_window"


def _kind(kind: str) -> Column:
    return F.col("kind") == F.lit(kind)


def _per_minute(df: DataFrame, keys: list[str], measures: list[Column]) -> DataFrame:
    """Group by site, UTC minute and ``keys``; ``visitors`` estimated from the sketch."""
    window = F.window(EVENT_TS, "1 minute").alias(_WINDOW)
    aggregated = df.groupBy("site_id", window, *keys).agg(*measures)
    measure_names = aggregated.columns[2 + len(keys):]
    return aggregated.select(
        "site_id",
        F.col(f"{_WINDOW}.start").alias(MINUTE),
        *keys,
        *measure_names,
        F.hll_sketch_estimate(VISITORS_SKETCH).alias(VISITORS),
    )


def _visitors_sketch(visitor_id: Column, lg_k: int) -> Column:
    """HLL sketch of the distinct visitor ids; nulls are skipped (a group with none gives
    an empty sketch, estimate 0)."""
    return F.hll_sketch_agg(visitor_id, lg_k).alias(VISITORS_SKETCH)


def minute_totals(df: DataFrame, lg_k: int = DEFAULT_LG_K) -> DataFrame:
    """Per (site_id, minute): ``pageviews``, ``custom_events``, ``engagements`` (counted
    events of each kind), ``bot_events`` (bot events of every kind), ``visitors_sketch``
    (HLL of visitor_id over counted events of every kind) and ``visitors`` (its estimate).

    Input: deduplicated events with ``event_ts``. Bot rows stay in the input so that one
    aggregation yields both the counted measures and ``bot_events``.
    """
    measures = [
        F.count_if(is_counted() & _kind("pageview")).alias("pageviews"),
        F.count_if(is_counted() & _kind("custom")).alias("custom_events"),
        F.count_if(is_counted() & _kind("engagement")).alias("engagements"),
        F.count_if(is_bot()).alias("bot_events"),
        _visitors_sketch(F.when(is_counted(), F.col("visitor_id")), lg_k),
    ]
    return _per_minute(df, [], measures)


def minute_pages(df: DataFrame, lg_k: int = DEFAULT_LG_K) -> DataFrame:
    """Per (site_id, minute, path) over counted pageviews: ``pageviews``,
    ``visitors_sketch``, ``visitors``."""
    pageviews = counted(df).where(_kind("pageview"))
    measures = [F.count(F.lit(1)).alias("pageviews"), _visitors_sketch(F.col("visitor_id"), lg_k)]
    return _per_minute(pageviews, ["path"], measures)


def minute_sources(df: DataFrame, lg_k: int = DEFAULT_LG_K) -> DataFrame:
    """Per (site_id, minute, source) over counted pageviews: ``pageviews``,
    ``visitors_sketch``, ``visitors``. ``source`` is added by
    :func:`~analytics.metrics.sources.source_of` unless the input already has it."""
    if SOURCE not in df.columns:
        df = source_of(df)
    pageviews = counted(df).where(_kind("pageview"))
    measures = [F.count(F.lit(1)).alias("pageviews"), _visitors_sketch(F.col("visitor_id"), lg_k)]
    return _per_minute(pageviews, [SOURCE], measures)


def minute_custom_events(df: DataFrame, lg_k: int = DEFAULT_LG_K) -> DataFrame:
    """Per (site_id, minute, name) over counted custom events: ``events``,
    ``visitors_sketch``, ``visitors``."""
    events = counted(df).where(_kind("custom"))
    measures = [F.count(F.lit(1)).alias("events"), _visitors_sketch(F.col("visitor_id"), lg_k)]
    return _per_minute(events, ["name"], measures)
