"""The batch layer's views: per site and LOCAL day (and hour) in the site's time zone.

Pure transforms; the nightly job reads, parses, dedups, splits off the bot rows, adds the
columns ``timezone`` (the site's IANA zone; null means UTC) and ``goals`` (array<string> of
custom event names and page paths), and writes what comes out, keyed as documented below.
:func:`batch_views` chains everything; the parts are public for tests and reuse.

The job should read a margin of events around the period (sessions are only whole when all
their events are there) and keep only output rows whose ``local_day`` lies in the period.

Time (docs/metrics.md, Time). :func:`with_local_time` derives everything from the event's UTC
instant and the row's zone, never from the Spark session's zone:

- ``local_ts`` timestamp: Spark's ``from_utc_timestamp`` convention, a timestamp whose UTC
  rendering is the site's wall-clock time (not an instant);
- ``local_day`` date: the site-local calendar day;
- ``local_hour`` timestamp, same convention as ``local_ts``: the wall-clock start of the
  local hour (a label: on a day when clocks go back, two hours have the same label);
- ``hour_start`` timestamp, a real instant: when that local hour began.

Hourly views are keyed by ``hour_start``, so every event lands in exactly one bucket and
the two 01:00 hours of America/New_York's 2024-11-03 stay apart (``hour_start`` 05:00Z
for 01:00 EDT and 06:00Z for 01:00 EST, both labelled ``local_hour`` 01:00); that day has 25
hourly rows at most and 2024-03-10 has 23 (no 02:00). Quarter- and half-hour zones
(Asia/Kathmandu +05:45, Asia/Kolkata +05:30) get local hours that start at :15 / :30 UTC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from analytics.metrics.events import EVENT_TS
from analytics.metrics.realtime import DEFAULT_LG_K, NO_NAME, NO_PATH
from analytics.metrics.sessions import (
    DEFAULT_GAP_MINUTES,
    SESSION_ID,
    SESSION_START,
    sessionize,
)
from analytics.metrics.sessions import sessions as sessions_of

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

LOCAL_TS, LOCAL_DAY, LOCAL_HOUR, HOUR_START = "local_ts", "local_day", "local_hour", "hour_start"
NOT_SET = NO_NAME
"""The value of a breakdown row whose dimension is null (e.g. no campaign, unknown os)."""
SESSION_DIMENSIONS = {
    "entry_page": "entry_page", "exit_page": "exit_page", "source": "source",
    "medium": "medium", "campaign": "campaign", "channel": "channel",
    "referrer": "referrer_host", "country": "country", "device": "device_type",
    "browser": "browser", "os": "os", "screen_size": "screen_size",
}
"""Breakdown dimension -> the :func:`analytics.metrics.sessions.sessions` column it reads."""
EVENT_DIMENSIONS = ("page", "event", "prop:<key>")
PROP_PREFIX = "prop:"
SERIES_COLUMNS = ("visitors", "visitors_sketch", "pageviews", "custom_events", "sessions",
                  "engaged_sessions", "bounces", "total_duration_s", "session_pageviews")
BREAKDOWN_COLUMNS = ("site_id", LOCAL_DAY, "dimension", "value", "visitors", "visitors_sketch",
                     "pageviews", "events", "sessions", "bounces", "total_duration_s")
_HOUR_MS, _DAY_MS = 3_600_000, 86_400_000
_SITE_DAY = ["site_id", LOCAL_DAY]
_DIMS_TYPE = "array<struct<dimension:string,value:string>>"


def with_local_time(df: DataFrame, tz_column: str = "timezone",
                    ts_column: str = EVENT_TS) -> DataFrame:
    """Add ``local_ts``, ``local_day``, ``local_hour`` and ``hour_start`` (module
    docstring) for the instant in ``ts_column`` in the zone in ``tz_column`` (a null zone,
    or no such column: UTC)."""
    zone = (F.coalesce(F.col(tz_column), F.lit("UTC")) if tz_column in df.columns
            else F.lit("UTC"))
    local_ms = F.unix_millis(F.from_utc_timestamp(F.col(ts_column), zone))
    into_hour = F.pmod(local_ms, F.lit(_HOUR_MS))
    return df.withColumns({
        LOCAL_TS: F.timestamp_millis(local_ms),
        LOCAL_DAY: F.date_from_unix_date(F.floor(local_ms / F.lit(_DAY_MS)).cast("int")),
        LOCAL_HOUR: F.timestamp_millis(local_ms - into_hour),
        HOUR_START: F.timestamp_millis(F.unix_millis(F.col(ts_column)) - into_hour),
    })


def _kind(kind: str) -> Column:
    return F.col("kind") == F.lit(kind)


def _duration_ms() -> Column:
    return F.unix_millis(F.col("session_end")) - F.unix_millis(F.col(SESSION_START))


def _by_visitor(df: DataFrame, keys: list[str], lg_k: int, sums: dict[str, Column],
                *, sketch: str = "visitors_sketch", visitors: str = "visitors") -> DataFrame:
    """Group ``df`` by ``keys``: ``visitors`` (exact distinct ``visitor_id``), ``sketch``
    (their HLL sketch) and the sum of each expression in ``sums``.

    Two plain aggregations: per key and visitor first, then per key, so each output group
    builds one sketch (``count_distinct`` next to ``hll_sketch_agg`` would make Spark
    build a sketch per key and visitor, millions of them, and merge them)."""
    per_visitor = df.groupBy(*keys, "visitor_id").agg(
        *[expr.alias(name) for name, expr in sums.items()])
    return per_visitor.groupBy(*keys).agg(
        F.count(F.lit(1)).alias(visitors),
        F.hll_sketch_agg("visitor_id", lg_k).alias(sketch),
        *[F.sum(name).alias(name) for name in sums])


def _series(events: DataFrame, sessions: DataFrame, keys: list[str], lg_k: int) -> DataFrame:
    by_event = _by_visitor(with_local_time(events), keys, lg_k, {
        "pageviews": F.count_if(_kind("pageview")),
        "custom_events": F.count_if(_kind("custom")),
    })
    by_session = with_local_time(sessions, ts_column=SESSION_START).groupBy(*keys).agg(
        F.count("*").alias("sessions"),
        F.count_if("is_engaged").alias("engaged_sessions"),
        F.count_if("is_bounce").alias("bounces"),
        (F.sum(_duration_ms()) / F.lit(1000.0)).alias("total_duration_s"),
        F.sum("pageviews").alias("session_pageviews"),
    )
    counts = [c for c in SERIES_COLUMNS if c != "visitors_sketch"]
    joined = by_event.join(by_session, on=keys, how="full")
    return joined.fillna(0, subset=counts).select(*keys, *SERIES_COLUMNS)


def daily_series(events: DataFrame, sessions: DataFrame, lg_k: int = DEFAULT_LG_K,
                 ) -> DataFrame:
    """Per (site_id, local_day): ``visitors`` (long, exact distinct visitor_id with a
    counted event of any kind that day), ``visitors_sketch`` (binary, DataSketches HLL of
    the same ids, ``lg_k``), ``pageviews``, ``custom_events`` (long, events of that day),
    and over the sessions whose FIRST event is that day: ``sessions``,
    ``engaged_sessions``, ``bounces`` (long), ``total_duration_s`` (double, seconds),
    ``session_pageviews`` (long, all pageviews of those sessions, for views per session).

    ``events``: :func:`sessionize`'s output (or any counted events) with ``timezone``;
    ``sessions``: :func:`analytics.metrics.sessions.sessions` with ``timezone``. Derived:
    bounce rate = bounces / sessions = 1 - engaged_sessions / sessions; average duration =
    total_duration_s / sessions; views per session = session_pageviews / sessions.
    """
    return _series(events, sessions, _SITE_DAY, lg_k)


def hourly_series(events: DataFrame, sessions: DataFrame, lg_k: int = DEFAULT_LG_K,
                  ) -> DataFrame:
    """As :func:`daily_series` per (site_id, local_day, hour_start, local_hour): the hour's
    key is ``hour_start`` (instant), ``local_hour`` is its wall-clock label."""
    return _series(events, sessions, [*_SITE_DAY, HOUR_START, LOCAL_HOUR], lg_k)


def _dim(name: Column | str, value: Column) -> Column:
    label = F.lit(name) if isinstance(name, str) else name
    return F.struct(label.alias("dimension"), F.coalesce(value, F.lit(NOT_SET)).alias("value"))


def _explode_dims(df: DataFrame, dims: Column, keep: list[str]) -> DataFrame:
    picked = df.select(*keep, F.explode(F.filter(dims, lambda d: d.isNotNull())).alias("_d"))
    return picked.select(*keep, "_d.dimension", "_d.value")


def _session_breakdowns(events: DataFrame, sessions: DataFrame, lg_k: int) -> DataFrame:
    session_key = ["site_id", "visitor_id", SESSION_ID]
    per_day = with_local_time(events).groupBy(*session_key, LOCAL_DAY).agg(
        F.count_if(_kind("pageview")).alias("pageviews"),
        F.count_if(_kind("custom")).alias("events"),
    )
    started = with_local_time(sessions, ts_column=SESSION_START).select(
        *session_key, F.col(LOCAL_DAY).alias("_start_day"), "is_bounce",
        _duration_ms().alias("_duration_ms"), *SESSION_DIMENSIONS.values())
    joined = per_day.join(started, on=session_key).withColumn(
        "_starts", F.col(LOCAL_DAY) == F.col("_start_day"))
    dims = F.array(*[_dim(name, F.col(column)) for name, column in SESSION_DIMENSIONS.items()])
    keep = [*_SITE_DAY, "visitor_id", "pageviews", "events", "_starts", "is_bounce",
            "_duration_ms"]
    starts = F.col("_starts")
    grouped = _by_visitor(_explode_dims(joined, dims, keep), [*_SITE_DAY, "dimension", "value"],
                          lg_k, {
        "pageviews": F.sum("pageviews"),
        "events": F.sum("events"),
        "sessions": F.count_if(starts),
        "bounces": F.count_if(starts & F.col("is_bounce")),
        "_duration_ms": F.coalesce(F.sum(F.when(starts, F.col("_duration_ms"))), F.lit(0)),
    })
    return grouped.withColumn("total_duration_s",
                              F.col("_duration_ms") / F.lit(1000.0)).drop("_duration_ms")


def _event_breakdowns(events: DataFrame, lg_k: int) -> DataFrame:
    pageview, custom = _kind("pageview"), _kind("custom")
    props = F.transform(F.map_entries(F.coalesce(F.col("props"), F.create_map())),
                        lambda e: _dim(F.concat(F.lit(PROP_PREFIX), e["key"]), e["value"]))
    dims = F.concat(
        F.array(F.when(pageview, _dim("page", F.coalesce(F.col("path"), F.lit(NO_PATH)))),
                F.when(custom, _dim("event", F.col("name")))),
        F.when(custom, props).otherwise(F.array().cast(_DIMS_TYPE)),
    )
    keep = [*_SITE_DAY, "visitor_id", "kind"]
    grouped = _by_visitor(_explode_dims(with_local_time(events), dims, keep),
                          [*_SITE_DAY, "dimension", "value"], lg_k, {
        "pageviews": F.count_if(pageview),
        "events": F.count_if(custom),
    })
    return grouped.withColumns({
        "sessions": F.lit(None).cast("long"),
        "bounces": F.lit(None).cast("long"),
        "total_duration_s": F.lit(None).cast("double"),
    })


def daily_breakdowns(events: DataFrame, sessions: DataFrame, lg_k: int = DEFAULT_LG_K,
                     ) -> DataFrame:
    """Per (site_id, local_day, dimension, value), long format; columns
    :data:`BREAKDOWN_COLUMNS`: ``visitors`` (long, exact within the day),
    ``visitors_sketch`` (binary), ``pageviews``, ``events`` (long, custom events),
    ``sessions``, ``bounces`` (long), ``total_duration_s`` (double). A null dimension value
    is reported as ``(not set)``.

    Session dimensions (:data:`SESSION_DIMENSIONS`: entry_page, exit_page, source, medium,
    campaign, channel, referrer, country, device, browser, os, screen_size) are the
    session's own (from its first event), and every event of the session is counted under
    them: visitors, pageviews and events of the day's events in sessions with that value;
    sessions, bounces and total_duration_s over sessions whose first event is that day.

    Event dimensions: ``page`` (path of pageviews; null path "/"), ``event`` (name of
    custom events), ``prop:<key>`` (value of each property of custom events): visitors,
    pageviews (page) or events (event, prop:*) of the matching events; their
    ``sessions``, ``bounces`` and ``total_duration_s`` are NULL (not applicable).
    """
    both = _session_breakdowns(events, sessions, lg_k).unionByName(
        _event_breakdowns(events, lg_k))
    return both.select(*BREAKDOWN_COLUMNS)


def daily_goals(events: DataFrame, goals_column: str = "goals",
                lg_k: int = DEFAULT_LG_K) -> DataFrame:
    """Per (site_id, local_day, goal) for every goal of the site on every day it has
    events: ``conversions`` (long: custom events whose name is the goal plus pageviews
    whose path is the goal), ``converting_visitors`` (long, exact) and
    ``converting_sketch`` (HLL, null without conversions; for ranges of days),
    ``visitors`` (long, the day's visitors, for conversion rate = converting_visitors /
    visitors)."""
    timed = with_local_time(events)
    page = F.coalesce(F.col("path"), F.lit(NO_PATH))
    goals = F.col(goals_column)
    goal = (F.when(_kind("custom") & F.array_contains(goals, F.col("name")), F.col("name"))
             .when(_kind("pageview") & F.array_contains(goals, page), page))
    converted = _by_visitor(timed.where(goal.isNotNull()).withColumn("goal", goal),
                            [*_SITE_DAY, "goal"], lg_k, {"conversions": F.count(F.lit(1))},
                            sketch="converting_sketch", visitors="converting_visitors")
    per_visitor = timed.groupBy(*_SITE_DAY, "visitor_id").agg(
        F.max(goals_column).alias(goals_column))
    days = per_visitor.groupBy(*_SITE_DAY).agg(
        F.count(F.lit(1)).alias("visitors"),
        F.array_distinct(F.max(goals_column)).alias("_goals"))
    every_goal = days.select(*_SITE_DAY, "visitors", F.explode("_goals").alias("goal"))
    return (every_goal.join(converted, on=[*_SITE_DAY, "goal"], how="left")
            .fillna(0, subset=["conversions", "converting_visitors"])
            .select(*_SITE_DAY, "goal", "conversions", "converting_visitors",
                    "converting_sketch", "visitors"))


def daily_bot_events(bots: DataFrame) -> DataFrame:
    """Per (site_id, local_day): ``bot_events`` (long), from
    :func:`analytics.metrics.events.bot_rows` with ``event_ts`` and ``timezone``."""
    return with_local_time(bots).groupBy(*_SITE_DAY).agg(F.count("*").alias("bot_events"))


def batch_views(counted_events: DataFrame, bots: DataFrame, lg_k: int = DEFAULT_LG_K,
                gap_minutes: int = DEFAULT_GAP_MINUTES) -> dict[str, DataFrame]:
    """Every batch view from the deduplicated counted events and the bot rows (both with
    ``event_ts``, ``timezone``; the counted ones with ``goals``): ``sessions``, ``daily``,
    ``hourly``, ``breakdowns``, ``goals``, ``bots``. The job may cache ``sessionized``
    and ``sessions`` (returned too) as each is read by several views."""
    sessionized = sessionize(counted_events, gap_minutes)
    sessions = sessions_of(sessionized)
    return {
        "sessionized": sessionized,
        "sessions": sessions,
        "daily": daily_series(sessionized, sessions, lg_k),
        "hourly": hourly_series(sessionized, sessions, lg_k),
        "breakdowns": daily_breakdowns(sessionized, sessions, lg_k),
        "goals": daily_goals(sessionized, lg_k=lg_k),
        "bots": daily_bot_events(bots),
    }
