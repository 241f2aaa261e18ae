"""How the Kafka and Cassandra clients log in, from config: nothing but the servers with
the defaults (the local run), SASL_SSL and a Cassandra role for the docker deployment,
and no password in a repr or on a command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics import kafka_topics
from analytics.config import REPO_ROOT, Config, ConfigError
from analytics.kafka_settings import client_settings, spark_source_options
from analytics.spark_session import spark_conf, spark_credentials
from analytics.spark_submit import submit_command, submit_env
from analytics.storage.session import auth_provider, cluster
from stack import settings as stack_settings
from stack.airflow import connections

KAFKA_PASSWORD = "kafka-pass-0123"
CASSANDRA_PASSWORD = "cassandra-pass-4567"
LOCKED = {
    "ANALYTICS_KAFKA_BOOTSTRAP": "kafka-1:9092,kafka-2:9092,kafka-3:9092",
    "ANALYTICS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "ANALYTICS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "ANALYTICS_KAFKA_SASL_USERNAME": "sitelens",
    "ANALYTICS_KAFKA_SASL_PASSWORD": KAFKA_PASSWORD,
    "ANALYTICS_KAFKA_SSL_CA_FILE": "/etc/sitelens/tls/ca.crt",
    "ANALYTICS_CASSANDRA_USERNAME": "sitelens_pipeline",
    "ANALYTICS_CASSANDRA_PASSWORD": CASSANDRA_PASSWORD,
}
"""The client settings docker/compose.yaml gives the apps (docs/deployment.md)."""
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"


def locked(**changes) -> Config:
    return Config.from_env(LOCKED).replace(**changes)


# -- the defaults: the local run connects exactly as before ------------------------------

def test_defaults_are_plaintext_without_logins():
    config = Config()
    assert (config.kafka_security_protocol, config.kafka_sasl_mechanism,
            config.kafka_sasl_username, config.kafka_sasl_password,
            config.kafka_ssl_ca_file, config.cassandra_username,
            config.cassandra_password) == ("PLAINTEXT", "", "", "", None, "", "")
    assert client_settings(config) == {"bootstrap.servers": "127.0.0.1:9092"}
    assert spark_source_options(config) == {"kafka.bootstrap.servers": "127.0.0.1:9092"}
    assert spark_credentials(config) == {}
    assert auth_provider(config) is None


def test_plaintext_spelled_out_adds_nothing():
    config = Config(kafka_security_protocol="plaintext", kafka_bootstrap="k1:9092")
    assert client_settings(config) == {"bootstrap.servers": "k1:9092"}
    assert spark_source_options(config) == {"kafka.bootstrap.servers": "k1:9092"}


def test_airflow_kafka_connection_is_the_client_settings():
    extra = json.loads(connections(Config())["AIRFLOW_CONN_SITELENS_KAFKA"])["extra"]
    assert extra == {"bootstrap.servers": "127.0.0.1:9092"}
    extra = json.loads(connections(locked())["AIRFLOW_CONN_SITELENS_KAFKA"])["extra"]
    assert extra == client_settings(locked())


# -- the locked cluster ------------------------------------------------------------------

def test_environment_gives_the_fields():
    config = Config.from_env(LOCKED)
    assert config.kafka_security_protocol == "SASL_SSL"
    assert config.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert (config.kafka_sasl_username, config.kafka_sasl_password) == ("sitelens",
                                                                         KAFKA_PASSWORD)
    assert config.kafka_ssl_ca_file == Path("/etc/sitelens/tls/ca.crt")
    assert (config.cassandra_username, config.cassandra_password) == ("sitelens_pipeline",
                                                                       CASSANDRA_PASSWORD)
    assert Config.from_env(config.to_env()) == config


def test_librdkafka_settings_for_sasl_ssl():
    assert client_settings(locked()) == {
        "bootstrap.servers": "kafka-1:9092,kafka-2:9092,kafka-3:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "sitelens",
        "sasl.password": KAFKA_PASSWORD,
        "ssl.ca.location": "/etc/sitelens/tls/ca.crt",
    }


def test_spark_kafka_source_options_for_sasl_ssl():
    assert spark_source_options(locked()) == {
        "kafka.bootstrap.servers": "kafka-1:9092,kafka-2:9092,kafka-3:9092",
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "SCRAM-SHA-512",
        "kafka.sasl.jaas.config":
            f'{SCRAM} required username="sitelens" password="{KAFKA_PASSWORD}";',
        "kafka.ssl.truststore.type": "PEM",
        "kafka.ssl.truststore.location": "/etc/sitelens/tls/ca.crt",
    }


def test_ssl_without_sasl_and_system_cas():
    config = Config(kafka_security_protocol="SSL", kafka_bootstrap="k1:9093")
    assert client_settings(config) == {"bootstrap.servers": "k1:9093",
                                       "security.protocol": "SSL"}
    assert spark_source_options(config) == {"kafka.bootstrap.servers": "k1:9093",
                                            "kafka.security.protocol": "SSL"}


def test_jaas_values_are_quoted():
    config = locked(kafka_sasl_mechanism="PLAIN", kafka_sasl_password='a"b\\c')
    assert spark_source_options(config)["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="sitelens" password="a\\"b\\\\c";')
    assert client_settings(config)["sasl.password"] == 'a"b\\c'


@pytest.mark.parametrize("mechanism", ["", "GSSAPI"])
def test_a_sasl_user_needs_a_password_mechanism(mechanism):
    config = locked(kafka_sasl_mechanism=mechanism)
    for build in (client_settings, spark_source_options):
        with pytest.raises(ConfigError, match="ANALYTICS_KAFKA_SASL_MECHANISM"):
            build(config)


def test_cassandra_driver_logs_in_as_the_role():
    provider = auth_provider(locked())
    assert type(provider).__name__ == "PlainTextAuthProvider"
    assert (provider.username, provider.password) == ("sitelens_pipeline", CASSANDRA_PASSWORD)
    built = cluster(locked())  # connects to nothing until connect()
    try:
        assert built.auth_provider is not None
        assert (built.auth_provider.username, built.auth_provider.password) == (
            "sitelens_pipeline", CASSANDRA_PASSWORD)
    finally:
        built.shutdown()
    built = cluster(Config())
    try:
        assert built.auth_provider is None
    finally:
        built.shutdown()


def test_spark_cassandra_login():
    assert spark_credentials(locked()) == {
        "spark.cassandra.auth.username": "sitelens_pipeline",
        "spark.cassandra.auth.password": CASSANDRA_PASSWORD,
    }


# -- the clients get them ----------------------------------------------------------------

def test_write_producer_gets_the_client_settings(monkeypatch, tmp_path):
    from analytics.enrich import StaticSaltProvider
    from api.write import app as write_app
    from tests.unit.api.write.conftest import SHOP
    from tests.unit.api.write.fakes import MemorySites

    built = {}

    def sink(settings, spool, relay, **kwargs):
        built["settings"], built["relay"] = settings, relay
        raise RuntimeError("built")

    monkeypatch.setattr(write_app, "KafkaSink", sink)
    config = locked(state_dir=tmp_path)
    with pytest.raises(RuntimeError, match="built"):
        write_app.create_app(config, sites=MemorySites(SHOP), salts=StaticSaltProvider())
    assert built["settings"] == {**client_settings(config), "linger.ms": 5}
    # the spool relay's transactional producer and its progress reader log in alike
    relay = built["relay"]
    for settings in (relay.producer_settings, relay.consumer_settings):
        assert {k: settings[k] for k in client_settings(config)} == client_settings(config)


def test_topic_admin_and_consumer_get_the_client_settings(monkeypatch):
    import confluent_kafka
    import confluent_kafka.admin

    seen = []

    class Refused(Exception):
        pass

    def client(settings):
        seen.append(settings)
        raise Refused

    monkeypatch.setattr(confluent_kafka.admin, "AdminClient", client)
    monkeypatch.setattr(confluent_kafka, "Consumer", client)
    config = locked()
    with pytest.raises(Refused):
        kafka_topics.admin_client(config)
    with pytest.raises(Refused):
        kafka_topics.end_offsets(config, "events.raw")
    assert seen == [client_settings(config),
                    {**client_settings(config), "group.id": "sitelens-offsets",
                     "enable.auto.commit": False}]


def test_spark_session_sets_the_login_itself(monkeypatch, tmp_path):
    import pyspark.sql

    from analytics import spark_session as module

    class Context:
        def setLogLevel(self, level):
            pass

    class Builder:  # records what the session is built with; starts no JVM
        def __init__(self):
            self.settings = {}

        def config(self, key, value):
            self.settings[key] = value
            return self

        def getOrCreate(self):
            return type("Session", (), {"sparkContext": Context()})()

    builder = Builder()
    monkeypatch.setattr(pyspark.sql, "SparkSession", type("S", (), {"builder": builder}))
    (tmp_path / "spark-connectors").mkdir()
    (tmp_path / "spark-connectors" / "connector.jar").write_bytes(b"")
    config = locked(spark_master="spark://spark-master:7077", jars_dir=tmp_path)
    module.spark_session(config, "job")
    assert builder.settings == {**spark_conf(config, "job"), **spark_credentials(config)}
    assert builder.settings["spark.cassandra.auth.password"] == CASSANDRA_PASSWORD


# -- no secret where it would be seen ----------------------------------------------------

def test_no_password_on_the_spark_submit_command_line():
    config = locked(spark_master="spark://spark-master:7077")
    argv = submit_command(config, REPO_ROOT / "streaming" / "job.py", "speed",
                          check_jars=False)
    conf = spark_conf(config, "speed", check_jars=False)
    for secret in (KAFKA_PASSWORD, CASSANDRA_PASSWORD):
        assert not any(secret in arg for arg in argv)
        assert secret not in json.dumps(conf)
    assert not any(key.startswith("spark.cassandra.auth.") for key in conf)
    # the job reads them back from its environment
    env = submit_env(config)
    assert env["ANALYTICS_CASSANDRA_PASSWORD"] == CASSANDRA_PASSWORD
    assert env["ANALYTICS_KAFKA_SASL_PASSWORD"] == KAFKA_PASSWORD


def test_repr_hides_every_secret():
    config = locked(postgres_password="pg-pass-89", airflow_secret="airflow-secret-01",
                    client_id_hash_key="hash-key-23")
    shown = repr(config)
    for secret in (KAFKA_PASSWORD, CASSANDRA_PASSWORD, "pg-pass-89", "airflow-secret-01",
                   "hash-key-23"):
        assert secret not in shown
    assert "kafka_sasl_username='sitelens'" in shown
    assert "cassandra_username='sitelens_pipeline'" in shown


def test_stack_settings_mask_the_passwords():
    shown = stack_settings.changed_from_defaults(locked())
    assert shown["ANALYTICS_KAFKA_SASL_PASSWORD"] == "********"
    assert shown["ANALYTICS_CASSANDRA_PASSWORD"] == "********"
    assert shown["ANALYTICS_KAFKA_SASL_USERNAME"] == "sitelens"
