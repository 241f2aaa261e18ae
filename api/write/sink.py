"""Kafka sink of the write service: acknowledged by Kafka, or durably spooled.

``publish`` returns only when every record is either acknowledged by the brokers
(idempotent producer, ``acks=all``) or committed to the on-disk spool; when the spool
cannot keep them it raises :class:`~api.write.spool.SpoolError` and the request must not
be answered 2xx. When a delivery fails the sink opens its breaker: later records go
straight to the spool, without waiting for Kafka, until the relay thread sees the brokers
answer again. Then new records go to Kafka at once while the relay
(:class:`~api.write.relay.SpoolRelay`: exactly once, in Kafka transactions) replays the
spool beside them (oldest first, in bounded batches): a backlog never makes new requests wait
on the disk, so a service under load leaves spool mode as soon as Kafka is back (measured:
``bench/soak_bench.py``). Spooled records can so reach Kafka after newer ones; every
consumer orders by event time and dedups by event id, and a replay after an outage longer
than the speed layer's watermark is late either way.

A fatal producer error (``KafkaError.fatal()``, e.g. the idempotence state is lost) makes
the producer useless for good; the poll thread then replaces it with a new one (the old
one's queued records fail and are spooled by their requests). Meanwhile
:meth:`KafkaSink.kafka_reachable` answers False, so ``/healthz`` says Kafka is down.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass

from api.write import counters
from api.write.producer_state import ProducerState
from api.write.relay import SpoolRelay
from api.write.spool import Record, Spool

log = logging.getLogger(__name__)


@dataclass
class Published:
    delivered: int = 0
    spooled: int = 0


def _confluent_producer(settings: dict):
    from confluent_kafka import Producer

    return Producer(settings)


def _produce_errors() -> tuple[type[BaseException], ...]:
    """What ``produce`` raises for a record it did not take: a full queue, or a producer
    in a fatal state (KafkaException ``_FATAL``)."""
    from confluent_kafka import KafkaException

    return BufferError, KafkaException


class KafkaSink:
    def __init__(self, producer_settings: dict, spool: Spool, relay: SpoolRelay,
                 delivery_timeout_ms: int, relay_interval_s: float = 1.0, *,
                 producer_factory=_confluent_producer, start: bool = True,
                 replace_backoff_s: float = 1.0):
        self.settings = {
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": delivery_timeout_ms,
            "socket.connection.setup.timeout.ms": 3000,
            "reconnect.backoff.max.ms": 1000,
            "log_level": 2,  # broker-down noise every 50 ms; /healthz and /metrics tell
            **producer_settings,
        }
        self.spool, self.relay = spool, relay
        self.wait_s = delivery_timeout_ms / 1000 + 2.0
        self.relay_interval_s = relay_interval_s
        self._factory = producer_factory
        self._produce_errors = _produce_errors()
        self.state = ProducerState(replace_backoff_s)
        self.producer = self._new_producer()
        self._breaker_open = threading.Event()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._poll_loop, daemon=True, name="kafka-poll"),
                         threading.Thread(target=self._relay_loop, daemon=True, name="spool-relay")]
        if start:
            for thread in self._threads:
                thread.start()

    # -- the producer and its replacement after a fatal error -------------------------------
    def _new_producer(self):
        generation = self.state.generation + 1
        producer = self._factory({**self.settings, "error_cb": (
            lambda err, g=generation: self.state.on_error(g, err))})
        self.state.generation = generation
        return producer

    def replace_producer_if_fatal(self) -> bool:
        """After a fatal error: a new producer for new records; the old one's queued
        records are purged (their delivery reports fail them, so they are spooled)."""
        if not self.state.replacement_due():
            return False
        old = self.producer
        try:
            self.producer = self._new_producer()
        except Exception as exc:  # keep the old (failing) one; try again after the backoff
            log.error("Kafka producer could not be recreated: %s", exc)
            self.state.replacement_failed(str(exc))
            return False
        self.state.replaced()
        log.warning("Kafka producer recreated after a fatal error (producer #%d)",
                    self.state.generation)
        try:
            old.purge()
            old.flush(self.wait_s)
        except Exception as exc:  # the old producer is being dropped either way
            log.warning("settling the failed Kafka producer: %s", exc)
        return True

    # -- the hot path (on the event loop) --------------------------------------------------------
    async def publish(self, records: list[Record]) -> Published:
        if not records:
            return Published()
        if self._breaker_open.is_set():
            await asyncio.to_thread(self.spool.append, records)
            counters.SPOOLED.inc(len(records))
            return Published(spooled=len(records))
        failed = await self._produce_and_await(records)
        if failed:
            if not self._breaker_open.is_set():
                log.warning("Kafka did not acknowledge %d records; spooling to %s until it "
                            "is back", len(failed), self.spool.directory)
            self._breaker_open.set()
            await asyncio.to_thread(self.spool.append, failed)
            counters.SPOOLED.inc(len(failed))
        return Published(delivered=len(records) - len(failed), spooled=len(failed))

    async def _produce_and_await(self, records: list[Record]) -> list[Record]:
        """Produce; await every delivery report (set from the poll thread); return the
        records not delivered."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        outcome: list[bool | None] = [None] * len(records)
        remaining = [len(records)]

        def settle(index: int, ok: bool) -> None:  # on the event loop
            if outcome[index] is not None:
                return
            outcome[index] = ok
            remaining[0] -= 1
            if remaining[0] == 0 and not done.done():
                done.set_result(None)

        producer = self.producer
        for index, (topic, key, value) in enumerate(records):
            try:
                producer.produce(
                    topic, value=value.encode(), key=key.encode() if key else None,
                    on_delivery=lambda err, _msg, i=index: _on_loop(loop, settle, i,
                                                                   err is None))
            except self._produce_errors:
                settle(index, False)
        try:
            await asyncio.wait_for(asyncio.shield(done), self.wait_s)
        except TimeoutError:
            pass
        return [r for r, ok in zip(records, outcome, strict=True) if not ok]

    # -- background -----------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._stop.is_set():  # a daemon thread: it ends with the worker
            try:
                self.producer.poll(0.05)
                self.replace_producer_if_fatal()
            except Exception as exc:  # never let the delivery reports stop
                log.warning("kafka poll: %s", exc)
                time.sleep(0.05)

    def _relay_loop(self) -> None:
        while not self._stop.wait(self.relay_interval_s):
            try:
                self.relay_once()
            except Exception as exc:  # keep relaying; the spool keeps the records
                log.warning("spool relay: %s", exc)

    def relay_once(self) -> int:
        """Close the breaker when Kafka answers (new records go to it again), then replay
        what the spool holds (one drainer across the workers: the others return 0)."""
        if not self.spool.pending():
            self._breaker_open.clear()
            return 0
        if not self.kafka_reachable():
            return 0
        self._breaker_open.clear()
        try:
            sent = self.relay.drain()
        except Exception:
            self._breaker_open.set()  # Kafka failed the replay: new records wait again
            raise
        if sent:
            log.info("replayed %d spooled records into Kafka", sent)
        return sent

    def kafka_reachable(self, timeout: float = 1.0) -> bool:
        """True when the brokers answer and the producer can produce (not failed fatally)."""
        if self.state.fatal_error is not None:
            return False
        try:
            return bool(self.producer.list_topics(timeout=timeout).brokers)
        except Exception:
            return False

    def kafka_state(self) -> dict:
        """What ``/healthz`` can show about the producer (besides reachability)."""
        return self.state.as_json()

    @property
    def breaker_open(self) -> bool:
        return self._breaker_open.is_set()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the background threads and flush what the producer still holds."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)
        try:
            self.producer.flush(timeout)
        except Exception as exc:
            log.warning("flushing the Kafka producer: %s", exc)


def _on_loop(loop, callback, *args) -> None:
    """Hand a delivery report from the poll thread to the event loop (if it still runs)."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop closed while the worker was shutting down
        pass
