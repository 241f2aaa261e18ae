"""Sessions (docs/metrics.md, Sessions): the events of one visitor on one site in
event-time order; a new session starts when the gap from that visitor's previous event is
more than 30 minutes.

:func:`sessionize` labels each event with its session; :func:`sessions` makes one row per
session with its duration, engagement, entry/exit page and the acquisition and device
attributes of its first event. Both are pure batch transforms (window functions over a
visitor's whole history in the frame, so not for streaming).

What the caller must give: deduplicated (:func:`analytics.metrics.events.dedup`), counted
(no bot rows) events with ``event_ts``. A session is only whole if the frame holds all of
its events: the batch job should read a margin before and after the period it computes
(sessions starting before the period are then dropped by the views' day filter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql.window import Window

from analytics.metrics.channels import channel_column, medium_column
from analytics.metrics.events import EVENT_TS
from analytics.metrics.realtime import NO_PATH
from analytics.metrics.sources import source_column

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

SESSION_ID, SESSION_START = "session_id", "session_start"
DEFAULT_GAP_MINUTES = 30
ENGAGED_MIN_MS = 10_000
ENGAGED_MIN_PAGEVIEWS = 2
SCREEN_SIZES = ((576, "mobile"), (992, "tablet"), (1440, "laptop"))
"""``screen_width`` below each bound -> class; 1440 px and wider -> ``desktop``."""

SESSION_COLUMNS = (
    "site_id", "visitor_id", SESSION_ID, SESSION_START, "session_end", "duration_s",
    "pageviews", "custom_events", "is_engaged", "is_bounce", "entry_page", "exit_page",
    "source", "medium", "campaign", "term", "content", "referrer_host", "channel", "country",
    "device_type", "browser", "os", "screen_size",
)
_FIRST_EVENT_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
                       "referrer_host", "country", "device_type", "browser", "os",
                       "screen_width")


def _order() -> list[Column]:
    return [F.col(EVENT_TS).asc(), F.col("event_id").asc()]


def event_order() -> Column:
    """A visitor's events in session order as one sortable value: ``event_ts``, ties by
    ``event_id`` (for ``min_by``/``max_by`` and sorting collected events)."""
    return F.struct(F.col(EVENT_TS), F.col("event_id"))


def sessionize(events: DataFrame, gap_minutes: int = DEFAULT_GAP_MINUTES) -> DataFrame:
    """Add to every event its session:

    - ``session_id`` (string): ``<visitor_id>:<epoch ms of the session's first event>``;
      the same for the same events whatever the partitioning; unique within a site;
    - ``session_start`` (timestamp): the session's first ``event_ts``.

    Events are ordered by ``event_ts``, ties by ``event_id``, within (site_id, visitor_id).
    An event starts a new session when it comes MORE than ``gap_minutes`` after the
    visitor's previous event (exactly ``gap_minutes`` stays in the session). Days play no
    part (a session may cross midnight in any zone). One window over the visitor's
    events (one sort): session order within a session is :func:`event_order`.
    """
    visitor = Window.partitionBy("site_id", "visitor_id").orderBy(*_order())
    so_far = visitor.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    millis = F.unix_millis(F.col(EVENT_TS))
    gap = millis - F.lag(millis).over(visitor)
    starts = "_starts_session"
    start_ms = "_session_start_ms"
    marked = events.withColumn(starts, gap.isNull() | (gap > F.lit(gap_minutes * 60_000)))
    # Session starts only increase along the visitor's events, so the latest one so far
    # is the start of the event's own session.
    started = marked.withColumn(
        start_ms, F.max(F.when(F.col(starts), millis)).over(so_far))
    labelled = started.withColumns({
        SESSION_ID: F.concat_ws(":", F.col("visitor_id"), F.col(start_ms).cast("string")),
        SESSION_START: F.timestamp_millis(F.col(start_ms)),
    })
    return labelled.drop(starts, start_ms)


def screen_size_column(width: Column | str = "screen_width") -> Column:
    """Screen size class of a screen width in CSS px (see :data:`SCREEN_SIZES`); null for
    a null width."""
    width = F.col(width) if isinstance(width, str) else width
    size = F.when(width < F.lit(SCREEN_SIZES[0][0]), F.lit(SCREEN_SIZES[0][1]))
    for bound, name in SCREEN_SIZES[1:]:
        size = size.when(width < F.lit(bound), F.lit(name))
    return size.when(width.isNotNull(), F.lit("desktop"))


def _kind(kind: str) -> Column:
    return F.col("kind") == F.lit(kind)


def _present(name: str) -> Column:
    column = F.col(name)
    return F.when(F.trim(column) != F.lit(""), column)


def is_goal_event(goals_column: str = "goals") -> Column:
    """A custom event whose name is one of the row's goals (null goals: none)."""
    return _kind("custom") & F.coalesce(
        F.array_contains(F.col(goals_column), F.col("name")), F.lit(False))


