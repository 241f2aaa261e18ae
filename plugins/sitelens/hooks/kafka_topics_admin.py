"""Kafka topics through the Kafka provider, with their settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

from sitelens import KAFKA_CONN_ID


class TopicsAdminHook(KafkaAdminClientHook):
    """The provider's admin hook (same connection, same client) whose ``create_topic`` also
    takes each topic's settings: ``(name, partitions, replication[, {setting: value}])``.

    The provider's own ``create_topic`` creates ``(name, partitions, replication)`` only,
    so ``retention.ms``, ``cleanup.policy`` and ``min.insync.replicas`` would be left to the
    broker's defaults; here they are set when the topic is created, never after it.
    """

    def __init__(self, kafka_config_id: str = KAFKA_CONN_ID, timeout: float = 30.0) -> None:
        super().__init__(kafka_config_id=kafka_config_id)
        self.timeout = timeout

    def topic_names(self) -> set[str]:
        return set(self.get_conn.list_topics(timeout=self.timeout).topics)

    def partitions(self, name: str) -> int:
        topic = self.get_conn.list_topics(name, timeout=self.timeout).topics[name]
        return len(topic.partitions)

    def create_topic(self, topics: Sequence[Sequence[Any]]) -> list[str]:
        """Create the topics that do not exist yet; return the names created."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import NewTopic

        new_topics = [NewTopic(t[0], num_partitions=t[1], replication_factor=t[2],
                               config=dict(t[3]) if len(t) > 3 else {})
                      for t in topics]
        if not new_topics:
            return []
        futures = self.get_conn.create_topics(new_topics, operation_timeout=self.timeout)
        created = []
        for name, future in futures.items():
            try:
                future.result()
                created.append(name)
                self.log.info("The topic %s has been created.", name)
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise
                self.log.info("The topic %s already exists.", name)
        return sorted(created)


def topic_rows(specs) -> list[tuple[str, int, int, Mapping[str, str]]]:
    """``analytics.kafka_topics.TopicSpec`` s as the hook's topic tuples."""
    return [(s.name, s.partitions, s.replication, dict(s.settings)) for s in specs]
