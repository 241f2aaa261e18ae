"""Cassandra sessions built from config."""

from __future__ import annotations

from analytics.config import Config


def auth_provider(config: Config):
    """The driver's login as ``cassandra_username``; None (no login) when it is empty."""
    if not config.cassandra_username:
        return None
    from cassandra.auth import PlainTextAuthProvider

    return PlainTextAuthProvider(username=config.cassandra_username,
                                 password=config.cassandra_password)


def cluster(config: Config, connect_timeout: float = 5.0):
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(
            DCAwareRoundRobinPolicy(local_dc=config.cassandra_datacenter)),
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


def node_ready(config: Config) -> bool:
    """True when the node answers a CQL query."""
    try:
        c = cluster(config, connect_timeout=2.0)
        try:
            row = c.connect().execute("SELECT release_version FROM system.local").one()
            return row is not None
        finally:
            c.shutdown()
    except Exception:
        return False
