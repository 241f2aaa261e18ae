"""The spool's relay into Kafka, exactly once.

Records the write service could not hand to Kafka wait in the spool (:mod:`api.write.spool`,
SQLite); the relay sends them once Kafka is back. Sending and then deleting is two steps in
two systems, so a relay killed between them would send a batch again. Instead each batch
goes to Kafka in **one Kafka transaction** together with a progress record: topic
``Config.topic_spool_progress`` (compacted), key the spool's id, value the last ``seq`` of
the batch. Then:

- a relay killed before the commit leaves a transaction that the next relay aborts when it
  starts (its transactional id is the spool's, so ``init_transactions`` fences the dead one
  and aborts what it left open); consumers that read committed records never see it;
- a relay killed after the commit but before deleting the batch from SQLite: the next one
  reads the spool's last progress record before sending anything and deletes what it says
  Kafka already has.

So a consumer reading with ``isolation.level=read_committed`` (the speed layer, the tests,
the soak) gets every spooled record exactly once. One relay drains a spool at a time (the
spool's drain lock); each drain opens its own transactional producer and closes it at the
end.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from api.write.spool import DrainSession, Spool

log = logging.getLogger(__name__)


class DeliveryFailed(RuntimeError):
    """Kafka did not take a batch (nothing of it is visible to committed readers)."""


class ProgressUnknown(RuntimeError):
    """The progress topic could not be read to its end: nothing is sent (sending without
    knowing what Kafka already has could send a batch twice)."""


def _confluent_producer(settings: dict):
    from confluent_kafka import Producer

    return Producer(settings)


def _confluent_consumer(settings: dict):
    from confluent_kafka import Consumer

    return Consumer(settings)


def progress_through(consumer, topic: str, spool_id: str, timeout_s: float) -> int | None:
    """The last ``seq`` a committed progress record of ``spool_id`` names (None: none),
    read from the beginning of ``topic`` to the end it has now. The consumer reads with
    ``isolation.level=read_committed`` and ``enable.partition.eof``: it stops at the end
    of the committed records, so the end counts only once it is at least the high
    watermark taken first (another relay's open transaction is waited for)."""
    from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

    partitions = consumer.list_topics(topic, timeout=timeout_s).topics[topic].partitions
    if not partitions:  # sending now would fail every transaction, as the topic is absent
        raise ProgressUnknown(f"the topic {topic} does not exist: create the topics "
                              "(python -m stack schema, or the sitelens_setup DAG)")
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)[1]
            for p in partitions}
    done = {p for p, end in ends.items() if end == 0}
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    through, key = None, spool_id.encode()
    deadline = time.monotonic() + timeout_s
    while len(done) < len(partitions):
        if time.monotonic() > deadline:
            raise ProgressUnknown(f"{topic} could not be read to its end in {timeout_s:g} s")
        for message in consumer.consume(1000, timeout=0.2):
            error = message.error()
            if error is None:
                if message.key() == key:
                    through = max(through or 0, json.loads(message.value())["through_seq"])
            elif error.code() == KafkaError._PARTITION_EOF:
                if message.offset() >= ends[message.partition()]:
                    done.add(message.partition())
            else:
                raise ProgressUnknown(f"reading {topic}: {error}")
    return through


class SpoolRelay:
    def __init__(self, client_settings: dict, spool: Spool, progress_topic: str, *,
                 timeout_s: float = 30.0, batch: int = 500,
                 producer_factory: Callable = _confluent_producer,
                 consumer_factory: Callable = _confluent_consumer):
        self.spool, self.progress_topic = spool, progress_topic
        self.timeout_s, self.batch = timeout_s, batch
        self.producer_settings = {
            **client_settings,
            "transactional.id": f"sitelens-spool-{spool.spool_id}",
            "transaction.timeout.ms": int(timeout_s * 1000),
            "message.timeout.ms": int(timeout_s * 1000) - 1000,
            "socket.connection.setup.timeout.ms": 3000,
            "log_level": 2,
        }
        self.consumer_settings = {
            **client_settings, "group.id": f"sitelens-spool-{spool.spool_id}",
            "isolation.level": "read_committed", "enable.auto.commit": False,
            "enable.partition.eof": True, "log_level": 2,
        }
        self._new_producer, self._new_consumer = producer_factory, consumer_factory

    def drain(self) -> int:
        """Send what the spool holds, oldest first; return how many records Kafka took
        (0 when another relay is draining). Raises when Kafka fails a batch: what was
        sent before stays sent, the rest waits for the next drain."""
        with self.spool.drain_session() as session:
            if session is None:
                return 0
            producer = self._new_producer(self.producer_settings)
            try:
                # fences any earlier relay of this spool and aborts what it left open
                producer.init_transactions(self.timeout_s)
                self._forget_what_kafka_has(session)
                sent = 0
                while rows := session.oldest(self.batch):
                    self._send(producer, rows)
                    session.delete_through(rows[-1][0])
                    sent += len(rows)
                return sent
            finally:
                _close(producer)

    def committed_through(self) -> int | None:
        """The last ``seq`` of this spool that a committed transaction put in Kafka."""
        consumer = self._new_consumer(self.consumer_settings)
        try:
            return progress_through(consumer, self.progress_topic, self.spool.spool_id,
                                    self.timeout_s)
        finally:
            consumer.close()

    def _forget_what_kafka_has(self, session: DrainSession) -> None:
        through = self.committed_through()
        if through is not None:
            gone = session.delete_through(through)
            if gone:
                log.warning("%d spooled records were in Kafka already (a relay stopped "
                            "after its commit); deleted, not sent again", gone)

    def _send(self, producer, rows: list) -> None:
        """One batch and its progress record in one transaction."""
        producer.begin_transaction()
        try:
            for _seq, (topic, key, value) in rows:
                producer.produce(topic, value=value.encode(),
                                 key=key.encode() if key else None)
            producer.produce(self.progress_topic, key=self.spool.spool_id.encode(),
                             value=json.dumps({"through_seq": rows[-1][0]}).encode())
            producer.commit_transaction(self.timeout_s)
        except Exception as exc:
            try:
                producer.abort_transaction(self.timeout_s)
            except Exception as abort_error:  # the next relay's init aborts it anyway
                log.warning("aborting the relay's transaction: %s", abort_error)
            raise DeliveryFailed(f"Kafka did not take {len(rows)} spooled records: "
                                 f"{exc}") from exc


def _close(producer) -> None:
    try:
        producer.flush(1)
    except Exception as exc:  # dropped either way
        log.warning("closing the relay's producer: %s", exc)
