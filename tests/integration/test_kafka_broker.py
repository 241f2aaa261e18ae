"""Messages go through the real Kafka broker of the local run."""

import json
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from analytics.kafka_topics import admin_client, ensure_topics

pytestmark = pytest.mark.integration


def test_topics_exist_with_configured_partitions(stack):
    topics = admin_client(stack).list_topics(timeout=10).topics
    for name in (stack.topic_raw_events, stack.topic_invalid_events):
        assert name in topics
        assert len(topics[name].partitions) == stack.topic_partitions
    assert ensure_topics(stack) == []  # idempotent: nothing left to create


def test_produce_and_consume_round_trip(stack):
    run = uuid.uuid4().hex
    sent = [{"run": run, "n": n, "site": f"site-{n % 3}"} for n in range(30)]
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers,
                         "enable.idempotence": True, "acks": "all"})
    for record in sent:
        producer.produce(stack.topic_raw_events, key=record["site"],
                         value=json.dumps(record).encode())
    assert producer.flush(30) == 0

    consumer = Consumer({"bootstrap.servers": stack.bootstrap_servers,
                         "group.id": f"test-{run}", "enable.auto.commit": False})
    metadata = consumer.list_topics(stack.topic_raw_events, timeout=10)
    partitions = metadata.topics[stack.topic_raw_events].partitions
    assignment = []
    for p in partitions:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(stack.topic_raw_events, p), timeout=10)
        assignment.append(TopicPartition(stack.topic_raw_events, p, low))
    consumer.assign(assignment)
    received = []
    for _ in range(200):
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            if len(received) == len(sent):
                break
            continue
        record = json.loads(msg.value())
        if record.get("run") == run:
            received.append(record)
            assert msg.key().decode() == record["site"]
    consumer.close()
    assert sorted(received, key=lambda r: r["n"]) == sent
