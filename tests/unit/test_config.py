from pathlib import Path

import pytest

from analytics.config import Config, ConfigError


def test_defaults_are_the_standard_local_ports():
    config = Config.from_env({})
    assert config.kafka_port == 9092
    assert config.cassandra_port == 9042
    assert config.airflow_port == 8080
    assert config.bootstrap_servers == "127.0.0.1:9092"
    assert config.cassandra_replication_factor == 1


def test_environment_overrides_are_typed():
    config = Config.from_env({
        "ANALYTICS_KAFKA_PORT": "19092",
        "ANALYTICS_CASSANDRA_HOSTS": "10.0.0.1, 10.0.0.2,",
        "ANALYTICS_START_TIMEOUT_S": "12.5",
        "ANALYTICS_STATE_DIR": "/tmp/x/../state",
        "ANALYTICS_KAFKA_BOOTSTRAP": "k1:9092,k2:9092",
    })
    assert config.kafka_port == 19092
    assert config.cassandra_hosts == ("10.0.0.1", "10.0.0.2")
    assert config.start_timeout_s == 12.5
    assert config.state_dir == Path("/tmp/state")
    assert config.bootstrap_servers == "k1:9092,k2:9092"


def test_empty_value_keeps_the_default():
    assert Config.from_env({"ANALYTICS_KAFKA_PORT": ""}).kafka_port == 9092


def test_invalid_value_names_the_variable():
    with pytest.raises(ConfigError, match="ANALYTICS_CASSANDRA_PORT='nine' is not a valid int"):
        Config.from_env({"ANALYTICS_CASSANDRA_PORT": "nine"})


def test_replication_comes_from_config():
    local = Config.from_env({})
    assert local.replication_cql == "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    cluster = Config.from_env({
        "ANALYTICS_CASSANDRA_REPLICATION_CLASS": "NetworkTopologyStrategy",
        "ANALYTICS_CASSANDRA_REPLICATION_FACTOR": "3",
        "ANALYTICS_CASSANDRA_DATACENTER": "dc1",
    })
    assert cluster.replication_cql == "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"


def test_env_names_lists_every_setting():
    names = Config.env_names()
    assert "ANALYTICS_KAFKA_PORT" in names
    assert "ANALYTICS_TOPIC_PARTITIONS" in names
    assert len(names) == len(set(names))
