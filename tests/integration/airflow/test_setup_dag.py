"""The setup DAG through ``airflow dags test`` against the real Kafka and Cassandra: it
creates the configured topics (Kafka provider) and applies every migration, and a second
run changes nothing."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from confluent_kafka.admin import ConfigResource

from analytics.config import Config
from analytics.kafka_topics import admin_client, topic_specs
from analytics.storage.migrate import load_migrations, migrate
from analytics.storage.session import connect
from tests.integration.airflow.conftest import dag_run_state

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh(stack: Config):
    """A keyspace and topics that do not exist yet; removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    config = stack.replace(cassandra_keyspace=f"analytics_airflow_{tag}",
                           topic_raw_events=f"test.airflow.{tag}.raw",
                           topic_invalid_events=f"test.airflow.{tag}.invalid",
                           topic_spool_progress=f"test.airflow.{tag}.spool-progress",
                           topic_partitions=2, topic_retention_ms=3_600_000)
    cluster, session = connect(config)
    yield config, session
    session.execute(f"DROP KEYSPACE IF EXISTS {config.cassandra_keyspace}", timeout=120)
    cluster.shutdown()
    admin = admin_client(config)
    for future in admin.delete_topics([s.name for s in topic_specs(config)],
                                      operation_timeout=30).values():
        try:
            future.result()
        except Exception:
            pass


def test_setup_dag_creates_topics_and_applies_migrations(dags_test, fresh):
    config, session = fresh
    done = dags_test("sitelens_setup", date(2026, 11, 25), config=config)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert dag_run_state(done) == "success"

    admin = admin_client(config)
    topics = admin.list_topics(timeout=10).topics
    specs = {spec.name: spec for spec in topic_specs(config)}
    assert {name: spec.partitions for name, spec in specs.items()} == {
        config.topic_raw_events: 2, config.topic_invalid_events: 2,
        config.topic_spool_progress: 1}  # the relay's progress: one compacted partition
    for spec in specs.values():
        assert len(topics[spec.name].partitions) == spec.partitions
        resource = ConfigResource(ConfigResource.Type.TOPIC, spec.name)
        settings = admin.describe_configs([resource])[resource].result()
        assert {k: settings[k].value for k in spec.settings} == spec.settings
    assert specs[config.topic_raw_events].settings == {
        "retention.ms": "3600000", "cleanup.policy": "delete"}

    recorded = sorted(row.version for row in session.execute(
        f"SELECT version FROM {config.cassandra_keyspace}.schema_migrations"))
    assert recorded == [m.version for m in load_migrations()]
    assert migrate(config, session) == []  # up to date

    again = dags_test("sitelens_setup", date(2026, 11, 25), config=config)
    assert dag_run_state(again) == "success", (again.stdout + again.stderr)[-4000:]
    assert "topics: all existed" in again.stdout + again.stderr
    assert f"keyspace {config.cassandra_keyspace}: up to date" in again.stdout + again.stderr
