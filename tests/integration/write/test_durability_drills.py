"""Durability drills through HTTP against the write service under gunicorn. Each ends with
every acknowledged (2xx) event in Kafka exactly once, counted by event id:

* a torn spool: a writer killed inside a transaction that had spilled into the SQLite
  log, the whole service killed -9, a torn frame appended to the log; then more writes;
* a write worker killed -9 (twice) under load while Kafka is down, then Kafka back;
* Cassandra stopped during load: events still accepted (2xx), none lost.

Kafka (drills 1-2) and Cassandra (drill 3) are private ones (own state folder and ports),
so the shared services of the test run keep serving the other tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from http.client import HTTPException

import psutil
import pytest

from analytics.sites import Site, SiteRepository
from api.write.spool import DB_NAME
from stack import jars, lifecycle
from tests.integration.write.conftest import WriteService, http, post_json, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.lifecycle]

QUIET = {"log": lambda _: None}


@pytest.fixture
def drill_kafka(write_config, test_sites, tmp_path):
    config = write_config.replace(
        state_dir=tmp_path / "kafka-stack", kafka_port=19392, kafka_controller_port=19393,
        kafka_delivery_timeout_ms=2000, rate_limit_per_s=0.0)
    lifecycle.start(config, ["kafka"], **QUIET)
    from analytics.kafka_topics import ensure_topics

    ensure_topics(config)
    yield config
    lifecycle.stop(config, **QUIET)


def _events(run: str, n: int, tag: str = "e") -> list[dict]:
    return [{"event_id": str(uuid.uuid4()), "site_id": "shop.test", "kind": "pageview",
             "url": f"https://shop.example/{run}/{tag}"} for _ in range(n)]


def _ids(events: list[dict]) -> list[str]:
    return [e["event_id"] for e in events]


def _health(service: WriteService) -> dict:
    return json.loads(http("GET", service.base + "/healthz")[2])


def _wait_drained(service: WriteService, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    health = {}
    while time.monotonic() < deadline:
        health = _health(service)
        if health["kafka"] == "up" and health["spool_pending"] == 0:
            return health
        time.sleep(0.5)
    raise AssertionError(f"the spool was not drained: {health}")


def _in_kafka(config, run: str, expected: int) -> list[str]:
    records = read_topic(config, config.topic_raw_events,
                         lambda r: run in r.get("url", ""), expected, timeout=60)
    return [r["event_id"] for r in records]


def _workers(service: WriteService) -> list[psutil.Process]:
    return psutil.Process(service.proc.pid).children()


def _kill_service(service: WriteService) -> None:
    """kill -9 the gunicorn master and its workers at once: nothing closes the spool."""
    procs = [psutil.Process(service.proc.pid), *_workers(service)]
    for proc in procs:
        proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(procs, timeout=10)
    service.proc.wait(10)


_TORN_WRITER = """
import json, sqlite3, sys, time
db, topic, run = sys.argv[1:]
connection = sqlite3.connect(db, isolation_level=None, timeout=10)
connection.execute("PRAGMA cache_size=5")  # the open transaction spills into the WAL
connection.execute("BEGIN IMMEDIATE")
for i in range(2000):
    value = json.dumps({"event_id": f"torn-{i}", "url": f"https://shop.example/{run}/torn",
                        "pad": "x" * 2000})
    connection.execute("INSERT INTO records (topic, key, value) VALUES (?, ?, ?)",
                       (topic, None, value.encode()))
