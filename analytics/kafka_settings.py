"""How every Kafka client of the project connects, from config: the one place the
``kafka_*`` connection fields become client settings.

``client_settings`` is for the confluent-kafka (librdkafka) clients: the write service's
producer, the topic admin client and consumer (:mod:`analytics.kafka_topics`) and
Airflow's ``sitelens_kafka`` connection (``stack.airflow.connections``).
``spark_source_options`` is the same for Spark's Kafka source (``kafka.``-prefixed Java
client settings; :func:`analytics.spark_session.read_kafka`).

With the defaults (``PLAINTEXT``, no SASL user, no CA file) both are the bootstrap
servers alone: the local run's broker asks for nothing else.
"""

from __future__ import annotations

from analytics.config import Config, ConfigError

PLAINTEXT = "PLAINTEXT"
LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
"""The Java client's JAAS login module of each SASL mechanism a user and password log in
with."""


def client_settings(config: Config) -> dict[str, str]:
    """librdkafka settings: ``bootstrap.servers``, and ``security.protocol``,
    ``sasl.*`` and ``ssl.ca.location`` where config sets them."""
    settings = {"bootstrap.servers": config.bootstrap_servers}
    if config.kafka_security_protocol.upper() != PLAINTEXT:
        settings["security.protocol"] = config.kafka_security_protocol
    if config.kafka_sasl_mechanism:
        settings["sasl.mechanism"] = config.kafka_sasl_mechanism
    if config.kafka_sasl_username:
        _login_module(config)  # the same mechanisms as Spark's source, or neither
        settings["sasl.username"] = config.kafka_sasl_username
        settings["sasl.password"] = config.kafka_sasl_password
    if config.kafka_ssl_ca_file is not None:
        settings["ssl.ca.location"] = str(config.kafka_ssl_ca_file)
    return settings


def spark_source_options(config: Config) -> dict[str, str]:
    """Options of Spark's Kafka source for the same connection: ``kafka.bootstrap.servers``,
    and ``kafka.security.protocol``, ``kafka.sasl.*`` (the user and password in a JAAS
    line) and a PEM truststore where config sets them."""
    options = {"kafka.bootstrap.servers": config.bootstrap_servers}
    if config.kafka_security_protocol.upper() != PLAINTEXT:
        options["kafka.security.protocol"] = config.kafka_security_protocol
    if config.kafka_sasl_mechanism:
        options["kafka.sasl.mechanism"] = config.kafka_sasl_mechanism
    if config.kafka_sasl_username:
        options["kafka.sasl.jaas.config"] = (
            f'{_login_module(config)} required username="{_jaas(config.kafka_sasl_username)}"'
            f' password="{_jaas(config.kafka_sasl_password)}";')
    if config.kafka_ssl_ca_file is not None:
        options["kafka.ssl.truststore.type"] = "PEM"
        options["kafka.ssl.truststore.location"] = str(config.kafka_ssl_ca_file)
    return options


def _login_module(config: Config) -> str:
    module = LOGIN_MODULES.get(config.kafka_sasl_mechanism.upper())
    if module is None:
        raise ConfigError(
            f"ANALYTICS_KAFKA_SASL_MECHANISM={config.kafka_sasl_mechanism!r}: a SASL user "
            f"logs in with one of {', '.join(LOGIN_MODULES)}")
    return module


def _jaas(value: str) -> str:
    """``value`` inside a double-quoted JAAS option (backslash and quote escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')
