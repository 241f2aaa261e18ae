"""What each streaming query does with a micro-batch (``foreachBatch``).

Every write is an upsert of rows whose key is fixed by the data (the event, the Kafka
offset, or the site/minute/key of an aggregate whose full value the row holds), so a
micro-batch that Spark runs again after a crash writes the same rows with the same values:
at-least-once delivery plus idempotent writes gives each event exactly one effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from analytics import raw_events
from analytics.config import Config
from analytics.spark_session import write_cassandra
from streaming.tables import REALTIME_VIEWS, realtime_view_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BatchWriter = Callable[["DataFrame", int], None]


class CassandraTables:
    """Appends (upserts) DataFrames to tables of the configured keyspace."""

    def __init__(self, config: Config):
        self.keyspace = config.cassandra_keyspace

    def write(self, rows: DataFrame, table: str, ttl_s: int | None = None) -> None:
        write_cassandra(rows, self.keyspace, table, ttl_s=ttl_s)


def raw_events_writer(config: Config) -> BatchWriter:
    """Parsed Kafka records -> ``raw_event_chunks``: every event (the master dataset:
    duplicates and bot events too, dedup is the readers' job) and every malformed record
    (under the reserved site ``_malformed``), in one pass."""
    tables = CassandraTables(config)

    def write_batch(records: DataFrame, batch_id: int) -> None:
        tables.write(raw_events.to_chunks(records), raw_events.TABLE)

    return write_batch


def realtime_views_writer(config: Config) -> BatchWriter:
    """Updated minute aggregates (``outputMode("update")``) -> ``realtime_views``, in one
    write (one Spark job) per micro-batch."""
    tables = CassandraTables(config)
    ttl_s = config.realtime_ttl_days * 86_400

    def write_batch(views: DataFrame, batch_id: int) -> None:
        tables.write(realtime_view_rows(views), REALTIME_VIEWS, ttl_s)

    return write_batch
