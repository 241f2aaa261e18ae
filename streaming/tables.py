"""Rows of the speed layer's view table (``realtime_views``, migration 0003), as a pure
``DataFrame -> DataFrame`` function. The metric logic itself is in
:mod:`analytics.metrics.realtime`; raw events are laid out by :mod:`analytics.raw_events`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics.raw_events import utc_hour

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

REALTIME_VIEWS = "realtime_views"
VIEW_COLUMNS = ("site_id", "view_name", "hour", "minute", "key", "event_minute", "pageviews",
                "custom_events", "engagements", "bot_events", "visitors", "visitors_sketch")


def realtime_view_rows(views: DataFrame) -> DataFrame:
    """:func:`~analytics.metrics.realtime.minute_views` output -> ``realtime_views`` rows:
    the same columns (``view`` as ``view_name``: ``view`` is reserved in CQL) plus the
    partition's UTC ``hour`` (of ``minute``)."""
    from pyspark.sql import functions as F

    return (views.withColumnRenamed("view", "view_name")
            .withColumn("hour", utc_hour(F.col("minute"))).select(*VIEW_COLUMNS))
