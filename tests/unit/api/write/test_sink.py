"""The Kafka sink on a fake producer: acknowledged or spooled, replayed in order, a fatal
producer error replaced (and reported), a spool that cannot write raised."""

from __future__ import annotations

import asyncio
import json

import pytest
from confluent_kafka import KafkaError, KafkaException

from api.write.relay import SpoolRelay
from api.write.sink import KafkaSink, Published
from api.write.spool import Spool, SpoolError

PROGRESS = "sitelens.spool-progress"


class FakeMessage:
    def __init__(self, topic, key, value):
        self._topic, self._key, self._value = topic, key, value

    def value(self):
        return self._value


class FakeProducer:
    """Delivers on ``poll``: acknowledged when ``broker_up``, else failed; after a fatal
    error ``produce`` raises as librdkafka's does."""

    def __init__(self, settings: dict, broker: dict):
        self.settings = settings
        self.broker = broker  # shared: {"up": bool, "log": [values Kafka acknowledged]}
        self.queue: list = []
        self.fatal = False
        self.purged = self.flushed = False

    def produce(self, topic, value=None, key=None, on_delivery=None):
        if self.fatal:
            raise KafkaException(KafkaError(KafkaError._FATAL, "producer is fenced", fatal=True))
        self.queue.append((FakeMessage(topic, key, value), on_delivery))

    def poll(self, timeout=0):
        queued, self.queue = self.queue, []
        for message, callback in queued:
            if self.broker["up"]:
                self.broker["log"].append(message.value().decode())
                callback(None, message)
            else:
                callback(KafkaError(KafkaError._MSG_TIMED_OUT, "timed out"), message)
        return len(queued)

    def purge(self, *args):
        self.purged = True
        for message, callback in self.queue:
            callback(KafkaError(KafkaError._PURGE_QUEUE, "purged"), message)
        self.queue = []

    def flush(self, timeout=0):
        self.flushed = True
        return self.poll()

    def list_topics(self, timeout=None):
        if not self.broker["up"]:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT, "down"))
        return type("Metadata", (), {"brokers": {1: "broker"}})()

    def fail_fatally(self):
        self.fatal = True
        self.settings["error_cb"](KafkaError(KafkaError._FATAL, "idempotence state lost",
                                             fatal=True))


class FakeTransactionalProducer:
    """The relay's producer: a transaction's records reach the broker's log at its commit,
    all or none; the progress record goes to ``broker["progress"]``."""

    def __init__(self, settings: dict, broker: dict):
        self.settings, self.broker = settings, broker
        self.pending: list | None = None

    def _check(self):
        if not self.broker["up"]:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT, "down"))

    def init_transactions(self, timeout=None):
        self._check()

    def begin_transaction(self):
        self.pending = []

    def produce(self, topic, value=None, key=None):
        self.pending.append((topic, key, value))

    def commit_transaction(self, timeout=None):
        self._check()
        for topic, key, value in self.pending:
            if topic == PROGRESS:
                self.broker["progress"][key.decode()] = json.loads(value)["through_seq"]
            else:
                self.broker["log"].append(value.decode())
        self.pending = None

    def abort_transaction(self, timeout=None):
        self.pending = None

    def flush(self, timeout=None):
        return 0


class FakeRelay(SpoolRelay):
    """The relay on fake Kafka clients: its progress read from the fake broker."""

    def __init__(self, spool: Spool, broker: dict):
        super().__init__({}, spool, PROGRESS, producer_factory=lambda s: (
            FakeTransactionalProducer(s, broker)))
        self.broker = broker

    def committed_through(self):
        return self.broker["progress"].get(self.spool.spool_id)


@pytest.fixture
def broker():
    return {"up": True, "log": [], "progress": {}}


def _sink(spool: Spool, broker: dict, factory, **kwargs) -> KafkaSink:
    sink = KafkaSink({"bootstrap.servers": "fake:9092"}, spool, FakeRelay(spool, broker), 100,
                     producer_factory=factory, start=False, **kwargs)
    sink.wait_s = 2.0
    return sink


