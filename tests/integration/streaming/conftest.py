"""The speed layer end to end: events posted to the write service (gunicorn) go through the
real Kafka into the streaming job (spark-submit, local[2]) and land in Cassandra.

Each test module gets its own raw-events topic, state folder (checkpoints, status file)
and write-service port, so it reads only the events it posted.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from analytics.config import Config
from analytics.kafka_topics import end_offsets, ensure_topics
from streaming.progress import QUERIES, processed_offsets

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


def wait_caught_up(config: Config, cql, timeout: float = 120.0) -> None:
    """Until both queries have processed everything on the topic now."""
    target = end_offsets(config, config.topic_raw_events)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(processed_offsets(config, cql, q) == target for q in QUERIES):
            return
        time.sleep(0.5)
    raise AssertionError(f"speed layer did not catch up to {target}: " + ", ".join(
        f"{q} at {processed_offsets(config, cql, q)}" for q in QUERIES))


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
