"""The pipeline on the cluster profile: the same hand-worked story as on one node gives
the same exact numbers (write API -> Kafka (3 brokers) -> speed layer on the Spark
workers -> Cassandra (3 nodes, RF 3, LOCAL_QUORUM) -> the nightly DAG through Airflow,
its batch job on the Spark workers -> read API); and the cluster is what the profile
says it is."""

from __future__ import annotations

import pytest

from analytics.kafka_topics import admin_client
from stack.nodes import nodetool
from stack.spark_standalone import master_status

pytestmark = [pytest.mark.cluster, pytest.mark.integration]


def test_three_brokers_three_nodes_and_two_workers(cluster_config, cluster_cql):
    config = cluster_config
    metadata = admin_client(config).list_topics(timeout=10)
    assert sorted(metadata.brokers) == [1, 2, 3]
    raw = metadata.topics[config.topic_raw_events]
    assert len(raw.partitions) == 12
    assert all(len(p.replicas) == 3 for p in raw.partitions.values())
    status = nodetool(config, 1, "status")
    assert status.returncode == 0, status.stderr
    up = [line.split()[1] for line in status.stdout.splitlines() if line.startswith("UN ")]
    assert sorted(up) == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    keyspace = cluster_cql.execute(
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s",
        (config.cassandra_keyspace,)).one()
    assert keyspace.replication == {
        "class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "3"}
    spark = master_status(config)
    assert sorted((w["host"], w["cores"], w["state"]) for w in spark["workers"]) == [
        ("127.0.0.2", 2, "ALIVE"), ("127.0.0.3", 2, "ALIVE")]
    speed = [a for a in spark["activeapps"] if a["name"] == "sitelens-speed-layer"]
    assert [a["cores"] for a in speed] == [2]  # its executors run on the workers


def test_the_story_gives_the_hand_worked_numbers(pipeline):
    story = pipeline.story_site("e2e")
    pipeline.post_story(story)
    pipeline.caught_up()
    run = pipeline.close_day([story.site_id], story.d)
    assert run["state"] == "success", pipeline.task_states(run)
    pipeline.expect_story(story)