print("ready", flush=True)
time.sleep(120)
"""


def _writer_killed_mid_transaction(db, topic: str, run: str) -> None:
    writer = subprocess.Popen([sys.executable, "-c", _TORN_WRITER, str(db), topic, run],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)


def test_torn_spool_then_more_writes_every_acknowledged_event_once(drill_kafka, tmp_path):
    config = drill_kafka
    service_config = config.replace(state_dir=tmp_path / "service", write_api_port=18510)
    db = service_config.spool_path / DB_NAME
    run = uuid.uuid4().hex
    acked: list[str] = []

    def send(service, n, tag, spooled):
        events = _events(run, n, tag)
        status, _, body = post_json(service.base + "/api/event", events)
        assert status == 202, body
        assert (status, body["accepted"], body["spooled"]) == (202, n, n if spooled else 0)
        acked.extend(_ids(events))

    service = WriteService(service_config).start()
    try:
        send(service, 5, "before", spooled=False)
        lifecycle.stop(config, ["kafka"], **QUIET)
        for _ in range(3):
            send(service, 10, "spooled", spooled=True)
        _writer_killed_mid_transaction(db, config.topic_raw_events, run)
        send(service, 10, "after-torn-writer", spooled=True)  # the dead writer's lock is gone
    finally:
        _kill_service(service)
    assert os.path.getsize(f"{db}-wal") > 0
    with open(f"{db}-wal", "ab") as wal:  # a frame torn by the crash at the end of the log
        wal.write(os.urandom(3000))

    service = WriteService(service_config).start()
    try:
        assert _health(service)["spool_pending"] == 40
        send(service, 10, "after-crash", spooled=True)
        lifecycle.start(config, ["kafka"], **QUIET)
        _wait_drained(service)
        time.sleep(2)  # every worker's relay saw the empty spool and closed its breaker
        send(service, 5, "kafka-back", spooled=False)
    finally:
        service.stop()

    got = _in_kafka(config, run, len(acked))
    assert sorted(got) == sorted(acked)  # every acknowledged one, none twice, nothing torn


class Load:
    """Client threads, each posting one new event per request until stopped."""

    def __init__(self, base: str, run: str, threads: int = 4):
        self.base, self.run = base, run
        self.sent: list[str] = []
        self.acked: list[str] = []
        self.statuses: Counter = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            [event] = _events(self.run, 1, "load")
            with self._lock:
                self.sent.append(event["event_id"])
            try:
                status, _, _ = post_json(self.base + "/api/event", event)
            except (OSError, HTTPException, ValueError) as exc:
                status = type(exc).__name__  # e.g. the worker died mid-request
            with self._lock:
                self.statuses[status] += 1
                if status == 202:
                    self.acked.append(event["event_id"])


def test_worker_killed_under_load_with_kafka_down_then_kafka_back(drill_kafka, tmp_path):
    config = drill_kafka
    service_config = config.replace(state_dir=tmp_path / "service", write_api_port=18520,
                                    write_api_workers=3)
    run = uuid.uuid4().hex
    service = WriteService(service_config).start()
    try:
        lifecycle.stop(config, ["kafka"], **QUIET)
        killed = []
        with Load(service.base, run) as load:
            for pause in (4, 5):
                time.sleep(pause)
                victim = _workers(service)[0]
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                killed.append(victim.pid)
            time.sleep(4)
        assert len(killed) == 2
        assert load.statuses[202] > 100, load.statuses
        deadline = time.monotonic() + 30  # gunicorn replaced the killed workers
        while len(_workers(service)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not {w.pid for w in _workers(service)} & set(killed)
        assert _health(service)["spool_pending"] >= len(load.acked)
        lifecycle.start(config, ["kafka"], **QUIET)
        _wait_drained(service)
    finally:
        service.stop()

    got = _in_kafka(config, run, len(load.acked))
    assert len(got) == len(set(got))  # none twice
    assert set(load.acked) <= set(got)  # every acknowledged one
    assert set(got) <= set(load.sent)  # (and some the killed workers kept but never answered)


@pytest.fixture
def private_cassandra(write_config, tmp_path):
    config = write_config.replace(
        state_dir=tmp_path / "cassandra-stack", cassandra_port=19442,
        cassandra_storage_port=17400, cassandra_keyspace="analytics_drill",
        start_timeout_s=150.0)
    jars.resolve_all(config, log=lambda _: None)
    lifecycle.start(config, ["cassandra"], **QUIET)
    from analytics.storage.session import connect
    from stack.schema import apply_schema

    apply_schema(config, **QUIET)
    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        SiteRepository(session).save(Site(site_id="shop.test", domain="shop.example"))
    finally:
        cluster.shutdown()
    yield config
    lifecycle.stop(config, **QUIET)


def test_cassandra_stopped_during_load_events_are_still_accepted(private_cassandra, tmp_path):
    config = private_cassandra
    service_config = config.replace(state_dir=tmp_path / "service", write_api_port=18530,
                                    rate_limit_per_s=0.0, site_cache_ttl_s=1.0)
    run = uuid.uuid4().hex
    service = WriteService(service_config).start()
    try:
        with Load(service.base, run) as load:
            time.sleep(3)
            stopped_at = len(load.sent)
            lifecycle.stop(config, ["cassandra"], **QUIET)
            time.sleep(10)  # ten times the site cache's TTL
            health = _health(service)
        assert len(load.sent) - stopped_at > 100  # load went on after Cassandra stopped
        assert health["kafka"] == "up"
    finally:
        service.stop()
    assert load.statuses == {202: len(load.sent)}  # every request accepted
    got = _in_kafka(config, run, len(load.acked))
    assert sorted(got) == sorted(load.acked)


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs as the spool's disk (mount needs root; refused: the drill is skipped
    with the reason)."""
    mountpoint = tmp_path / "service" / "spool"
    mountpoint.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for the spool: {done.stderr.strip()}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_full_disk_while_spooling_no_2xx_for_what_was_not_kept(drill_kafka, small_disk,
                                                               tmp_path):
    config = drill_kafka
    service_config = config.replace(state_dir=tmp_path / "service", write_api_port=18540,
                                    write_api_workers=2)
    assert service_config.spool_path == small_disk
    run = uuid.uuid4().hex
    acked, refused = [], []

    def send(n):
        events = _events(run, n, "full")
        status, _, body = post_json(service.base + "/api/event", events)
        assert status in (202, 503), (status, body)
        (acked if status == 202 else refused).extend(_ids(events))
        return status, body

    service = WriteService(service_config).start()
    try:
        lifecycle.stop(config, ["kafka"], **QUIET)
        for _ in range(400):  # 20 events of ~0.5 KB a request: the 1 MiB disk fills up
            status, body = send(20)
            if status == 503:
                assert body["title"] == "not_kept", body
                break
        assert acked and refused, "the disk never filled"
        for _ in range(5):  # still full: every further request is refused, none answered 2xx
            assert send(20)[0] == 503
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        assert [send(20)[0] for _ in range(2)] == [202, 202]  # room again: spooled
        lifecycle.start(config, ["kafka"], **QUIET)
        _wait_drained(service)
    finally:
        service.stop()

    time.sleep(3)  # anything refused but kept anyway would have arrived too
    got = _in_kafka(config, run, len(acked))
    assert sorted(got) == sorted(acked)  # every acknowledged one once, no refused one


