"""One-shot access setup of the Cassandra nodes of docker/compose.yaml, which run
PasswordAuthenticator + CassandraAuthorizer (docker/cassandra/entrypoint.sh).

    cassandra-roles.py roles    # service cassandra-roles, before `schema`
    cassandra-roles.py grants   # service cassandra-grants, after `schema`

``roles``: on a new cluster it logs in as the default superuser (cassandra/cassandra),
replicates ``system_auth`` like the keyspace (``ANALYTICS_CASSANDRA_REPLICATION_*``; the
nodes create it on all of them already, ``-Dcassandra.system_auth.default_rf``), creates
the superuser ``sitelens_admin`` (``CASSANDRA_ADMIN_PASSWORD``) and disables the default
one. Then, as ``sitelens_admin``: the services' login roles with
their passwords (``CASSANDRA_<ROLE>_PASSWORD``; set again on every run, so a changed
password is applied) and the migrator's right to create the keyspace.

``grants``: once the migrator has made the keyspace and its tables, each service role's
permissions (least privilege: the write service reads and writes only the visitor salts;
the read service writes only its own tables: accounts, sessions, shared links, ad-hoc
jobs, site settings). Permissions can only name tables that exist, hence two steps.

Runs in the write-api image (cassandra-driver; ``analytics`` on the path): contact points,
port, keyspace and replication come from the same ``ANALYTICS_*`` config as the services'.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Mapping

from analytics.config import Config

ADMIN = "sitelens_admin"
ADMIN_PASSWORD = "CASSANDRA_ADMIN_PASSWORD"
DEFAULT_SUPERUSER = ("cassandra", "cassandra")
"""What Cassandra creates on a new cluster (disabled by the ``roles`` step)."""

ROLES = {
    "sitelens_migrator": "CASSANDRA_MIGRATOR_PASSWORD",   # schema (migrations, api.manage)
    "sitelens_write_api": "CASSANDRA_WRITE_API_PASSWORD",  # write service
    "sitelens_pipeline": "CASSANDRA_PIPELINE_PASSWORD",   # speed layer, Airflow (batch)
    "sitelens_read_api": "CASSANDRA_READ_API_PASSWORD",   # read service, its ad-hoc jobs
}
"""Login role -> the variable holding its password."""

KEYSPACE_PERMISSIONS = {
    "sitelens_migrator": ("CREATE", "ALTER", "DROP", "SELECT", "MODIFY"),
    "sitelens_pipeline": ("SELECT", "MODIFY"),
    "sitelens_write_api": ("SELECT",),
    "sitelens_read_api": ("SELECT",),
}
"""Permissions on the keyspace (and so on every table in it, future ones included)."""

TABLE_MODIFY = {
    "sitelens_write_api": ("visitor_salts",),
    "sitelens_read_api": (
        "sites",  # site settings (goals, retention) from the dashboard
        "users", "site_roles_by_user", "site_roles_by_site",
        "browser_sessions", "browser_sessions_by_user", "login_failures",
        "shared_links", "shared_links_by_site", "shared_link_unlocks",
        "adhoc_jobs", "adhoc_jobs_by_spec", "adhoc_active", "adhoc_slots",
    ),
}
"""Tables a role writes beyond its keyspace permissions (INSERT/UPDATE/DELETE, LWTs)."""

CONNECT_TIMEOUT_S = 600.0
"""How long to wait for the nodes (and on a new cluster for the default superuser, which
Cassandra creates some seconds after start)."""


def role_statements(role: str, password: str, *, exists: bool) -> list[tuple[str, tuple]]:
    """A service role created, or given its password: ``(cql, parameters)``. (Cassandra
    refuses a second password change of a role within a few seconds, so a role whose
    password already works is left alone.)"""
    if not exists:
        return [(f"CREATE ROLE IF NOT EXISTS {role} WITH LOGIN = true AND SUPERUSER = false "
                 "AND PASSWORD = %s", (password,))]
    return [(f"ALTER ROLE {role} WITH PASSWORD = %s AND LOGIN = true", (password,))]


MIGRATOR_GRANT = "GRANT CREATE ON ALL KEYSPACES TO sitelens_migrator"
"""The migrator creates the keyspace (CREATE KEYSPACE IF NOT EXISTS on every run)."""


def grant_statements(keyspace: str) -> list[str]:
    """Each service role's permissions on the keyspace and its tables."""
    found = []
    for role, permissions in KEYSPACE_PERMISSIONS.items():
        found += [f"GRANT {permission} ON KEYSPACE {keyspace} TO {role}"
                  for permission in permissions]
    for role, tables in TABLE_MODIFY.items():
        found += [f"GRANT MODIFY ON TABLE {keyspace}.{table} TO {role}" for table in tables]
    return found


