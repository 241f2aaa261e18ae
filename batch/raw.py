"""Reading the master dataset back: the raw events of some sites and UTC hours.

``raw_event_chunks`` is partitioned by (site_id, UTC hour), so a recompute names exactly
the partitions it needs: a small DataFrame of (site_id, hour) keys joined with the table,
which the Cassandra connector's extensions turn into a direct join (one read per
partition; no full-table scan however large the table grows). The chunks are turned back
into Kafka-shaped rows (``analytics.raw_events.from_chunks``) and parsed by the same
``parse_enriched`` as the stream, so both layers see the same events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from analytics import raw_events
from analytics.metrics.events import EVENT_FIELDS
from analytics.spark_session import CASSANDRA_FORMAT, MALFORMED, parse_enriched

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

KEY_SCHEMA = "site_id string, hour timestamp"
FETCH_ROWS = 16
"""Chunks per page when reading ``raw_event_chunks``: a chunk is ~100 KB and a busy hour's
partition tens of MB; the connector's default page (1,000 rows, i.e. a whole partition)
times its concurrent reads ran the node out of memory with 1M events a day."""
CONCURRENT_READS = 16
"""Partition reads in flight per task of the direct join (the connector's default, 512,
asked for all ~725 partitions of a 30-day backfill at once and ran the node out of direct
memory)."""


def chunks_of(spark: SparkSession, keyspace: str,
              partitions: Iterable[tuple[str, datetime]]) -> DataFrame:
    """The ``raw_event_chunks`` rows of the given (site_id, UTC hour) partitions."""
    keys = spark.createDataFrame(sorted(set(partitions)), KEY_SCHEMA)
    table = (spark.read.format(CASSANDRA_FORMAT)
             .options(keyspace=keyspace, table=raw_events.TABLE, directJoinSetting="on")
             .option("spark.cassandra.input.fetch.sizeInRows", str(FETCH_ROWS))
             .option("spark.cassandra.concurrent.reads", str(CONCURRENT_READS))
             .load())
    return keys.join(table, on=["site_id", "hour"])


def events_of(chunks: DataFrame, fields: Sequence[str] = EVENT_FIELDS) -> DataFrame:
    """Chunk rows -> the well-formed enriched events in them (every copy, bots included),
    with the event ``fields`` only (default: those the metrics read; the JSON text, Kafka
    coordinates and unused fields would be carried through every shuffle and cache);
    malformed records are left out (they live under the reserved site ``_malformed``,
    which no recompute reads)."""
    parsed = parse_enriched(raw_events.from_chunks(chunks), fields)
    return parsed.where(~F.col(MALFORMED)).select(*fields)
