"""What each streaming query does with a micro-batch (``foreachBatch``).

Every write is an upsert of rows whose key is fixed by the data (the event, the Kafka
offset, or the site/minute/key of an aggregate whose full value the row holds), so a
micro-batch that Spark runs again after a crash writes the same rows with the same values:
at-least-once delivery plus idempotent writes gives each event exactly one effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from analytics.config import Config
from analytics.spark_session import CASSANDRA_FORMAT, MALFORMED
from streaming.tables import (
    MALFORMED_EVENTS,
    RAW_EVENTS,
    malformed_rows,
    raw_event_rows,
    realtime_rows,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BatchWriter = Callable[["DataFrame", int], None]


class CassandraTables:
    """Appends (upserts) DataFrames to tables of the configured keyspace."""

    def __init__(self, config: Config):
        self.keyspace = config.cassandra_keyspace

    def write(self, rows: DataFrame, table: str, ttl_s: int | None = None) -> None:
        writer = (rows.write.format(CASSANDRA_FORMAT).mode("append")
                  .options(keyspace=self.keyspace, table=table))
        if ttl_s:
            writer = writer.option("spark.cassandra.output.ttl", str(ttl_s))
        writer.save()


def raw_events_writer(config: Config) -> BatchWriter:
    """Parsed Kafka records -> every well-formed event into ``raw_events`` (the master
    dataset: duplicates and bot events too, dedup is the readers' job), every malformed
    record into ``malformed_events``."""
    tables = CassandraTables(config)

    def write_batch(records: DataFrame, batch_id: int) -> None:
        records.persist()
        try:
            tables.write(raw_event_rows(records.where(~F.col(MALFORMED))), RAW_EVENTS)
            tables.write(malformed_rows(records.where(F.col(MALFORMED))), MALFORMED_EVENTS)
        finally:
            records.unpersist()

    return write_batch


def realtime_views_writer(config: Config) -> BatchWriter:
    """Updated minute aggregates (``outputMode("update")``) -> the realtime tables."""
    tables = CassandraTables(config)
    ttl_s = config.realtime_ttl_days * 86_400

    def write_batch(views: DataFrame, batch_id: int) -> None:
        views.persist()
        try:
            for table, rows in realtime_rows(views).items():
                tables.write(rows, table, ttl_s)
        finally:
            views.unpersist()

    return write_batch
