"""Rows for the speed layer's Cassandra tables (migrations 0001 and 0003), as pure
``DataFrame -> DataFrame`` functions. The metric logic itself is in
:mod:`analytics.metrics.realtime`; this module only lays its output out by table.

Dates and hours are UTC: the job's session time zone is UTC (``spark_conf``), and the
epoch arithmetic below does not depend on it anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from analytics.metrics.realtime import EVENTS, LATE, PAGES, SOURCES, TOTALS
from analytics.spark_session import RAW_JSON

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

RAW_EVENTS = "raw_events"
MALFORMED_EVENTS = "malformed_events"
REALTIME_TABLES = {
    TOTALS: "realtime_totals",
    PAGES: "realtime_pages",
    SOURCES: "realtime_sources",
    EVENTS: "realtime_events",
    LATE: "realtime_late",
}
_HOUR_S = 3600


def utc_hour(timestamp: Column) -> Column:
    seconds = F.unix_seconds(timestamp)
    return F.timestamp_seconds(seconds - F.pmod(seconds, F.lit(_HOUR_S)))


def utc_day(timestamp: Column) -> Column:
    return F.to_date(F.timestamp_seconds(F.unix_seconds(timestamp)))


def raw_event_rows(events: DataFrame) -> DataFrame:
    """Parsed, well-formed events -> ``raw_events``: partition (site, UTC hour of the event
    time), the event as the write service published it in ``payload``."""
    event_time = F.timestamp_millis(F.col("event_time"))
    return events.select(
        "site_id", utc_hour(event_time).alias("hour"), event_time.alias("event_time"),
        "event_id", "kind", F.col(RAW_JSON).alias("payload"))


def malformed_rows(records: DataFrame) -> DataFrame:
    """Records flagged ``malformed`` -> ``malformed_events`` (by the UTC day of their Kafka
    timestamp, keyed by their Kafka coordinates so a replay rewrites the same row)."""
    return records.select(
        utc_day(F.col("kafka_timestamp")).alias("day"), "kafka_topic", "kafka_partition",
        "kafka_offset", "kafka_timestamp", RAW_JSON)


def realtime_rows(views: DataFrame) -> dict[str, DataFrame]:
    """:func:`~analytics.metrics.realtime.minute_views` output -> rows of each table."""
    def of(view: str) -> DataFrame:
        return views.where(F.col("view") == F.lit(view))

    minute = F.col("minute")
    by_hour = ["site_id", utc_hour(minute).alias("hour"), "minute"]
    sketch = ["visitors", "visitors_sketch"]
    return {
        REALTIME_TABLES[TOTALS]: of(TOTALS).select(
            "site_id", utc_day(minute).alias("day"), "minute", "pageviews", "custom_events",
            "engagements", "bot_events", *sketch),
        REALTIME_TABLES[PAGES]: of(PAGES).select(
            *by_hour, F.col("key").alias("path"), "pageviews", *sketch),
        REALTIME_TABLES[SOURCES]: of(SOURCES).select(
            *by_hour, F.col("key").alias("source"), "pageviews", *sketch),
        REALTIME_TABLES[EVENTS]: of(EVENTS).select(
            *by_hour, F.col("key").alias("name"), F.col("custom_events").alias("events"),
            *sketch),
        REALTIME_TABLES[LATE]: of(LATE).select(
            "site_id", utc_day(F.col("event_minute")).alias("day"), "event_minute",
            minute.alias("arrived_minute"), "pageviews", "custom_events", "engagements",
            "bot_events"),
    }
