"""What a recompute writes, from the raw events it read: the batch views of the requested
site-days, shaped like their tables (migration 0005).

Pure ``DataFrame -> DataFrame`` functions around the shared metric transforms
(``analytics.metrics``): nothing here defines a metric, it only joins the site settings
in, keeps the requested days and renames columns to the tables' names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from analytics.metrics.batch_views import (
    BREAKDOWN_COLUMNS,
    LOCAL_DAY,
    SERIES_COLUMNS,
    batch_views,
    with_local_time,
)
from analytics.metrics.events import MINUTE, bot_rows, counted, dedup, with_event_ts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SITE_SCHEMA = "site_id string, timezone string, goals array<string>"
SITE_DAY_SCHEMA = ("site_id string, day date, timezone string, utc_start timestamp, "
                   "utc_end timestamp")
COPIES = "copies"
DAY_COLUMNS = ("site_id", "day", "timezone", "utc_start", "utc_end", "raw_events",
               "duplicates", "bot_events", *SERIES_COLUMNS)
HOURLY_COLUMNS = ("site_id", "day", "hour_start", "local_hour", *SERIES_COLUMNS)
BREAKDOWN_TABLE_COLUMNS = ("site_id", "day", *BREAKDOWN_COLUMNS[2:])
GOAL_COLUMNS = ("site_id", "day", "goal", "conversions", "converting_visitors",
                "converting_sketch", "visitors")
_COUNTS = [c for c in DAY_COLUMNS if c not in ("site_id", "day", "timezone", "utc_start",
                                             "utc_end", "visitors_sketch")]


def unique_events(events: DataFrame, sites: DataFrame) -> DataFrame:
    """Parsed events of the sites -> one row per (site, event id) with ``event_ts``, the
    site's ``timezone`` and ``goals``, and ``copies``: how many records of that event the
    master dataset holds (a client's retries, a replayed batch are copies)."""
    timed = with_event_ts(events).drop(MINUTE).join(F.broadcast(sites), on="site_id")
    return dedup(timed, copies=COPIES)


def _requested(df: DataFrame, site_days: DataFrame) -> DataFrame:
    keys = site_days.select("site_id", F.col("day").alias(LOCAL_DAY))
    return df.join(F.broadcast(keys), on=["site_id", LOCAL_DAY]).withColumnRenamed(
        LOCAL_DAY, "day")


def recompute(unique: DataFrame, site_days: DataFrame, lg_k: int, gap_minutes: int,
              ) -> dict[str, DataFrame]:
    """The tables' rows for the requested site-days (``site_days``, :data:`SITE_DAY_SCHEMA`,
    with the sites' ``timezone``) from :func:`unique_events`' output:

    - ``days``: one row per requested site-day, also for a day without events (zeros), so
      that every requested day gets closed;
    - ``hourly``, ``breakdowns``, ``goals``: the rows of the days that have events;
    - ``sessionized``, ``sessions``: intermediates the caller may cache.
    """
    views = batch_views(counted(unique), bot_rows(unique), lg_k, gap_minutes)
    records = with_local_time(unique).groupBy("site_id", LOCAL_DAY).agg(
        F.sum(COPIES).alias("raw_events"),
        F.sum(F.col(COPIES) - F.lit(1)).alias("duplicates"),
    )
    daily = (_requested(records, site_days)
             .join(_requested(views["bots"], site_days), on=["site_id", "day"], how="full")
             .join(_requested(views["daily"], site_days), on=["site_id", "day"], how="full"))
    days = (site_days.join(daily, on=["site_id", "day"], how="left")
            .fillna(0, subset=_COUNTS).select(*DAY_COLUMNS))
    return {
        "sessionized": views["sessionized"],
        "sessions": views["sessions"],
        "days": days,
        "hourly": _requested(views["hourly"], site_days).select(*HOURLY_COLUMNS),
        "breakdowns": _requested(views["breakdowns"], site_days).select(
            *BREAKDOWN_TABLE_COLUMNS),
        "goals": _requested(views["goals"], site_days).select(*GOAL_COLUMNS),
    }
