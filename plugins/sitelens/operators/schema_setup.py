"""The pipeline's schema: Kafka topics (Kafka provider) and Cassandra migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from sitelens import KAFKA_CONN_ID
from sitelens.hooks.analytics_store import AnalyticsStoreHook

if TYPE_CHECKING:
    from airflow.sdk import Context

    from analytics.config import Config


class CreateTopicsOperator(BaseOperator):
    """Create the topics of ``analytics.kafka_topics.topic_specs`` (names, partitions,
    replication and settings from config) that do not exist yet, through the Kafka
    provider's admin hook on the ``sitelens_kafka`` connection. An existing topic with
    fewer partitions than configured is reported (Kafka never shrinks; growing one
    reshuffles keys, so that is left to a person). Returns the names created."""

    ui_color = "#e3dcf2"

    def __init__(self, *, kafka_config_id: str = KAFKA_CONN_ID, config: Config | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kafka_config_id = kafka_config_id
        self._config = config

    def execute(self, context: Context) -> list[str]:
        from analytics.kafka_topics import topic_specs
        from sitelens.hooks.kafka_topics_admin import TopicsAdminHook, topic_rows

        config = AnalyticsStoreHook(self._config).config
        specs = topic_specs(config)
        hook = TopicsAdminHook(kafka_config_id=self.kafka_config_id)
        created = hook.create_topic(topic_rows(specs))
        for spec in specs:
            partitions = hook.partitions(spec.name)
            if partitions < spec.partitions:
                self.log.warning("topic %s has %d partitions, the config asks for %d",
                                 spec.name, partitions, spec.partitions)
        self.log.info("topics: %s", f"created {', '.join(created)}" if created
                      else "all existed")
        return created


class ApplyMigrationsOperator(BaseOperator):
    """Create or update the keyspace and apply the pending CQL migrations
    (``analytics.storage.migrate``: each file once, recorded, append-only). Returns the
    versions applied by this run (empty: up to date)."""

    ui_color = "#e3dcf2"

    def __init__(self, *, config: Config | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._config = config

    def execute(self, context: Context) -> list[int]:
        from analytics.storage.migrate import migrate

        hook = AnalyticsStoreHook(self._config)
        with hook.session(keyspace=None) as session:
            applied = migrate(hook.config, session)
        self.log.info("keyspace %s: %s", hook.config.cassandra_keyspace,
                      f"applied {', '.join(f'{v:04d}' for v in applied)}" if applied
                      else "up to date")
        return applied
