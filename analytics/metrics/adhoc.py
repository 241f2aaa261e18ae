"""Ad-hoc questions over a range of site-local days (docs/metrics.md terms): a breakdown by
any dimension with filters, and a funnel of 2 or 3 steps. Pure ``DataFrame ->
DataFrame`` functions; ``batch/adhoc.py`` reads the raw events and runs them.

Input, as the batch layer makes it (``batch.views.unique_events`` then
``analytics.metrics.events.counted``): deduplicated events without bots, with
``event_ts``, ``timezone`` and ``goals``, read with a margin around the range so every
session is whole; ``events`` = :func:`analytics.metrics.sessions.sessionize` of them,
``sessions`` = :func:`analytics.metrics.sessions.sessions` of that.

Dimensions are those of the views. Session dimensions
(:data:`analytics.metrics.batch_views.SESSION_DIMENSIONS`: entry_page, exit_page, source,
medium, campaign, channel, referrer, country, device, browser, os, screen_size) are the
event's session's own value, from its first event, even when that event lies before the
range; a null value reads ``(not set)``. Event dimensions have a value only on some
events: ``page`` (pageviews: the path, null path ``/``), ``event`` (custom events: the
name), ``prop:<key>`` (custom events with that property: its value) and ``goal`` (the
goal the event is: a custom event whose name, or a pageview whose path, the site lists
as a goal). Filters compare these values the way :class:`api.read.query.Filter` does:
``is`` / ``contains`` (case-insensitive) never match an event that has no value for an
event dimension, ``is_not`` always does.

Breakdown: the events whose local day lies in [start, end], that pass every filter and
have a value for the dimension, grouped by that value: ``visitors`` (exact distinct
visitor ids), ``pageviews``, ``events`` (custom events), ``sessions`` (distinct sessions
with such an event, wherever they started), ``bounce_rate`` (bounces / sessions, over
those sessions, 4 decimals) and ``visit_duration`` (their mean duration in seconds, 1
decimal); ordered by visitors (most first), then value.

Funnel: the sessions whose first event lies in [start, end] (a session belongs to the day
it starts on), with all their events. A session reaches step 1 with a matching event
(``page``: a pageview of that path; ``event``: a custom event of that name), step 2 with
a matching event later in the session than that one, step 3 likewise after step 2 (the
earliest match each time, which finds a path whenever one exists). Per step: ``sessions``
that reached it, ``visitors`` with such a session, and conversion (on sessions) from the
previous step and from step 1 (4 decimals; 1.0 for step 1; null when nobody reached the
previous step).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql.window import Window

from analytics.metrics.batch_views import (
    LOCAL_DAY,
    NOT_SET,
    PROP_PREFIX,
    SESSION_DIMENSIONS,
    with_local_time,
)
from analytics.metrics.realtime import NO_PATH
from analytics.metrics.sessions import SESSION_ID, SESSION_START, event_order

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

BREAKDOWN_METRICS = ("visitors", "pageviews", "events", "sessions", "bounce_rate",
                     "visit_duration")
FUNNEL_COLUMNS = ("step", "type", "value", "visitors", "sessions", "conversion_from_previous",
                  "conversion_from_first")
FilterSpec = tuple[str, str, Sequence[str]]
"""(dimension, op, values): op is is | is_not | contains."""
StepSpec = tuple[str, str]
"""(type, value): type is page | event."""

_SESSION_KEY = ["site_id", "visitor_id", SESSION_ID]
_EVENT_COLUMNS = [*_SESSION_KEY, "event_ts", "timezone", "goals", "kind", "path", "name",
                  "props"]
_SESSION_COLUMNS = sorted(set(SESSION_DIMENSIONS.values())) + ["is_bounce", "duration_s"]


def _kind(kind: str) -> Column:
    return F.col("kind") == F.lit(kind)


def _page() -> Column:
    return F.coalesce(F.col("path"), F.lit(NO_PATH))


def dimension_value(dimension: str) -> Column:
    """The value of ``dimension`` for an event of :func:`with_sessions` (module
    docstring); null where an event dimension does not apply."""
    if dimension in SESSION_DIMENSIONS:
        return F.coalesce(F.col(SESSION_DIMENSIONS[dimension]), F.lit(NOT_SET))
    if dimension == "page":
        return F.when(_kind("pageview"), _page())
    if dimension == "event":
        return F.when(_kind("custom"), F.coalesce(F.col("name"), F.lit(NOT_SET)))
    if dimension == "goal":
        goals = F.coalesce(F.col("goals"), F.array().cast("array<string>"))
        return (F.when(_kind("custom") & F.array_contains(goals, F.col("name")), F.col("name"))
                .when(_kind("pageview") & F.array_contains(goals, _page()), _page()))
    if dimension.startswith(PROP_PREFIX):
        key = dimension[len(PROP_PREFIX):]
        return F.when(_kind("custom"), F.col("props").getItem(key))
    raise ValueError(f"unknown dimension {dimension!r}")


def filter_condition(dimension: str, op: str, values: Sequence[str]) -> Column:
    """True for the events whose ``dimension`` passes the filter (never null)."""
    value = dimension_value(dimension)
    if op == "is":
        hit = value.isin(list(values))
    elif op == "contains":
        hit = F.lit(False)
        for text in values:
            hit = hit | F.lower(value).contains(F.lit(text.lower()))
    elif op == "is_not":
        return ~F.coalesce(value.isin(list(values)), F.lit(False))
    else:
        raise ValueError(f"unknown filter op {op!r}")
    return F.coalesce(hit, F.lit(False))


def in_days(df: DataFrame, start: date, end: date, ts_column: str = "event_ts") -> DataFrame:
    """The rows whose ``ts_column`` falls on a local day (zone: ``timezone``) from
    ``start`` to ``end``, both included."""
    local = with_local_time(df, ts_column=ts_column)
    return local.where(F.col(LOCAL_DAY).between(F.lit(start), F.lit(end))).select(*df.columns)


def with_sessions(events: DataFrame, sessions: DataFrame) -> DataFrame:
    """The event fields a question needs, with their session's dimensions, ``is_bounce``
    and ``duration_s`` (the session's columns win where names clash)."""
    return events.select(*_EVENT_COLUMNS).join(
        sessions.select(*_SESSION_KEY, *_SESSION_COLUMNS), on=_SESSION_KEY)


def breakdown(events: DataFrame, sessions: DataFrame, dimension: str, start: date, end: date,
              *, filters: Sequence[FilterSpec] = ()) -> DataFrame:
    """Columns ``value`` and :data:`BREAKDOWN_METRICS`, one row per value, ordered by
    visitors (desc) then value (module docstring)."""
    matched = in_days(with_sessions(events, sessions), start, end)
    for name, op, values in filters:
        matched = matched.where(filter_condition(name, op, values))
    matched = matched.withColumn("value", dimension_value(dimension)).where(
        F.col("value").isNotNull())
    per_session = matched.groupBy("value", *_SESSION_KEY, "is_bounce", "duration_s").agg(
        F.count_if(_kind("pageview")).alias("pageviews"),
        F.count_if(_kind("custom")).alias("events"))
    grouped = per_session.groupBy("value").agg(
        F.count_distinct("visitor_id").alias("visitors"),
        F.sum("pageviews").alias("pageviews"),
        F.sum("events").alias("events"),
        F.count("*").alias("sessions"),
        F.round(F.avg(F.col("is_bounce").cast("double")), 4).alias("bounce_rate"),
        F.round(F.avg("duration_s"), 1).alias("visit_duration"))
    return grouped.orderBy(F.col("visitors").desc(), F.col("value").asc()).select(
        "value", *BREAKDOWN_METRICS)


def sessions_in_days(sessions: DataFrame, start: date, end: date) -> DataFrame:
    """The sessions whose first event falls on a local day from ``start`` to ``end``."""
    return in_days(sessions, start, end, ts_column=SESSION_START)


def _step_matches(step_type: str, value: str) -> Column:
    if step_type == "page":
        return _kind("pageview") & (_page() == F.lit(value))
    if step_type == "event":
        return _kind("custom") & (F.col("name") == F.lit(value))
    raise ValueError(f"unknown step type {step_type!r}")


def _reached(path: Column, count: int) -> Column:
    """How many steps a session's matching events (in session order) reach: fold over
    them, moving from step k to k+1 on the first event that matches step k+1."""
    def advance(reached: Column, event: Column) -> Column:
        moved = F.when((reached == F.lit(0)) & event["m1"], F.lit(1))
        for k in range(2, count + 1):
            moved = moved.when((reached == F.lit(k - 1)) & event[f"m{k}"], F.lit(k))
        return moved.otherwise(reached)

    return F.aggregate(path, F.lit(0), advance)


def funnel(events: DataFrame, sessions: DataFrame, steps: Sequence[StepSpec], start: date,
           end: date) -> DataFrame:
    """:data:`FUNNEL_COLUMNS`, one row per step in order, also for steps nobody reached
    (module docstring)."""
    started = sessions_in_days(sessions, start, end).select(*_SESSION_KEY)
    flags = {f"m{k}": _step_matches(t, v) for k, (t, v) in enumerate(steps, start=1)}
    any_step = F.lit(False)
    for flag in flags.values():
        any_step = any_step | flag
    matching = events.join(started, on=_SESSION_KEY, how="left_semi").where(any_step)
    # Structs sort by their first field: the session's matching events in session order.
    path = F.array_sort(F.collect_list(F.struct(
        event_order().alias("_order"), *[flag.alias(name) for name, flag in flags.items()])))
    reached = matching.groupBy(*_SESSION_KEY).agg(_reached(path, len(steps)).alias("reached"))
    per_step = reached.where(F.col("reached") >= 1).select(
        "visitor_id", F.explode(F.sequence(F.lit(1), F.col("reached"))).alias("step"),
    ).groupBy("step").agg(F.count_distinct("visitor_id").alias("visitors"),
                          F.count("*").alias("sessions"))
    every_step = events.sparkSession.createDataFrame(
        [(k, t, v) for k, (t, v) in enumerate(steps, start=1)],
        "step int, type string, value string")
    counted = every_step.join(per_step, on="step", how="left").fillna(
        0, subset=["visitors", "sessions"])
    # Three rows at most: one window over all of them is fine.
    in_order = Window.partitionBy(F.lit(0)).orderBy("step")
    sessions_col = F.col("sessions")
    previous = F.lag(sessions_col).over(in_order)
    first = F.first(sessions_col).over(in_order)

    def rate(base: Column) -> Column:
        return F.when(base > 0, F.round(sessions_col / base, 4))

    return counted.select(
        "step", "type", "value", "visitors", "sessions",
        F.when(F.col("step") == 1, rate(sessions_col)).otherwise(rate(previous))
        .alias("conversion_from_previous"),
        rate(first).alias("conversion_from_first"),
    ).orderBy("step")