def sessions(sessionized: DataFrame, goals_column: str = "goals") -> DataFrame:
    """One row per session of :func:`sessionize`'s output. Columns (in this order):

    ============== ========= ============================================================
    site_id        string
    visitor_id     string
    session_id     string    as :func:`sessionize`
    session_start  timestamp first event's ``event_ts``
    session_end    timestamp last event's ``event_ts``
    duration_s     double    session_end - session_start in seconds (ms precision);
                             engagement pings count, so a one-page visit can have one
    pageviews      long      pageview events of the session
    custom_events  long      custom events of the session
    is_engaged     boolean   duration >= 10 s, or >= 2 pageviews, or >= 1 custom event
                             whose name is in the row's ``goals_column`` (array<string>;
                             null or a missing column: no goals)
    is_bounce      boolean   not is_engaged
    entry_page     string    path of the first pageview (null path: "/"); null when the
                             session has no pageview
    exit_page      string    path of the last pageview; null likewise
    source         string    first event: utm_source, else referrer_host, else "(direct)"
    medium         string    first event: :func:`analytics.metrics.channels.medium_column`
                             (utm_medium; untagged: organic/email/referral/(none))
    campaign       string    first event's utm_campaign (blank: null)
    term           string    first event's utm_term (blank: null)
    content        string    first event's utm_content (blank: null)
    referrer_host  string    first event's referrer_host (blank: null)
    channel        string    GA4 default channel of (source, medium, campaign), never null
    country        string    first event's country (as are the next three; null stays null)
    device_type    string
    browser        string
    os             string
    screen_size    string    class of the first event's screen_width: mobile (< 576),
                             tablet (< 992), laptop (< 1440), desktop; null if unknown
    ============== ========= ============================================================

    A ``timezone`` column, when the input has one, is kept after these (the site's zone,
    for :func:`analytics.metrics.batch_views.with_local_time`).
    """
    pageview = _kind("pageview")
    page = F.coalesce(F.col("path"), F.lit(NO_PATH))
    order = event_order()
    goal = (is_goal_event(goals_column) if goals_column in sessionized.columns
            else F.lit(False))
    first = F.struct(*[F.col(c) for c in _FIRST_EVENT_FIELDS])
    extra = ["timezone"] if "timezone" in sessionized.columns else []
    grouped = sessionized.groupBy("site_id", "visitor_id", SESSION_ID).agg(
        F.min(EVENT_TS).alias(SESSION_START),
        F.max(EVENT_TS).alias("session_end"),
        F.count_if(pageview).alias("pageviews"),
        F.count_if(_kind("custom")).alias("custom_events"),
        F.count_if(goal).alias("_goal_events"),
        F.min_by(page, F.when(pageview, order)).alias("entry_page"),
        F.max_by(page, F.when(pageview, order)).alias("exit_page"),
        F.min_by(first, order).alias("_first"),
        *[F.max(c).alias(c) for c in extra],
    )
    duration_ms = F.unix_millis(F.col("session_end")) - F.unix_millis(F.col(SESSION_START))
    engaged = ((duration_ms >= F.lit(ENGAGED_MIN_MS))
               | (F.col("pageviews") >= F.lit(ENGAGED_MIN_PAGEVIEWS))
               | (F.col("_goal_events") >= F.lit(1)))
    flat = grouped.select("*", "_first.*").withColumns({
        "duration_s": duration_ms / F.lit(1000.0),
        "is_engaged": engaged,
        "source": source_column(),
        "medium": medium_column(),
        "campaign": _present("utm_campaign"),
        "term": _present("utm_term"),
        "content": _present("utm_content"),
        "referrer_host": _present("referrer_host"),
        "screen_size": screen_size_column(),
    })
    flat = flat.withColumns({
        "is_bounce": ~F.col("is_engaged"),
        "channel": channel_column("source", "medium", "campaign"),
    })
    return flat.select(*SESSION_COLUMNS, *extra)
