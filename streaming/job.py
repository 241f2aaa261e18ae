"""The speed layer's Spark job: ``spark-submit streaming/job.py`` (the local run starts it
as the ``speed-layer`` service; ``analytics.spark_submit`` builds the command).

Two streaming queries read the raw-events topic, each with its own checkpoint:

- ``raw_events``: every record into the master dataset ``raw_event_chunks``
  (``analytics.raw_events``; malformed records too, under the site ``_malformed``: kept,
  never dropped);
- ``realtime_views``: well-formed events -> event time, lateness, dedup on (site, event id)
  within the watermark, the minute views (one aggregation, RocksDB state) -> the
  ``realtime_views`` table.

A crash at any point is safe: on restart each query replays its unfinished micro-batch
from the checkpoint and the sinks' writes are idempotent. SIGTERM/SIGINT stop the queries
between batches.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable

from pyspark.sql import functions as F

from analytics import raw_events
from analytics.config import Config
from analytics.metrics.realtime import VIEW_INPUT_COLUMNS, speed_layer_views
from analytics.spark_apps import SPEED_LAYER
from analytics.spark_session import MALFORMED, parse_enriched, read_kafka, spark_session, stop_spark
from streaming.progress import RAW_QUERY, STATE_ROWS_COUNTED, VIEWS_QUERY, ProgressLog
from streaming.sinks import raw_events_writer, realtime_views_writer
from streaming.stall import StallWatch

POLL_S = 2.0
STATE_STORE = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
STREAMING_SQL_CONF = {
    # Event ids of the last minutes live in the dedup state: RocksDB keeps them on local
    # disk with bounded memory (the default store holds every key on the JVM heap).
    "spark.sql.streaming.stateStore.providerClass": STATE_STORE,
    "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
    # see streaming.progress.STATE_ROWS_COUNTED
    "spark.sql.streaming.stateStore.rocksdb.trackTotalNumberOfRows":
        str(STATE_ROWS_COUNTED).lower(),
    # The minute views' sketches (hll_sketch_agg) are aggregated in a hash map that falls
    # back to sorting every row once it holds 128 groups (Spark's default); a micro-batch
    # of a few sites has thousands (site x minute x page). Sorting took ~30 % of the views
    # query. A group's sketch is a short list until it has many visitors and 16 KiB at
    # most (lg_k 14): 256 MiB if all 16,384 groups had that many, in practice far less.
    "spark.sql.objectHashAggregate.sortBased.fallbackThreshold": "16384",
}


def kafka_options(config: Config) -> dict[str, str]:
    options = {"failOnDataLoss": str(config.streaming_fail_on_data_loss).lower()}
    if config.streaming_max_offsets_per_trigger > 0:
        options["maxOffsetsPerTrigger"] = str(config.streaming_max_offsets_per_trigger)
    return options


def start_queries(spark, config: Config) -> list:
    for key, value in STREAMING_SQL_CONF.items():
        spark.conf.set(key, value)
    spark.conf.set("spark.sql.shuffle.partitions", str(config.streaming_state_partitions))
    checkpoints = config.streaming_checkpoint_path

    def records(fields):
        return parse_enriched(read_kafka(
            spark, config, config.topic_raw_events, config.streaming_starting_offsets,
            streaming=True, options=kafka_options(config)), fields)

    def started(frame, name: str):
        return (frame.queryName(name)
                .trigger(processingTime=config.streaming_trigger)
                .option("checkpointLocation", str(checkpoints / name))
                .start())

    raw = started(records(raw_events.CHUNK_FIELDS).writeStream
                  .foreachBatch(raw_events_writer(config)), RAW_QUERY)
    well_formed = records(VIEW_INPUT_COLUMNS).where(~F.col(MALFORMED))
    views = speed_layer_views(well_formed, config.streaming_late_after_ms,
                              config.visitor_sketch_lg_k)
    realtime = started(views.writeStream.outputMode("update")
                       .foreachBatch(realtime_views_writer(config)), VIEWS_QUERY)
    return [raw, realtime]


STOP_TIMEOUT_S = 45.0
"""How long stopping may take before the process exits anyway (the supervisor's stop
waits 60 s). A query stuck in a write to a Cassandra node that went away never stops on
its own; a job that hangs instead of exiting is never restarted."""


def _stalled(watch: StallWatch, query) -> bool:
    last = query.lastProgress
    return watch.stalled(query.name, last["batchId"] if last else -1,
                         bool(query.status.get("isTriggerActive")))


def _stop(queries, progress, spark) -> None:
    for query in queries:
        query.stop()
    progress.close()
    stop_spark(spark)


def stop_within(seconds: float, stop: Callable[[], None], exit=os._exit) -> None:
    """Run ``stop``; if it has not returned after ``seconds``, exit the process (status 1)."""
    worker = threading.Thread(target=stop, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        print(f"{SPEED_LAYER.name}: not stopped after {seconds:g} s; exiting", file=sys.stderr,
              flush=True)
        exit(1)


def run(config: Config) -> int:
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    spark = spark_session(config, SPEED_LAYER.name)
    progress = ProgressLog(config)
    queries = start_queries(spark, config)
    print(f"{SPEED_LAYER.name}: queries {', '.join(q.name for q in queries)} started; "
          f"checkpoints in {config.streaming_checkpoint_path}", flush=True)
    failed = None
    watch = StallWatch(config.streaming_stall_timeout_s)
    try:
        while not stopping.is_set():
            progress.poll(queries)
            failed = next((q for q in queries if not q.isActive or _stalled(watch, q)),
                          None)
            if failed is not None:
                break
            stopping.wait(POLL_S)
    finally:
        stop_within(STOP_TIMEOUT_S, lambda: _stop(queries, progress, spark))
    if failed is not None:
        reason = (failed.exception() if not failed.isActive else
                  f"a micro-batch ran for over {config.streaming_stall_timeout_s:g} s")
        print(f"{SPEED_LAYER.name}: query {failed.name} stopped: {reason}",
              file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(Config.from_env()))
