"""Steps every metric starts with: event time as a timestamp, one row per event, bots apart.

The functions work on batch and streaming DataFrames with the enriched-event columns
(``analytics.event_schema.spark_schema``; rows that ``parse_enriched`` flags as malformed
are expected to be filtered out by the job before these run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql.window import Window

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

EVENT_FIELDS = (
    "site_id", "event_id", "kind", "name", "path", "props", "event_time", "received_at",
    "visitor_id", "is_bot", "utm_source", "utm_medium", "utm_campaign", "utm_term",
    "utm_content", "referrer_host", "country", "device_type", "browser", "os", "screen_width",
)
"""The enriched-event fields the metrics read (the batch layer parses only these)."""
EVENT_TS = "event_ts"
MINUTE = "minute"
EVENT_KEY = ("site_id", "event_id")
_MINUTE_MS = 60_000


def with_event_ts(df: DataFrame) -> DataFrame:
    """Add ``event_ts`` (timestamp of ``event_time``, epoch ms) and ``minute`` (``event_ts``
    truncated to its UTC minute).

    Both are computed on epoch milliseconds, so they do not depend on the session time
    zone (``date_trunc`` would truncate in the session zone).
    """
    millis = F.col("event_time")
    return df.withColumns({
        EVENT_TS: F.timestamp_millis(millis),
        MINUTE: F.timestamp_millis(millis - F.pmod(millis, F.lit(_MINUTE_MS))),
    })


def dedup(df: DataFrame, watermark: str | None = None, time_column: str = EVENT_TS,
          copies: str | None = None) -> DataFrame:
    """One row per (site_id, event_id): two events of one site with the same event_id are
    one event (docs/metrics.md, Events and ids). Needs ``event_ts`` (:func:`with_event_ts`).

    Streaming: ``watermark`` (e.g. ``"10 minutes"``) is required; it becomes the stream's
    event-time watermark on ``time_column`` (default ``event_ts``) and bounds how long an
    event id is remembered (``dropDuplicatesWithinWatermark``: the first copy to arrive is
    kept, a copy arriving more than ``watermark`` after it in that time is no longer
    recognised).

    Batch: the copy with the earliest ``event_ts`` is kept (ties broken by ``received_at``
    when the column is there); ``watermark`` is ignored. ``copies`` names a column to add:
    how many records of the event there were (one window, one sort, for both).
    """
    keys = list(EVENT_KEY)
    if df.isStreaming:
        if not watermark:
            raise ValueError("dedup of a streaming DataFrame needs a watermark, "
                             "or the set of seen event ids grows without bound")
        return df.withWatermark(time_column, watermark).dropDuplicatesWithinWatermark(keys)
    order = [F.col(EVENT_TS).asc_nulls_last()]
    if "received_at" in df.columns:
        order.append(F.col("received_at").asc_nulls_last())
    rank = "_dedup_rank"
    window = Window.partitionBy(*keys).orderBy(*order)
    ranked = {rank: F.row_number().over(window)}
    if copies:
        whole = window.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
        ranked[copies] = F.count(F.lit(1)).over(whole)
    return df.withColumns(ranked).where(F.col(rank) == 1).drop(rank)


def is_counted() -> Column:
    """True for events that count in metrics (not from a bot); null ``is_bot`` is neither."""
    return F.col("is_bot") == F.lit(False)


def is_bot() -> Column:
    return F.col("is_bot") == F.lit(True)


def counted(df: DataFrame) -> DataFrame:
    """The rows that metrics count: events not from bots."""
    return df.where(is_counted())


def bot_rows(df: DataFrame) -> DataFrame:
    """Bot events: excluded from every metric, counted apart as ``bot_events``."""
    return df.where(is_bot())
