"""The one configuration object.

Every setting comes from an environment variable (prefix ``ANALYTICS_``) with a default
that suits the embedded single-machine run. Nothing else in the project reads
``os.environ``: code receives a :class:`Config`, and tests build their own.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "ANALYTICS_"
REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """An environment variable holds a value that cannot be used."""


def _env_name(field_name: str) -> str:
    return PREFIX + field_name.upper()


@dataclass(frozen=True)
class Config:
    # -- where things live -------------------------------------------------------------
    state_dir: Path = REPO_ROOT / ".state"
    """Data, logs, PID files and rendered service configs of the local run."""
    jars_dir: Path = REPO_ROOT / ".cache" / "jars"
    """JVM pieces resolved from Maven Central (Kafka, Cassandra, Spark connectors)."""

    # -- Kafka ---------------------------------------------------------------------------
    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_bootstrap: str = ""
    """Bootstrap servers; empty means the local broker at kafka_host:kafka_port."""
    kafka_heap: str = "512m"
    topic_raw_events: str = "events.raw"
    topic_invalid_events: str = "events.invalid"
    topic_partitions: int = 3
    topic_replication: int = 1
    topic_retention_ms: int = 7 * 24 * 3600 * 1000
    """Kafka keeps a week; the master copy of every event lives in Cassandra."""

    # -- Cassandra -----------------------------------------------------------------------
    cassandra_hosts: tuple[str, ...] = ("127.0.0.1",)
    cassandra_port: int = 9042
    cassandra_storage_port: int = 7000
    cassandra_heap: str = "768m"
    cassandra_keyspace: str = "analytics"
    cassandra_replication_class: str = "SimpleStrategy"
    cassandra_replication_factor: int = 1
    cassandra_datacenter: str = "datacenter1"

    # -- service ports of the local run ---------------------------------------------------
    airflow_port: int = 8080
    write_api_port: int = 8000
    read_api_port: int = 8001

    # -- readiness -----------------------------------------------------------------------
    start_timeout_s: float = 120.0

    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"{self.kafka_host}:{self.kafka_port}"

    @property
    def replication_cql(self) -> str:
        """The keyspace replication map, from config (1 locally, 3 in a cluster)."""
        if self.cassandra_replication_class == "NetworkTopologyStrategy":
            return (
                "{'class': 'NetworkTopologyStrategy', "
                f"'{self.cassandra_datacenter}': {self.cassandra_replication_factor}}}"
            )
        return (
            "{'class': 'SimpleStrategy', "
            f"'replication_factor': {self.cassandra_replication_factor}}}"
        )

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            if f.name == "extra":
                continue
            raw = environ.get(_env_name(f.name))
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        return cls(**values)

    @classmethod
    def env_names(cls) -> list[str]:
        """Every environment variable the config reads (for docs and deployment checks)."""
        return [_env_name(f.name) for f in dataclasses.fields(cls) if f.name != "extra"]


def _parse(name: str, type_name: str, raw: str):
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if type_name == "Path":
            return Path(raw).expanduser().resolve()
        if type_name.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError:
        raise ConfigError(f"{_env_name(name)}={raw!r} is not a valid {type_name}") from None
