"""The source of an event (docs/metrics.md, Sources and channels): ``utm_source`` if
present, else the referrer's host, else ``(direct)``.

A referrer on the site's own host already arrives as a null ``referrer_host`` (the write
service's enrichment drops it). Empty or blank strings count as absent. The batch layer
takes a session's source from its first event with the same rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

SOURCE = "source"
DIRECT = "(direct)"


def _present(name: str) -> Column:
    """The column's value, or null when it is null, empty or only blanks."""
    column = F.col(name)
    return F.when(F.trim(column) != F.lit(""), column)


def source_column() -> Column:
    return F.coalesce(_present("utm_source"), _present("referrer_host"), F.lit(DIRECT))


def source_of(df: DataFrame) -> DataFrame:
    """Add ``source`` to each event (pageview-level; sessions are the batch layer's)."""
    return df.withColumn(SOURCE, source_column())