def passwords_from(environ: Mapping[str, str]) -> dict[str, str]:
    missing = [name for name in (ADMIN_PASSWORD, *ROLES.values()) if not environ.get(name)]
    if missing:
        sys.exit(f"cassandra-roles: set {', '.join(missing)} (docker/.env)")
    return {ADMIN: environ[ADMIN_PASSWORD],
            **{role: environ[variable] for role, variable in ROLES.items()}}


def cluster(config: Config, user: str, password: str):
    """One coordinator (the first contact point), so that every step of a run sees its
    own changes to the roles."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import WhiteListRoundRobinPolicy

    host = config.cassandra_hosts[0]
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([host]),
                               request_timeout=60)
    return Cluster([host], port=config.cassandra_port, protocol_version=5,
                   auth_provider=PlainTextAuthProvider(user, password),
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=10)


def login(config: Config, candidates: list[tuple[str, str]], timeout_s: float):
    """``(user, cluster, session)`` of the first login of ``candidates`` that works,
    trying again until ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        errors = []
        for user, password in candidates:
            c = cluster(config, user, password)
            try:
                return user, c, c.connect()
            except Exception as exc:  # NoHostAvailable (refused, or authentication failed)
                c.shutdown()
                errors.append(f"{user}: {exc}")
        if time.monotonic() > deadline:
            sys.exit("cassandra-roles: no login worked: " + "; ".join(errors))
        print("cassandra-roles: waiting for Cassandra (" + "; ".join(errors)[:300] + ")",
              flush=True)
        time.sleep(5)


def setup_roles(config: Config, passwords: Mapping[str, str]) -> None:
    user, c, session = login(config, [(ADMIN, passwords[ADMIN]), DEFAULT_SUPERUSER],
                             CONNECT_TIMEOUT_S)
    # every node keeps the roles (a node that found none would make the default again)
    session.execute(f"ALTER KEYSPACE system_auth WITH replication = {config.replication_cql}")
    if user != ADMIN:  # a new cluster: make the admin, then carry on as it
        session.execute(f"CREATE ROLE IF NOT EXISTS {ADMIN} WITH SUPERUSER = true AND "
                        "LOGIN = true AND PASSWORD = %s", (passwords[ADMIN],))
        c.shutdown()
        _, c, session = login(config, [(ADMIN, passwords[ADMIN])], 60)
        # no login and no rights left for the well-known default superuser
        session.execute(f"ALTER ROLE {DEFAULT_SUPERUSER[0]} WITH PASSWORD = %s AND "
                        "SUPERUSER = false AND LOGIN = false", (secrets.token_hex(32),))
        print(f"cassandra-roles: {ADMIN} created; default superuser disabled", flush=True)
    try:
        existing = {row.role for row in session.execute("SELECT role FROM system_auth.roles")}
        for role in ROLES:
            if role in existing and password_works(config, role, passwords[role]):
                continue
            for cql, parameters in role_statements(role, passwords[role],
                                                   exists=role in existing):
                session.execute(cql, parameters)
            print(f"cassandra-roles: {role} {'password set' if role in existing else 'created'}",
                  flush=True)
        session.execute(MIGRATOR_GRANT)
    finally:
        c.shutdown()
    print(f"cassandra-roles: roles {', '.join(ROLES)} up to date", flush=True)


def password_works(config: Config, role: str, password: str) -> bool:
    c = cluster(config, role, password)
    try:
        c.connect()
        return True
    except Exception:
        return False
    finally:
        c.shutdown()


def apply_grants(config: Config, passwords: Mapping[str, str]) -> None:
    _, c, session = login(config, [(ADMIN, passwords[ADMIN])], CONNECT_TIMEOUT_S)
    try:
        keyspace = config.cassandra_keyspace
        tables = {row.table_name for row in session.execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s",
            (keyspace,))}
        missing = sorted({t for names in TABLE_MODIFY.values() for t in names} - tables)
        if missing:
            sys.exit(f"cassandra-roles: {keyspace} has no table {', '.join(missing)} "
                     "(has `schema` run?)")
        for cql in grant_statements(keyspace):
            session.execute(cql)
    finally:
        c.shutdown()
    print(f"cassandra-roles: permissions on {keyspace} granted", flush=True)


def main(argv: list[str]) -> None:
    if argv not in (["roles"], ["grants"]):
        sys.exit(__doc__.split("\n\n")[1])
    config = Config.from_env()
    passwords = passwords_from(os.environ)
    if argv == ["roles"]:
        setup_roles(config, passwords)
    else:
        apply_grants(config, passwords)


if __name__ == "__main__":
    main(sys.argv[1:])
