"""What each streaming query does with a micro-batch (``foreachBatch``).

Every write is an upsert of rows whose key is fixed by the data (the event, the Kafka
offset, or the site/minute/key of an aggregate whose full value the row holds), so a
micro-batch that Spark runs again after a crash writes the same rows with the same values:
at-least-once delivery plus idempotent writes gives each event exactly one effect.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from analytics import raw_events
from analytics.config import Config
from analytics.spark_session import write_cassandra
from streaming.tables import REALTIME_VIEWS, realtime_view_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BatchWriter = Callable[["DataFrame", int], None]


RETRY_WAITS_S = (2.0, 5.0, 10.0, 20.0)
"""Waits between attempts of a micro-batch's write. A Cassandra node going away (a
rolling restart) can fail a write that a quorum would take a moment later: the
connector's control connection was on that node, and its schema refresh gives up
("Control channel not available") until it reconnects to another. Found by the cluster
drills: without retries the query stopped at the first node restarted."""


class CassandraTables:
    """Appends (upserts) DataFrames to tables of the configured keyspace; a failed write
    is tried again (the rows are upserts: writing them twice changes nothing)."""

    def __init__(self, config: Config, write=write_cassandra, sleep=time.sleep,
                 waits: tuple[float, ...] = RETRY_WAITS_S):
        self.keyspace = config.cassandra_keyspace
        self._write, self._sleep, self._waits = write, sleep, waits

    def write(self, rows: DataFrame, table: str, ttl_s: int | None = None) -> None:
        for attempt, wait in enumerate((*self._waits, None), 1):
            try:
                self._write(rows, self.keyspace, table, ttl_s=ttl_s)
                return
            except Exception as exc:  # py4j's Py4JJavaError, whatever the connector threw
                if wait is None:
                    raise
                print(f"speed layer: writing {table} failed (attempt {attempt}), again in "
                      f"{wait:g} s: {str(exc).splitlines()[0][:300]}", file=sys.stderr,
                      flush=True)
                self._sleep(wait)


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