def test_relay_killed_mid_drain_every_acknowledged_event_arrives_once(drill_kafka, tmp_path):
    """The relay is a thread of each worker: kill -9 the worker while it drains. Each batch
    goes to Kafka in a transaction with the relay's progress (api/write/relay.py): the
    next relay aborts the dead one's open transaction and skips what it committed, so a
    committed reader finds every acknowledged event exactly once."""
    from api.write.spool import Spool

    config = drill_kafka
    service_config = config.replace(state_dir=tmp_path / "service", write_api_port=18550,
                                    write_api_workers=1)
    run = uuid.uuid4().hex
    acked = []
    service = WriteService(service_config).start()
    try:
        lifecycle.stop(config, ["kafka"], **QUIET)
        for _ in range(600):  # 50 events a request (the body limit is 16 KiB)
            events = _events(run, 50, "backlog")
            status, _, body = post_json(service.base + "/api/event", events)
            assert (status, body.get("spooled")) == (202, 50), body
            acked.extend(_ids(events))
        backlog = _health(service)["spool_pending"]
        assert backlog == 30_000
        lifecycle.start(config, ["kafka"], **QUIET)
        db = Spool(service_config.spool_path)  # watch the backlog straight from the file
        deadline = time.monotonic() + 60
        while db.pending_count() == backlog and time.monotonic() < deadline:
            time.sleep(0.01)
        [worker] = _workers(service)
        worker.send_signal(signal.SIGKILL)  # mid-drain: the first batches are gone
        worker.wait(10)
        left = db.pending_count()
        assert 0 < left < backlog, left
        _wait_drained(service)
    finally:
        service.stop()

    got = _in_kafka(config, run, len(acked))
    assert sorted(got) == sorted(acked)  # every acknowledged event, once
