"""Cassandra sessions built from config."""

from __future__ import annotations

from analytics.config import Config, ConfigError


def auth_provider(config: Config):
    """The driver's login as ``cassandra_username``; None (no login) when it is empty."""
    if not config.cassandra_username:
        return None
    from cassandra.auth import PlainTextAuthProvider

    return PlainTextAuthProvider(username=config.cassandra_username,
                                 password=config.cassandra_password)


def consistency_level(config: Config) -> int:
    """The driver's value of ``cassandra_consistency`` (a ConfigError names the choices)."""
    from cassandra import ConsistencyLevel

    try:
        return ConsistencyLevel.name_to_value[config.cassandra_consistency.upper()]
    except KeyError:
        choices = ", ".join(sorted(ConsistencyLevel.name_to_value))
        raise ConfigError(f"ANALYTICS_CASSANDRA_CONSISTENCY={config.cassandra_consistency!r}"
                          f" is not one of {choices}") from None


def cluster(config: Config, connect_timeout: float = 5.0, *, only_hosts: bool = False):
    """A driver cluster for ``config``'s nodes (``only_hosts``: talking to the
    ``cassandra_hosts`` alone, not to the peers it discovers; for checking one node)."""
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import (
        DCAwareRoundRobinPolicy,
        TokenAwarePolicy,
        WhiteListRoundRobinPolicy,
    )

    balancing = (WhiteListRoundRobinPolicy(list(config.cassandra_hosts)) if only_hosts
                 else TokenAwarePolicy(
                     DCAwareRoundRobinPolicy(local_dc=config.cassandra_datacenter)))
    profile = ExecutionProfile(
        load_balancing_policy=balancing,
        consistency_level=consistency_level(config),
        serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL,
        request_timeout=30,
    )
    return Cluster(
        list(config.cassandra_hosts),
        port=config.cassandra_port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=connect_timeout,
        protocol_version=5,
        auth_provider=auth_provider(config),
    )


def connect(config: Config, keyspace: str | None = None):
    """A session (and its cluster, which the caller must shut down)."""
    c = cluster(config)
    return c, c.connect(keyspace)


def node_ready(config: Config, only_host: bool = False) -> bool:
    """True when the node answers a CQL query (``only_host``: the first of
    ``cassandra_hosts`` itself, not another node of its cluster)."""
    try:
        c = cluster(config.replace(cassandra_hosts=config.cassandra_hosts[:1]),
                    connect_timeout=2.0, only_hosts=only_host)
        try:
            row = c.connect().execute("SELECT release_version FROM system.local").one()
            return row is not None
        finally:
            c.shutdown()
    except Exception:
        return False
