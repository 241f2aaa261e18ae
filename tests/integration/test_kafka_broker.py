"""Messages go through the real Kafka broker of the local run."""

import json
import time
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
    topic = stack.topic_raw_events
    consumer = Consumer({"bootstrap.servers": stack.bootstrap_servers,
                         "group.id": f"test-{run}", "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    # start where the topic ends now, so earlier tests' records are not read
    consumer.assign([TopicPartition(topic, p, consumer.get_watermark_offsets(
        TopicPartition(topic, p), timeout=10)[1]) for p in partitions])

    sent = [{"run": run, "n": n, "site": f"site-{n % 3}"} for n in range(30)]
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers,
                         "enable.idempotence": True, "acks": "all"})
    for record in sent:
        producer.produce(topic, key=record["site"], value=json.dumps(record).encode())
    assert producer.flush(30) == 0

    received, keys_by_partition = [], {}
    deadline = time.monotonic() + 30
    while len(received) < len(sent) and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            continue
        record = json.loads(msg.value())
        assert record["run"] == run and msg.key().decode() == record["site"]
        received.append(record)
        keys_by_partition.setdefault(msg.partition(), set()).add(record["site"])
    consumer.close()
    assert sorted(received, key=lambda r: r["n"]) == sent
    # one key, one partition: the broker keeps a site's records together and in order
    partitions_by_key = {}
    for partition, keys in keys_by_partition.items():
        for key in keys:
            partitions_by_key.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_by_key.values())
    for site in ("site-0", "site-1", "site-2"):
        ns = [r["n"] for r in received if r["site"] == site]
        assert ns == sorted(ns)
