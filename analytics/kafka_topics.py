"""Kafka topics of the pipeline, created idempotently from config."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.config import Config
from analytics.kafka_settings import client_settings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    settings: dict[str, str]


def topic_specs(config: Config) -> list[TopicSpec]:
    """The topics the pipeline needs, with partitions and retention from config."""
    common = {"retention.ms": str(config.topic_retention_ms), "cleanup.policy": "delete"}
    if config.topic_replication > 1:
        common["min.insync.replicas"] = str(min(2, config.topic_replication))
    return [
        TopicSpec(config.topic_raw_events, config.topic_partitions, config.topic_replication,
                  dict(common)),
        TopicSpec(config.topic_invalid_events, config.topic_partitions,
                  config.topic_replication, dict(common)),
        # one small record per spool and relayed batch; compaction keeps each spool's last
        TopicSpec(config.topic_spool_progress, 1, config.topic_replication, {
            **{k: v for k, v in common.items() if k == "min.insync.replicas"},
            "cleanup.policy": "compact", "segment.ms": str(3600 * 1000)}),
    ]


def admin_client(config: Config, quiet: bool = False):
    from confluent_kafka.admin import AdminClient

    settings = client_settings(config)
    if quiet:  # a readiness probe expects "connection refused" while the broker starts
        settings["log_level"] = 0
    return AdminClient(settings)


def ensure_topics(config: Config, admin=None, timeout: float = 30.0) -> list[str]:
    """Create the missing topics; return the names created (empty when all existed)."""
    from confluent_kafka.admin import NewTopic

    admin = admin or admin_client(config)
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [spec for spec in topic_specs(config) if spec.name not in existing]
    if not wanted:
        return []
    futures = admin.create_topics(
        [NewTopic(s.name, num_partitions=s.partitions, replication_factor=s.replication,
                  config=s.settings) for s in wanted],
        operation_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except Exception as exc:  # already created by a concurrent caller is fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return created


def broker_ready(config: Config, timeout: float = 2.0, node_id: int | None = None) -> bool:
    """True when a metadata request to the bootstrap servers is answered with brokers
    (with ``node_id``: among them that broker, registered and not fenced)."""
    try:
        metadata = admin_client(config, quiet=True).list_topics(timeout=timeout)
    except Exception:
        return False
    return bool(metadata.brokers) and (node_id is None or node_id in metadata.brokers)


def end_offsets(config: Config, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """Per partition of ``topic``, the offset the next record will get (how far it is
    written)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**client_settings(config),
                         "group.id": "sitelens-offsets", "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
                for p in partitions}
    finally:
        consumer.close()
