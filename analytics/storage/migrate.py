"""Versioned CQL migrations, applied once each and recorded in the keyspace.

Files are ``NNNN_description.cql`` in ``analytics/storage/migrations``; ``${keyspace}`` in
them is replaced by the configured keyspace. The migrator creates the keyspace with the
configured replication (and alters it when the config changed), then applies each file
whose version is not yet recorded in ``schema_migrations``. A recorded file whose text
changed is an error: migrations are append-only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from string import Template

from analytics.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.cql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def statements(self, keyspace: str) -> list[str]:
        return split_statements(Template(self.text).substitute(keyspace=keyspace))


def split_statements(cql: str) -> list[str]:
    """Split a CQL script on ';' at the end of a line; drop '--' comment lines."""
    lines = [ln for ln in cql.splitlines() if not ln.strip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip().rstrip(";").strip()
            if stmt:
                statements.append(stmt)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        raise MigrationError(f"statement without a closing ';': {tail[:80]!r}")
    return statements


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.cql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: expected NNNN_description.cql")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {directory}")
    return found


def migrate(config: Config, session, migrations: list[Migration] | None = None) -> list[int]:
    """Apply pending migrations; return the versions applied by this call."""
    ks = config.cassandra_keyspace
    migrations = load_migrations() if migrations is None else migrations
    _ensure_keyspace(config, session)
    session.execute(
        f"CREATE TABLE IF NOT EXISTS {ks}.schema_migrations ("
        "version int PRIMARY KEY, name text, checksum text, applied_at timestamp)"
    )
    applied = {row.version: row for row in session.execute(
        f"SELECT version, name, checksum FROM {ks}.schema_migrations")}
    done = []
    for migration in sorted(migrations, key=lambda m: m.version):
        record = applied.get(migration.version)
        if record is not None:
            if record.checksum != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} changed after it "
                    "was applied; add a new migration instead of editing an applied one")
            continue
        for statement in migration.statements(ks):
            session.execute(statement, timeout=120)
        session.execute(
            f"INSERT INTO {ks}.schema_migrations (version, name, checksum, applied_at) "
            "VALUES (%s, %s, %s, %s)",
            (migration.version, migration.name, migration.checksum,
             datetime.now(UTC)),
        )
        done.append(migration.version)
    return done


def _ensure_keyspace(config: Config, session) -> None:
    ks = config.cassandra_keyspace
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {config.replication_cql}")
    row = session.execute(
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s", (ks,)
    ).one()
    current = dict(row.replication) if row else {}
    wanted = _replication_map(config)
    if {k: v for k, v in current.items()} != wanted:
        session.execute(f"ALTER KEYSPACE {ks} WITH replication = {config.replication_cql}")


def _replication_map(config: Config) -> dict[str, str]:
    strategy = "org.apache.cassandra.locator." + config.cassandra_replication_class
    if config.cassandra_replication_class == "NetworkTopologyStrategy":
        return {"class": strategy,
                config.cassandra_datacenter: str(config.cassandra_replication_factor)}
    return {"class": strategy, "replication_factor": str(config.cassandra_replication_factor)}