@pytest.fixture
def sink(tmp_path, broker):
    producers: list[FakeProducer] = []

    def factory(settings):
        producers.append(FakeProducer(settings, broker))
        return producers[-1]

    sink = _sink(Spool(tmp_path), broker, factory, replace_backoff_s=0)
    sink.producers = producers
    return sink


def _records(prefix: str, n: int):
    return [("events.raw", "k", f"{prefix}{i}") for i in range(n)]


async def _publish(sink: KafkaSink, records) -> Published:
    """Publish while a poll loop serves the delivery reports (as the poll thread does)."""
    task = asyncio.ensure_future(sink.publish(records))
    while not task.done():
        sink.producer.poll(0)
        sink.replace_producer_if_fatal()
        await asyncio.sleep(0.001)
    return task.result()


def test_acknowledged_records_are_not_spooled(sink, broker):
    assert asyncio.run(_publish(sink, _records("a", 3))) == Published(delivered=3, spooled=0)
    assert broker["log"] == ["a0", "a1", "a2"]
    assert (sink.spool.pending_count(), sink.breaker_open) == (0, False)


def test_unacknowledged_records_are_spooled_and_replayed_in_order(sink, broker):
    broker["up"] = False
    assert asyncio.run(_publish(sink, _records("a", 2))) == Published(delivered=0, spooled=2)
    assert sink.breaker_open
    broker["up"] = True
    # until the relay has seen Kafka answer, later records are spooled (no wait on Kafka)
    assert asyncio.run(_publish(sink, _records("b", 1))) == Published(delivered=0, spooled=1)
    assert broker["log"] == []
    assert _relay(sink) == 3
    assert broker["log"] == ["a0", "a1", "b0"]
    assert (sink.spool.pending_count(), sink.breaker_open) == (0, False)


def test_once_kafka_answers_new_records_go_to_it_beside_the_backlog(sink, broker, tmp_path):
    """A backlog in the spool (here another worker's) does not hold new records back:
    with the breaker closed they are delivered at once, and the relay replays the rest."""
    Spool(tmp_path).append(_records("backlog", 3))  # another worker spooled these
    assert asyncio.run(_publish(sink, _records("new", 2))) == Published(delivered=2)
    assert broker["log"] == ["new0", "new1"]
    assert sink.spool.pending_count() == 3
    assert _relay(sink) == 3
    assert broker["log"] == ["new0", "new1", "backlog0", "backlog1", "backlog2"]


def test_the_relay_closes_the_breaker_when_kafka_answers(sink, broker):
    broker["up"] = False
    asyncio.run(_publish(sink, _records("a", 1)))
    assert (_relay(sink), sink.breaker_open) == (0, True)  # still down: stays open
    broker["up"] = True
    assert (_relay(sink), sink.breaker_open) == (1, False)
    assert asyncio.run(_publish(sink, _records("b", 1))) == Published(delivered=1)


def test_a_replay_that_kafka_fails_opens_the_breaker_again(sink, broker, monkeypatch):
    broker["up"] = False
    asyncio.run(_publish(sink, _records("a", 2)))
    broker["up"] = True
    monkeypatch.setattr(FakeTransactionalProducer, "commit_transaction",
                        lambda self, timeout=None: (_ for _ in ()).throw(
                            KafkaException(KafkaError(KafkaError._TIMED_OUT, "no answer"))))
    with pytest.raises(RuntimeError, match="Kafka did not take 2 spooled records"):
        sink.relay_once()
    assert (sink.breaker_open, sink.spool.pending_count(), broker["log"]) == (True, 2, [])


def test_the_relay_sends_a_batch_with_its_progress_in_one_transaction(sink, broker):
    broker["up"] = False
    asyncio.run(_publish(sink, _records("a", 3)))
    broker["up"] = True
    assert sink.relay_once() == 3
    assert broker["log"] == ["a0", "a1", "a2"]
    assert broker["progress"] == {sink.spool.spool_id: 3}  # the seq of the last record


