"""Kafka sink of the write service: acknowledged by Kafka, or durably spooled.

``publish`` returns only when every record is either acknowledged by the brokers
(idempotent producer, ``acks=all``) or fsynced to the on-disk spool. When a delivery fails
the sink opens its breaker: later records go straight to the spool (in order behind the
ones already there) until a relay thread has replayed the whole spool into Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass

from api.write import counters
from api.write.spool import Record, Spool

log = logging.getLogger(__name__)


@dataclass
class Published:
    delivered: int = 0
    spooled: int = 0


class DeliveryFailed(RuntimeError):
    pass


class KafkaSink:
    def __init__(self, producer_settings: dict, spool: Spool, delivery_timeout_ms: int,
                 relay_interval_s: float = 1.0):
        from confluent_kafka import Producer

        self.settings = {
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": delivery_timeout_ms,
            "socket.connection.setup.timeout.ms": 3000,
            "reconnect.backoff.max.ms": 1000,
            "log_level": 2,  # broker-down noise every 50 ms; /healthz and /metrics tell
            **producer_settings,
        }
        self.producer = Producer(self.settings)
        self.spool = spool
        self.wait_s = delivery_timeout_ms / 1000 + 2.0
        self.relay_interval_s = relay_interval_s
        self._breaker_open = threading.Event()
        self._threads = [threading.Thread(target=self._poll_loop, daemon=True, name="kafka-poll"),
                         threading.Thread(target=self._relay_loop, daemon=True, name="spool-relay")]
        for thread in self._threads:
            thread.start()

    # -- the hot path (on the event loop) --------------------------------------------------------
    async def publish(self, records: list[Record]) -> Published:
        if not records:
            return Published()
        if self._breaker_open.is_set() or self.spool.pending():
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
            outcome[index] = ok
            remaining[0] -= 1
            if remaining[0] == 0 and not done.done():
                done.set_result(None)

        for index, (topic, key, value) in enumerate(records):
            try:
                self.producer.produce(
                    topic, value=value.encode(), key=key.encode() if key else None,
                    on_delivery=lambda err, _msg, i=index: _on_loop(loop, settle, i,
                                                                   err is None))
            except BufferError:
                settle(index, False)
        try:
            await asyncio.wait_for(asyncio.shield(done), self.wait_s)
        except TimeoutError:
            pass
        return [r for r, ok in zip(records, outcome, strict=True) if not ok]

    # -- the relay (a thread) ---------------------------------------------------------------------
    def _produce_and_wait(self, records: list[Record]) -> list[Record]:
        """Produce and wait for every delivery report; return the records not delivered."""
        done = threading.Event()
        outcome: dict[int, bool] = {}
        lock = threading.Lock()
        total = len(records)

        def report(index):
            def callback(err, _msg):
                with lock:
                    outcome[index] = err is None
                    if len(outcome) == total:
                        done.set()
            return callback

        for index, (topic, key, value) in enumerate(records):
            try:
                self.producer.produce(topic, value=value.encode(),
                                      key=key.encode() if key else None,
                                      on_delivery=report(index))
            except BufferError:
                with lock:
                    outcome[index] = False
                    if len(outcome) == total:
                        done.set()
        done.wait(self.wait_s)
        with lock:
            return [r for i, r in enumerate(records) if not outcome.get(i, False)]

    # -- background -----------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while True:  # a daemon thread: it ends with the worker
            self.producer.poll(0.05)

    def _relay_loop(self) -> None:
        while True:
            time.sleep(self.relay_interval_s)
            try:
                self.relay_once()
            except Exception as exc:  # keep relaying; the spool keeps the records
                log.warning("spool relay: %s", exc)

    def relay_once(self) -> int:
        if not self.spool.pending():
            self._breaker_open.clear()
            return 0
        if not self.kafka_reachable():
            return 0
        sent = self.spool.drain(self._send_or_raise)
        if not self.spool.pending():
            self._breaker_open.clear()
        if sent:
            log.info("replayed %d spooled records into Kafka", sent)
        return sent

    def _send_or_raise(self, records: list[Record]) -> None:
        failed = self._produce_and_wait(records)
        if failed:
            raise DeliveryFailed(f"{len(failed)} of {len(records)} spooled records not delivered")

    def kafka_reachable(self, timeout: float = 1.0) -> bool:
        try:
            return bool(self.producer.list_topics(timeout=timeout).brokers)
        except Exception:
            return False

    @property
    def breaker_open(self) -> bool:
        return self._breaker_open.is_set()


def _on_loop(loop, callback, *args) -> None:
    """Hand a delivery report from the poll thread to the event loop (if it still runs)."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop closed while the worker was shutting down
        pass
