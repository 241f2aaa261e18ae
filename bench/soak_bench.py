"""Soak of the write path: half its measured capacity for ten minutes while Kafka is
restarted twice and Cassandra once; every accepted event must be in Kafka.

    .venv/bin/python bench/soak_bench.py [--minutes 10] [--fraction 0.5]

A private Kafka and Cassandra (state folder ``.state-soak``, their own ports) so the
restarts touch nothing else; the write service under gunicorn on its own port and topics
(rate limit off). First wrk measures the single-event capacity (closed loop, 64
connections); then wrk paces its connections to ``fraction`` of it, one run per minute,
while a timer stops and starts Kafka (minutes 2 and 6, 30 s down each) and Cassandra
(minute 4, 30 s down). Every soak request carries an event id of its own (wrk's script
makes them). Prints per minute: requests/s, non-2xx, p99, what happened; at the end:
accepted (the service's own counter) vs the soak's distinct event ids found in Kafka (equal
when nothing accepted was lost), the records Kafka holds twice (a replay of a batch whose
acknowledgement was lost), and the service's memory (master + workers, RSS) at the start
and the end of the soak.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.config import REPO_ROOT, Config  # noqa: E402
from analytics.kafka_settings import client_settings  # noqa: E402
from analytics.kafka_topics import end_offsets  # noqa: E402
from bench.write_bench import (  # noqa: E402
    _accepted_total,
    _event,
    _prepare,
    _start_gunicorn,
    _stop,
    _wrk,
)
from stack import lifecycle  # noqa: E402

QUIET = {"log": lambda _: None}
CONNECTIONS = 32
DOWN_S = 30


def _faults(minutes: int) -> list[tuple[float, str, str]]:
    """(second of the soak, service, stop|start), scaled to a shorter soak."""
    scale = minutes / 10
    plan = [(2, "kafka"), (4, "cassandra"), (6, "kafka")]
    events = []
    for minute, service in plan:
        at = minute * 60 * scale
        events += [(at, service, "stop"), (at + DOWN_S, service, "start")]
    return sorted(events)


class FaultTimer(threading.Thread):
    def __init__(self, config: Config, plan: list[tuple[float, str, str]]):
        super().__init__(daemon=True)
        self.config, self.plan = config, plan
        self.started = time.monotonic()
        self.done: list[tuple[float, str]] = []

    def run(self) -> None:
        for at, service, action in self.plan:
            time.sleep(max(0.0, self.started + at - time.monotonic()))
            (lifecycle.stop if action == "stop" else lifecycle.start)(
                self.config, [service], **QUIET)
            self.done.append((time.monotonic() - self.started, f"{service} {action}"))


def _rss_mib(pid: int) -> float:
    master = psutil.Process(pid)
    procs = [master, *master.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs) / 2**20


def _health(config: Config) -> dict:
    url = f"http://127.0.0.1:{config.write_api_port}/healthz"
    try:
        return json.loads(urllib.request.urlopen(url, timeout=10).read())
    except urllib.error.HTTPError as error:  # 503 while spooling: the body says why
        return json.loads(error.read())


def _wait_drained(config: Config, timeout_s: float = 300) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        health = _health(config)
        if health.get("kafka") == "up" and health.get("spool_pending") == 0:
            return health
        time.sleep(1)
    return _health(config)


def _ids_in_kafka(config: Config, start: dict[int, int], end: dict[int, int],
                  prefix: str) -> tuple[int, int, int]:
    """Between the offsets ``start`` and ``end`` of the raw topic: (records, records with
    an event id beginning with ``prefix``, distinct such ids)."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer({**client_settings(config), "group.id": f"soak-{prefix}",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "isolation.level": "read_committed"})
    topic = config.topic_raw_events
    consumer.assign([TopicPartition(topic, p, start.get(p, 0)) for p in end])
    open_partitions = {p for p in end if end[p] > start.get(p, 0)}
    records, ours, ids = 0, 0, set()
    try:
        while open_partitions:
            for message in consumer.consume(10_000, timeout=5):
                partition = message.partition()
                if message.error():
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        open_partitions.discard(partition)
                    continue
                if message.offset() >= end[partition]:
                    open_partitions.discard(partition)
                    continue
                records += 1
                event_id = json.loads(message.value())["event_id"]
                if event_id.startswith(prefix):
                    ours += 1
                    ids.add(event_id)
                if message.offset() == end[partition] - 1:
                    open_partitions.discard(partition)
    finally:
        consumer.close()
    return records, ours, len(ids)