def test_what_a_stopped_relay_committed_is_not_sent_again(sink, broker):
    """A relay that committed a batch and died before deleting it from the spool: the next
    one reads the progress record and deletes the batch instead of sending it again."""
    broker["up"] = False
    asyncio.run(_publish(sink, _records("a", 3)))
    broker["up"] = True
    broker["log"] += ["a0", "a1"]  # the dead relay's committed batch ...
    broker["progress"][sink.spool.spool_id] = 2  # ... and its progress record
    assert sink.relay_once() == 1
    assert broker["log"] == ["a0", "a1", "a2"]
    assert sink.spool.pending_count() == 0


def _relay(sink: KafkaSink) -> int:
    """relay_once with the poll thread's work done alongside (a thread in the service)."""
    import threading

    done = threading.Event()

    def poll():
        while not done.is_set():
            sink.producer.poll(0)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        return sink.relay_once()
    finally:
        done.set()
        poller.join()


def test_relay_keeps_what_kafka_did_not_take(sink, broker):
    broker["up"] = False
    asyncio.run(_publish(sink, _records("a", 2)))
    assert _relay(sink) == 0  # Kafka unreachable: not even tried
    assert sink.spool.pending_count() == 2


def test_a_fatal_error_replaces_the_producer_and_health_says_so_meanwhile(sink, broker):
    first = sink.producer
    assert sink.kafka_reachable() is True

    async def scenario():
        in_flight = asyncio.ensure_future(sink.publish(_records("in-flight", 1)))
        await asyncio.sleep(0.01)  # produced, not acknowledged yet
        first.fail_fatally()
        assert sink.kafka_reachable() is False  # brokers answer, but this producer cannot
        assert sink.kafka_state() == {"producer": "failed",
                                      "producer_error": "_FATAL: idempotence state lost",
                                      "producer_replacements": 0}
        during = await sink.publish(_records("during", 2))  # produce raises: spooled
        assert sink.replace_producer_if_fatal() is True  # purges the old queue
        return await in_flight, during

    assert asyncio.run(scenario()) == (Published(spooled=1), Published(spooled=2))
    assert (len(sink.producers), sink.producer is sink.producers[1]) == (2, True)
    assert (first.purged, first.flushed) == (True, True)
    assert sink.kafka_state() == {"producer": "ok", "producer_error": None,
                                  "producer_replacements": 1}
    assert sink.kafka_reachable() is True
    assert _relay(sink) == 3
    # spooled in the order their failure was known (the in-flight one when it was purged)
    assert broker["log"] == ["during0", "during1", "in-flight0"]
    assert asyncio.run(_publish(sink, _records("after", 1))) == Published(delivered=1)
    assert broker["log"][-1] == "after0"


def test_errors_of_a_replaced_producer_are_ignored(sink):
    old = sink.producer
    old.fail_fatally()
    sink.replace_producer_if_fatal()
    old.settings["error_cb"](KafkaError(KafkaError._FATAL, "late report", fatal=True))
    assert (sink.kafka_state()["producer"], sink.replace_producer_if_fatal()) == ("ok", False)


def test_non_fatal_errors_do_not_replace_the_producer(sink):
    sink.producer.settings["error_cb"](KafkaError(KafkaError._ALL_BROKERS_DOWN, "down"))
    assert (sink.replace_producer_if_fatal(), len(sink.producers)) == (False, 1)
    assert sink.state.last_error == "_ALL_BROKERS_DOWN: down"


def test_a_spool_that_cannot_write_fails_the_publish(tmp_path, broker):
    sink = _sink(Spool(tmp_path, max_bytes=64 * 1024), broker,
                 lambda s: FakeProducer(s, broker))
    broker["up"] = False
    with pytest.raises(SpoolError):
        asyncio.run(_publish(sink, [("events.raw", None, "x" * 50_000)]))


def test_the_producer_is_idempotent_and_has_an_error_callback(sink):
    settings = sink.producer.settings
    assert (settings["enable.idempotence"], settings["acks"], callable(settings["error_cb"])) \
        == (True, "all", True)


def test_background_threads_stop(tmp_path, broker):
    spool = Spool(tmp_path)
    sink = KafkaSink({}, spool, FakeRelay(spool, broker), 100, relay_interval_s=0.01,
                     producer_factory=lambda s: FakeProducer(s, broker))
    sink.close(timeout=2)
    assert [t.is_alive() for t in sink._threads] == [False, False]
