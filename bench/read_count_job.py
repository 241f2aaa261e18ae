"""The baseline of ``bench/batch_bench.py``: read the raw events a recompute of some
site-days reads, and count them -- nothing else.

    spark-submit bench/read_count_job.py --start-day 2026-03-04 [--end-day ...] --sites a,b

Takes the batch job's arguments and reads exactly its (site, UTC hour) partitions of
``raw_event_chunks`` (``batch.job.partitions``, ``batch.raw.chunks_of``: the same direct
join), then counts the events in the chunks' payload (``analytics.raw_events.from_chunks``,
so every payload is read and exploded; no JSON parsing). Prints one JSON line like the
batch job's summary: ``raw_events``, ``compute_seconds`` (read and count) and ``seconds``
(with the Spark session's start).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import raw_events  # noqa: E402
from analytics.config import Config  # noqa: E402
from analytics.sites import SiteRepository, choose_sites  # noqa: E402
from analytics.spark_session import spark_session, stop_spark  # noqa: E402
from analytics.storage.session import connect  # noqa: E402
from batch.job import parse_args, partitions  # noqa: E402
from batch.raw import chunks_of  # noqa: E402

APP_NAME = "sitelens-read-count"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = Config.from_env()
    began = time.monotonic()
    cluster, session = connect(config, config.cassandra_keyspace)
    spark = None
    try:
        sites = choose_sites(SiteRepository(session).all(), args.sites)
        spark = spark_session(config, APP_NAME)
        spark.conf.set("spark.sql.shuffle.partitions", str(config.batch_shuffle_partitions))
        computing = time.monotonic()
        margin = timedelta(minutes=config.batch_session_margin_minutes)
        keys = partitions(sites, args.start_day, args.end_day, margin)
        chunks = chunks_of(spark, config.cassandra_keyspace, keys)
        count = raw_events.from_chunks(chunks).count()
        compute_s = time.monotonic() - computing
    finally:
        if spark is not None:
            stop_spark(spark)
        cluster.shutdown()
    print(json.dumps({"sites": len(sites), "partitions": len(keys), "raw_events": count,
                      "compute_seconds": round(compute_s, 2),
                      "seconds": round(time.monotonic() - began, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
