"""The spool relay (api/write/relay.py) against the real Kafka of the test run: each batch in
a transaction with its progress record, so a committed reader gets every spooled record
exactly once — also when a relay died after its commit (the next one skips the batch) or
inside its transaction (killed -9 in a process of its own: the next one aborts it and
sends the batch again; only a reader of uncommitted records sees the dead one's copy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from analytics.kafka_settings import client_settings
from api.write.relay import SpoolRelay
from api.write.spool import DrainSession, Spool
from tests.integration.write.conftest import read_topic

pytestmark = pytest.mark.integration


def _spooled(spool: Spool, config, run: str, n: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    spool.append([(config.topic_raw_events, "k", json.dumps({"event_id": i, "url": run}))
                  for i in ids])
    return ids


def _relay(config, spool: Spool, batch: int = 500) -> SpoolRelay:
    return SpoolRelay(client_settings(config), spool, config.topic_spool_progress,
                      timeout_s=20, batch=batch)


def _committed(config, run: str, expected: int) -> list[str]:
    found = read_topic(config, config.topic_raw_events, lambda r: r.get("url") == run,
                       expected, timeout=60)
    return [r["event_id"] for r in found]


def _uncommitted(config, run: str) -> list[str]:
    """Everything in the topic, aborted transactions' records included."""
    consumer = Consumer({**client_settings(config), "group.id": f"t-{uuid.uuid4().hex}",
                         "isolation.level": "read_uncommitted", "enable.partition.eof": True,
                         "enable.auto.commit": False})
    topic = config.topic_raw_events
    partitions = consumer.list_topics(topic, timeout=20).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    found, ended = [], set()
    try:
        while len(ended) < len(partitions):
            for message in consumer.consume(1000, timeout=5):
                if message.error():
                    ended.add(message.partition())
                    continue
                try:
                    record = json.loads(message.value())
                except ValueError:
                    continue  # another test's deliberately malformed record
                if isinstance(record, dict) and record.get("url") == run:
                    found.append(record["event_id"])
    finally:
        consumer.close()
    return found


def test_batches_and_progress_go_in_transactions(write_config, tmp_path):
    config, run = write_config, uuid.uuid4().hex
    spool = Spool(tmp_path)
    ids = _spooled(spool, config, run, 1201)
    relay = _relay(config, spool)
    assert relay.drain() == 1201
    assert sorted(_committed(config, run, 1201)) == sorted(ids)
    assert relay.committed_through() == 1201  # the seq of the last record
    assert spool.pending_count() == 0


def test_a_relay_that_died_after_its_commit_is_not_repeated(write_config, tmp_path,
                                                            monkeypatch):
    config, run = write_config, uuid.uuid4().hex
    spool = Spool(tmp_path)
    ids = _spooled(spool, config, run, 1000)
    real = DrainSession.delete_through

    def die_after_the_first_commit(session, seq):
        raise SystemExit("killed between Kafka's commit and the spool's delete")

    monkeypatch.setattr(DrainSession, "delete_through", die_after_the_first_commit)
    with pytest.raises(SystemExit):
        _relay(config, spool, batch=400).drain()
    monkeypatch.setattr(DrainSession, "delete_through", real)
    assert spool.pending_count() == 1000  # nothing deleted: the batch is in Kafka only

    assert _relay(config, spool, batch=400).drain() == 600  # the first 400 skipped
    assert sorted(_committed(config, run, 1000)) == sorted(ids)  # each once
    assert spool.pending_count() == 0


DIE_INSIDE_THE_TRANSACTION = textwrap.dedent("""
    import os, signal, sys
    from analytics.config import Config
    from analytics.kafka_settings import client_settings
    from api.write.relay import SpoolRelay, _confluent_producer
    from api.write.spool import Spool

    config = Config.from_env()

    def producer(settings):
        real = _confluent_producer(settings)

        class DiesBeforeCommitting:
            def __getattr__(self, name):
                return getattr(real, name)

            def commit_transaction(self, timeout=None):
                real.flush(30)  # the batch is in the log, the transaction still open
                os.kill(os.getpid(), signal.SIGKILL)

        return DiesBeforeCommitting()

    SpoolRelay(client_settings(config), Spool(sys.argv[1]), config.topic_spool_progress,
               timeout_s=20, batch=300, producer_factory=producer).drain()
""")


def test_a_relay_killed_inside_its_transaction_is_aborted(write_config, tmp_path):
    config, run = write_config, uuid.uuid4().hex
    spool = Spool(tmp_path)
    ids = _spooled(spool, config, run, 700)
    died = subprocess.run([sys.executable, "-c", DIE_INSIDE_THE_TRANSACTION, str(tmp_path)],
                          env={**os.environ, **config.to_env()},
                          capture_output=True, text=True, timeout=120, check=False)
    assert died.returncode == -9, died.stderr[-2000:]
    assert spool.pending_count() == 700

    assert _relay(config, spool, batch=300).drain() == 700
    assert sorted(_committed(config, run, 700)) == sorted(ids)  # each once
    everything = _uncommitted(config, run)
    assert len(everything) == 1000  # the dead relay's 300, aborted, are in the log too
    assert set(everything) == set(ids)
