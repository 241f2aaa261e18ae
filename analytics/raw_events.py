"""The master dataset's layout: events in chunks (``raw_event_chunks``, migration 0004).

Pure ``DataFrame -> DataFrame`` functions, shared by the speed layer (which writes chunks)
and every job that reads raw events back (the batch layer, ad-hoc queries):

- :func:`to_chunks`: parsed Kafka records (``analytics.spark_session.parse_enriched``) ->
  chunk rows: the events of one site, UTC hour of event time and Kafka partition within a
  block of offsets, in offset order, cut into chunks of at most :data:`CHUNK_EVENTS`; a
  chunk's key is the offset of its first event, so the same records always give the same
  chunks (a replayed micro-batch rewrites them). Records that are not enriched events are
  kept too, under :data:`MALFORMED_SITE`;
- :func:`from_chunks`: chunk rows -> one row per event (the event JSON as published, its
  Kafka coordinates), ready for ``analytics.spark_session.parse_enriched``.

pyspark is imported inside the functions, as in ``analytics.spark_session``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics.spark_session import MALFORMED, RAW_JSON

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

TABLE = "raw_event_chunks"
CHUNK_KEY = ("site_id", "hour", "kafka_topic", "kafka_partition")
CHUNK_COLUMNS = ("site_id", "hour", "kafka_topic", "kafka_partition", "first_offset",
                 "last_offset", "events", "first_event_time", "last_event_time", "offsets",
                 "payload")
_HOUR_S = 3600
CHUNK_EVENTS = 128
"""A chunk holds at most this many events (~100 KB typically, and within Cassandra's
mutation limit even if every event had the largest size the schema allows)."""
BLOCK_OFFSETS = 4096
"""Events are chunked per block of this many consecutive offsets of a Kafka partition, so
a chunk is full even when many sites share a partition (with blocks of 128 offsets, 20
sites made chunks of ~6 events: 20x the rows to write and read), and one group stays
bounded in memory however large a micro-batch is."""
CHUNK_FIELDS = ("site_id", "event_time")
"""The event fields :func:`to_chunks` reads: parse only these (``parse_enriched(df,
CHUNK_FIELDS)``; the required fields still decide ``malformed``). Converting fields that
are not used costs more than reading them."""
MALFORMED_SITE = "_malformed"
"""Where records that are not enriched events are kept (no real site id starts with _)."""


def utc_hour(timestamp: Column) -> Column:
    """The start of the timestamp's UTC hour (independent of the session time zone)."""
    from pyspark.sql import functions as F

    seconds = F.unix_seconds(timestamp)
    return F.timestamp_seconds(seconds - F.pmod(seconds, F.lit(_HOUR_S)))


def to_chunks(records: DataFrame, chunk_events: int = CHUNK_EVENTS,
              block_offsets: int = BLOCK_OFFSETS) -> DataFrame:
    """Parsed records (well-formed and malformed) -> rows of ``raw_event_chunks``
    (:data:`CHUNK_COLUMNS`). Malformed records go to the reserved site
    :data:`MALFORMED_SITE`, by the hour of their Kafka timestamp.

    The events of one site, hour, partition and block of ``block_offsets`` offsets, in
    offset order, are cut into chunks of ``chunk_events``: the same records give the same
    chunks, whatever else the micro-batch holds."""
    from pyspark.sql import functions as F

    malformed = F.col(MALFORMED)
    event_time = F.when(~malformed, F.timestamp_millis(F.col("event_time"))).otherwise(
        F.col("kafka_timestamp"))
    keyed = records.select(
        F.when(~malformed, F.col("site_id")).otherwise(F.lit(MALFORMED_SITE)).alias("site_id"),
        utc_hour(event_time).alias("hour"), "kafka_topic", "kafka_partition",
        F.struct("kafka_offset", event_time.alias("event_time"), RAW_JSON).alias("_event"))
    block = F.floor(F.col("_event.kafka_offset") / F.lit(block_offsets))
    ordered = F.sort_array(F.collect_list("_event"))
    blocks = keyed.groupBy(*CHUNK_KEY, block.alias("_block")).agg(ordered.alias("_events"))
    events = F.col("_events")
    pieces = F.sequence(F.lit(0), F.floor((F.size(events) - 1) / F.lit(chunk_events)))
    chunked = blocks.select(*CHUNK_KEY, F.explode(F.transform(
        pieces, lambda i: F.slice(events, i * chunk_events + 1, chunk_events))).alias("_chunk"))
    chunk = F.col("_chunk")
    times = F.transform(chunk, lambda e: e["event_time"])
    return chunked.select(
        *CHUNK_KEY,
        chunk[0]["kafka_offset"].alias("first_offset"),
        F.element_at(chunk, -1)["kafka_offset"].alias("last_offset"),
        F.size(chunk).cast("int").alias("events"),
        F.array_min(times).alias("first_event_time"),
        F.array_max(times).alias("last_event_time"),
        F.transform(chunk, lambda e: e["kafka_offset"]).alias("offsets"),
        F.transform(chunk, lambda e: e[RAW_JSON]).alias("payload"))


def from_chunks(chunks: DataFrame) -> DataFrame:
    """Chunk rows -> one row per event: ``value`` (the JSON text as published, as a Kafka
    record's value would be), ``topic``, ``partition``, ``offset`` -- the columns
    ``parse_enriched`` reads, so raw events parse exactly like the stream does.
    ``timestamp`` is the chunk's hour (the Kafka timestamp is not kept)."""
    from pyspark.sql import functions as F

    exploded = chunks.select(
        "hour", F.col("kafka_topic").alias("topic"),
        F.col("kafka_partition").alias("partition"),
        F.inline(F.arrays_zip(F.col("offsets").alias("offset"),
                              F.col("payload").alias("json"))))
    return exploded.select(
        F.col("json").cast("binary").alias("value"), "topic", "partition", "offset",
        F.col("hour").alias("timestamp"))
