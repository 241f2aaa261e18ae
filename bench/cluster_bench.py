"""What replication costs here: the write path and the speed layer on the cluster profile
(stack/cluster.py: 3 Kafka brokers, topics RF 3 with min.insync.replicas 2 and acks=all;
3 Cassandra nodes, RF 3 at LOCAL_QUORUM; a Spark master with 2 workers) against one node
(Kafka and Cassandra of the local run, Spark local[2]), measured in the same run.

    .venv/bin/python bench/cluster_bench.py [--duration 15] [--events 300000]

For each profile: its stores are started (or reused); the write service runs under
gunicorn on a port and topic of its own (replicated as the profile replicates) and wrk
sends single-event requests for ``--duration`` s (requests/s, p50, p99; every accepted
event counted in Kafka); then ``--events`` enriched events are put on a fresh topic and
the speed layer started on the profile's Spark: events/s from its start until both
queries have processed them all (raw table and minute views written at the profile's
consistency). Prints each figure and the ratio cluster / one node. Every node shares this
machine's 2 cores, so the cluster's figures are what replication costs, not what more
machines would give.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.config import Config  # noqa: E402
from analytics.kafka_topics import end_offsets, ensure_topics  # noqa: E402
from analytics.sites import Site, SiteRepository  # noqa: E402
from analytics.storage.session import connect  # noqa: E402
from bench.stream_bench import PROBE_SITE, SITES, preload  # noqa: E402
from bench.write_bench import (  # noqa: E402
    SITE,
    _accepted_total,
    _event,
    _start_gunicorn,
    _stop,
    _topic_total,
    _wrk,
)
from stack import cluster, jars, lifecycle, settings  # noqa: E402
from stack.launch import SpeedLayerJob  # noqa: E402
from stack.schema import apply_schema  # noqa: E402
from stack.services import services  # noqa: E402
from streaming.progress import QUERIES, processed_offsets  # noqa: E402


def _profiles() -> dict[str, Config]:
    one = settings.load({k: v for k, v in os.environ.items() if k.startswith("ANALYTICS_")},
                        log=None)
    many = settings.load(cluster.apply(dict(os.environ)), log=None)
    return {"one node": one, "cluster": many}


def _stores(config: Config) -> list[str]:
    return [s.name for s in services(config).values()
            if not (s.needs_schema or s.needs_stores) and s.name != "postgres"]


def _prepare(config: Config, run: str, port: int) -> Config:
    bench = config.replace(
        cassandra_keyspace="analytics_bench", write_api_port=port, rate_limit_per_s=0.0,
        topic_raw_events=f"bench.cluster.{run}.raw",
        topic_invalid_events=f"bench.cluster.{run}.invalid", serve_demo=False,
        state_dir=config.state_dir / "bench" / f"cluster-{run}",
        spool_dir=Path(tempfile.mkdtemp(prefix="bench-cluster-")))
    lifecycle.start(config, _stores(config), log=lambda _: None)
    busy = [row.name for row in lifecycle.status(config)
            if row.state == "RUNNING" and row.name not in _stores(config)]
    if busy:
        print(f"   (also running, sharing the cores: {', '.join(busy)})")
    apply_schema(bench, log=lambda _: None)
    ensure_topics(bench)
    c, session = connect(bench, bench.cassandra_keyspace)
    for site in (SITE, *SITES, PROBE_SITE):
        SiteRepository(session).save(Site(site_id=site, domain=site))
    c.shutdown()
    return bench


def _write_path(config: Config, args) -> dict:
    body = Path(config.spool_dir) / "single.json"
    body.write_text(json.dumps(_event(1)))
    proc = _start_gunicorn(config, "api.write.asgi:app", Path(config.spool_dir) / "log")
    try:
        _wrk(config.write_api_port, body, 3, args.connections, 1)  # warm up
        before, accepted = _topic_total(config), _accepted_total(config)
        result = _wrk(config.write_api_port, body, args.duration, args.connections, 1)
        time.sleep(2)
        result["accepted"] = _accepted_total(config) - accepted
        result["in_kafka"] = _topic_total(config) - before
    finally:
        _stop(proc)
    return result


def _catch_up(config: Config, args) -> dict:
    preload(config, args.events, 20_000)
    c, session = connect(config, config.cassandra_keyspace)
    job = SpeedLayerJob(config, name="bench-speed-layer")
    try:
        job.start()
        ready = time.monotonic()
        target = end_offsets(config, config.topic_raw_events)
        while any(processed_offsets(config, session, q) != target for q in QUERIES):
            if job.proc.poll() is not None:
                raise RuntimeError(job.tail())
            time.sleep(0.25)
        seconds = time.monotonic() - ready
    finally:
        job.stop()
        c.shutdown()
    return {"seconds": seconds, "events_per_s": args.events / seconds}


def run(args) -> int:
    jars.resolve_all(Config())
    results = {}
    for number, (name, config) in enumerate(_profiles().items()):
        print(f"== {name}: Kafka {config.bootstrap_servers} (RF {config.topic_replication}), "
              f"Cassandra {','.join(config.cassandra_hosts)} (RF "
              f"{config.cassandra_replication_factor}, {config.cassandra_consistency}), "
              f"Spark {config.spark_master}")
        bench = _prepare(config, uuid.uuid4().hex[:8], 18400 + number)
        try:
            write = _write_path(bench, args)
            print(f"   write path: {write['rps']:,.0f} req/s, p50 {write['p50']:.2f} ms, "
                  f"p99 {write['p99']:.2f} ms, non-2xx {write['non2xx']}; accepted "
                  f"{write['accepted']:,}, in Kafka {write['in_kafka']:,}")
            speed = _catch_up(bench, args)
            print(f"   speed layer: {args.events:,} events caught up in "
                  f"{speed['seconds']:.1f} s = {speed['events_per_s']:,.0f} events/s")
        finally:
            shutil.rmtree(bench.spool_dir, ignore_errors=True)
            shutil.rmtree(bench.state_dir, ignore_errors=True)
        results[name] = {"write": write, "speed": speed}
    one, many = results["one node"], results["cluster"]
    print("== cluster / one node (same run, same 2 cores)")
    print(f"   write requests/s {many['write']['rps'] / one['write']['rps']:.2f}, "
          f"p99 latency {many['write']['p99'] / one['write']['p99']:.2f}")
    print(f"   speed layer events/s "
          f"{many['speed']['events_per_s'] / one['speed']['events_per_s']:.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--events", type=int, default=300_000)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
