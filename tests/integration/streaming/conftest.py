"""The speed layer end to end: events posted to the write service (gunicorn) go through the
real Kafka into the streaming job (spark-submit, local[2]) and land in Cassandra.

Each test module gets its own raw-events topic, state folder (checkpoints, status file)
and write-service port, so it reads only the events it posted.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer, TopicPartition

from analytics.config import Config
from analytics.kafka_topics import ensure_topics
from streaming.job import RAW_QUERY, VIEWS_QUERY
from streaming.progress import stream_name
from tests.integration.services import Gunicorn

FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
GOOGLEBOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def pipeline_config(stack: Config, tmp_path, port: int) -> Config:
    run = uuid.uuid4().hex[:8]
    config = stack.replace(
        state_dir=tmp_path / "state", topic_raw_events=f"test.speed.{run}.raw",
        topic_invalid_events=f"test.speed.{run}.invalid", write_api_port=port,
        trust_forwarded_for=True, rate_limit_per_s=0.0, site_cache_ttl_s=1.0)
    ensure_topics(config)
    return config


@pytest.fixture
def write_service():
    """Starts a write service for a config; stops every one started at the end."""
    started: list[Gunicorn] = []

    def start(config: Config) -> Gunicorn:
        started.append(Gunicorn(config).start())
        return started[-1]

    yield start
    for service in started:
        service.stop()


def topic_end_offsets(config: Config) -> dict[str, int]:
    topic = config.topic_raw_events
    consumer = Consumer({"bootstrap.servers": config.bootstrap_servers,
                         "group.id": f"offsets-{time.time_ns()}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {str(p): consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in partitions}
    finally:
        consumer.close()


def processed_offsets(config: Config, cql, query: str) -> dict[str, int]:
    """The Kafka offsets the query's newest recorded micro-batch reached."""
    today = datetime.now(UTC).date()
    for day in (today, today - timedelta(days=1)):
        row = cql.execute("SELECT end_offsets FROM stream_batches WHERE query = %s AND day = %s "
                          "LIMIT 1", (stream_name(config, query), day)).one()
        if row:
            return json.loads(row.end_offsets).get(config.topic_raw_events, {})
    return {}


def wait_caught_up(config: Config, cql, timeout: float = 120.0) -> None:
    """Until both queries have processed everything on the topic now."""
    target = topic_end_offsets(config)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(processed_offsets(config, cql, q) == target for q in (RAW_QUERY, VIEWS_QUERY)):
            return
        time.sleep(0.5)
    raise AssertionError(f"speed layer did not catch up to {target}: raw at "
                         f"{processed_offsets(config, cql, RAW_QUERY)}, views at "
                         f"{processed_offsets(config, cql, VIEWS_QUERY)}")


def wait_for_next_minute_if_late(margin_s: float = 12.0) -> datetime:
    """Sleep into the next minute when fewer than ``margin_s`` seconds of this one are
    left, so that events posted now all fall in one minute; returns that minute (UTC)."""
    now = datetime.now(UTC)
    if now.second + now.microsecond / 1e6 > 60 - margin_s:
        time.sleep(60.5 - now.second - now.microsecond / 1e6)
        now = datetime.now(UTC)
    return now.replace(second=0, microsecond=0)


def raw_events_of(cql, site: str, hours) -> list[dict]:
    """The events of ``raw_event_chunks`` for a site and UTC hours, each with its Kafka
    coordinates under ``_kafka``, in (partition, offset) order."""
    found = []
    for hour in hours:
        for chunk in cql.execute("SELECT kafka_topic, kafka_partition, offsets, payload FROM "
                                 "raw_event_chunks WHERE site_id = %s AND hour = %s",
                                 (site, hour)):
            for offset, text in zip(chunk.offsets, chunk.payload, strict=True):
                found.append({**json.loads(text), "_kafka": (chunk.kafka_topic,
                                                            chunk.kafka_partition, offset)})
    return sorted(found, key=lambda e: e["_kafka"])
