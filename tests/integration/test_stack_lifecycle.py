"""Start/stop/recovery of the local run, on a private stack (own state folder and ports)
so that the shared services of the test run are not disturbed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import time
import uuid
from datetime import UTC, datetime

import psutil
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from analytics.config import REPO_ROOT, Config
from analytics.storage.migrate import migrate
from analytics.storage.session import connect
from stack import jars, lifecycle
from stack.schema import apply_schema
from stack.services import services
from stack.supervisor import Supervisor

pytestmark = [pytest.mark.integration, pytest.mark.lifecycle]


@pytest.fixture(scope="module")
def private() -> Config:
    # the state folder inside the repository: PostgreSQL runs as the `postgres` user when
    # the tests run as root, and pytest's temporary folders are private to root
    state = REPO_ROOT / f".state-lifecycle-{uuid.uuid4().hex[:6]}"
    base = Config.from_env()
    config = base.replace(
        state_dir=state,
        kafka_port=19092, kafka_controller_port=19093,
        cassandra_port=19042, cassandra_storage_port=17000, write_api_port=18800,
        read_api_port=18801, airflow_port=18880, postgres_port=15433,
        postgres_password="lifecycle-test", airflow_secret="lifecycle-test",
        cassandra_keyspace="analytics_lifecycle", start_timeout_s=150.0,
    )
    jars.resolve_all(config)
    yield config
    lifecycle.stop(config, log=lambda _: None)
    shutil.rmtree(state, ignore_errors=True)


def _pids(config: Config) -> dict[str, int]:
    return {row.name: row.pid for row in lifecycle.status(config)}


def _all_ready(config: Config) -> bool:
    return all(row.ready for row in lifecycle.status(config))


def _nothing_left(config: Config) -> None:
    assert Supervisor(config, services(config)).pid() is None
    assert lifecycle.leftovers(config) == []
    for port in (config.kafka_port, config.kafka_controller_port, config.cassandra_port,
                 config.cassandra_storage_port, config.write_api_port, config.read_api_port,
                 config.airflow_port, config.postgres_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"


def _read_topic(config: Config, marker_value: str) -> list[dict]:
    consumer = Consumer({"bootstrap.servers": config.bootstrap_servers,
                         "group.id": f"lc-{uuid.uuid4().hex}", "enable.auto.commit": False})
    partitions = consumer.list_topics(config.topic_raw_events, timeout=20) \
        .topics[config.topic_raw_events].partitions
    consumer.assign([TopicPartition(config.topic_raw_events, p, 0) for p in partitions])
    found, idle = [], 0
    while idle < 6:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            idle += 1
            continue
        record = json.loads(msg.value())
        if record.get("marker") == marker_value:
            found.append(record)
    consumer.close()
    return sorted(found, key=lambda r: r["n"])


def test_start_stop_start_keeps_topics_messages_rows_and_migrations(private):
    notes: list[str] = []
    began = time.monotonic()
    lifecycle.start(private, log=notes.append)
    assert time.monotonic() - began < private.start_timeout_s
    assert _all_ready(private)
    apply_schema(private, log=notes.append)

    marker_value = uuid.uuid4().hex
    producer = Producer({"bootstrap.servers": private.bootstrap_servers, "acks": "all",
                         "enable.idempotence": True})
    sent = [{"marker": marker_value, "n": n} for n in range(10)]
    for record in sent:
        producer.produce(private.topic_raw_events, json.dumps(record).encode())
    assert producer.flush(30) == 0

    event_id = uuid.uuid4()
    hour = datetime(2026, 1, 1, 0, tzinfo=UTC)
    cluster, session = connect(private, private.cassandra_keyspace)
    session.execute("INSERT INTO raw_event_chunks (site_id, hour, kafka_topic, kafka_partition, "
                    "first_offset, events, payload) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    ("s1", hour, "t", 0, 0, 1, [json.dumps({"event_id": str(event_id)})]))
    cluster.shutdown()

    lifecycle.stop(private, log=notes.append)
    _nothing_left(private)

    lifecycle.start(private, log=notes.append)
    assert _read_topic(private, marker_value) == sent
    cluster, session = connect(private, private.cassandra_keyspace)
    try:
        row = session.execute("SELECT payload FROM raw_event_chunks WHERE site_id = %s AND "
                              "hour = %s", ("s1", hour)).one()
        assert json.loads(row.payload[0]) == {"event_id": str(event_id)}
        assert migrate(private, session) == []  # nothing re-runs after a restart
    finally:
        cluster.shutdown()


def test_start_when_running_is_a_no_op(private):
    lifecycle.start(private, log=lambda _: None)
    before = _pids(private)
    notes: list[str] = []
    lifecycle.start(private, log=notes.append)
    assert _pids(private) == before
    # (services that need the schema are reported after it is applied)
    assert sorted(n for n in notes if "running" in n or "ready" in n) == sorted(
        f"{name}: already running at {service.address}"
        for name, service in services(private).items())


def test_killed_service_is_restarted_by_the_supervisor(private):
    lifecycle.start(private, log=lambda _: None)
    kafka_pid = _pids(private)["kafka"]
    os.kill(kafka_pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pid = _pids(private)["kafka"]
        if pid and pid != kafka_pid and _all_ready(private):
            break
        time.sleep(1)
    assert _pids(private)["kafka"] != kafka_pid
    assert _all_ready(private)


def test_killed_supervisor_leaves_orphans_that_start_cleans_up(private):
    lifecycle.start(private, log=lambda _: None)
    sup = Supervisor(private, services(private))
    services_pids = set(_pids(private).values())
    os.kill(sup.pid(), signal.SIGKILL)
    time.sleep(1)
    orphans = {p.pid for p in lifecycle.leftovers(private)}
    assert services_pids <= orphans  # every service (and the gunicorn workers) lives on

    notes: list[str] = []
    lifecycle.start(private, log=notes.append)
    assert any("stale PID file" in n for n in notes)
    assert sum("left running by an earlier run" in n for n in notes) == len(orphans)
    assert _all_ready(private)
    assert not orphans & set(_pids(private).values())


def test_stale_pid_file_is_replaced(private):
    lifecycle.stop(private, log=lambda _: None)
    sup = Supervisor(private, services(private))
    dead = psutil.Popen(["true"])
    dead.wait()
    sup.pid_file.parent.mkdir(parents=True, exist_ok=True)
    sup.pid_file.write_text(f"{dead.pid}\n")
    notes: list[str] = []
    lifecycle.start(private, ["kafka"], log=notes.append)
    assert notes[0].startswith("removed stale PID file")
    assert sup.pid() not in (None, dead.pid)
    lifecycle.stop(private, log=lambda _: None)
    _nothing_left(private)


def test_port_taken_gives_a_clear_error_not_a_hang(private):
    lifecycle.stop(private, log=lambda _: None)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", private.kafka_port))
        squatter.listen()
        began = time.monotonic()
        with pytest.raises(lifecycle.StackError) as error:
            lifecycle.start(private, ["kafka"], log=lambda _: None)
        assert time.monotonic() - began < 20
    message = str(error.value)
    assert f"port {private.kafka_port} (kafka) is already in use by pid {os.getpid()}" in message
    lifecycle.stop(private, log=lambda _: None)
    _nothing_left(private)


def test_service_that_dies_while_starting_reports_its_log(private):
    broken = private.replace(kafka_heap="not-a-size")
    began = time.monotonic()
    with pytest.raises(lifecycle.StackError) as error:
        lifecycle.start(broken, ["kafka"], log=lambda _: None)
    assert time.monotonic() - began < 30
    message = str(error.value)
    assert "kafka stopped while starting" in message
    assert "Invalid initial heap size" in message
    lifecycle.stop(private, log=lambda _: None)
    _nothing_left(private)