def _settle(config: Config) -> None:
    """Requests wrk left in flight finish (and reach Kafka) before a count is taken."""
    time.sleep(3)
    _wait_drained(config)


def run(args) -> int:
    base = Config.from_env()
    config = base.replace(
        state_dir=REPO_ROOT / ".state-soak", kafka_port=29392, kafka_controller_port=29393,
        cassandra_port=29442, cassandra_storage_port=27400, write_api_port=18210,
        rate_limit_per_s=0.0, topic_raw_events="soak.events.raw",
        topic_invalid_events="soak.events.invalid", serve_demo=False,
        site_cache_ttl_s=5.0, kafka_delivery_timeout_ms=3000, start_timeout_s=180.0)
    _prepare(config)
    body = config.state_dir / "soak-single.json"
    body.write_text(json.dumps(_event(1)))
    log = config.state_dir / "soak-gunicorn.log"
    proc = _start_gunicorn(config, "api.write.asgi:app", log)
    rows, tag = [], secrets.token_hex(2)
    try:
        _wrk(config.write_api_port, body, 5, 64, 1)  # warm up
        capacity = _wrk(config.write_api_port, body, 15, 64, 1)["rps"]
        target = capacity * args.fraction
        delay_ms = max(0.0, CONNECTIONS * 1000 / target - 1.0)  # ~1 ms answer time
        _settle(config)
        accepted_before = _accepted_total(config)
        offsets_before = end_offsets(config, config.topic_raw_events)
        rss_start = _rss_mib(proc.pid)
        timer = FaultTimer(config, _faults(args.minutes))
        timer.start()
        for minute in range(args.minutes):
            result = _wrk(config.write_api_port, body, 60, CONNECTIONS, 1, delay_ms=delay_ms,
                          id_prefix=f"{tag}{minute + 1:04x}")
            happened = [what for at, what in timer.done if minute * 60 <= at < minute * 60 + 60]
            rows.append((minute + 1, result, happened))
            print(f"minute {minute + 1:2}: {result['rps']:7.0f} req/s  non-2xx "
                  f"{result['non2xx']:5}  p99 {result['p99']:7.2f} ms  "
                  f"{', '.join(happened) or '-'}", flush=True)
        timer.join(120)
        health = _wait_drained(config)
        rss_end = _rss_mib(proc.pid)
        _settle(config)
        accepted = _accepted_total(config) - accepted_before
        in_kafka, ours, distinct = _ids_in_kafka(
            config, offsets_before, end_offsets(config, config.topic_raw_events), tag)
    finally:
        _stop(proc)
        lifecycle.stop(config, **QUIET)
    sent = sum(r["requests"] for _, r, _ in rows)
    non2xx = sum(r["non2xx"] for _, r, _ in rows)
    print(f"== soak: {args.minutes} min at {args.fraction:.0%} of the measured capacity "
          f"({capacity:.0f} req/s closed loop; target {target:.0f} req/s, {CONNECTIONS} "
          f"paced connections)")
    lost = accepted - distinct
    print(f"requests answered {sent}, non-2xx {non2xx}; accepted {accepted} (the service's "
          f"counter: wrk does not count the answers it stopped waiting for at the end of "
          f"each minute); in Kafka {in_kafka} records, {distinct} distinct soak event ids: "
          f"{'OK, none lost' if lost == 0 else f'MISMATCH: {lost} accepted not found'}; "
          f"held twice {ours - distinct}; other records {in_kafka - ours}; spool at the "
          f"end {health.get('spool_pending')}")
    p99s = ", ".join(f"{result['p99']:.1f}" for _, result, _ in rows)
    print(f"p99 per minute (ms): {p99s}")
    print(f"memory (master + workers RSS): {rss_start:.0f} MiB at the start, "
          f"{rss_end:.0f} MiB at the end ({rss_end - rss_start:+.0f} MiB)")
    return 0 if lost == 0 and in_kafka == ours and non2xx == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--fraction", type=float, default=0.5)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
