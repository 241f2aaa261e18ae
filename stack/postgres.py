"""PostgreSQL of the local run: Airflow's metadata database.

Debian's ``postgresql`` package (installed by the setup step) provides the server
binaries; the local run makes its own cluster under ``<state>/data/postgres``, listening on
loopback only (``postgres_host:postgres_port``), with password authentication for
``postgres_user`` (password from the settings file). PostgreSQL refuses to run as root:
when the stack runs as root the cluster belongs to the ``postgres`` system user and the
server is started as that user.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from analytics.config import Config

SERVER_USER = "postgres"
"""The system user that owns the cluster when the stack runs as root."""


class PostgresError(RuntimeError):
    pass


def bin_dir() -> Path:
    """The newest installed server's binaries (``/usr/lib/postgresql/<major>/bin``)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if not found:
        raise PostgresError("PostgreSQL server binaries not found under /usr/lib/postgresql; "
                            "run `make setup` (installs Debian's postgresql package)")
    return found[-1].parent


def data_dir(config: Config) -> Path:
    return config.state_dir / "data" / "postgres"


def run_as() -> str | None:
    """The user the server runs as: ``postgres`` when we are root, else ourselves (None)."""
    return SERVER_USER if os.geteuid() == 0 else None


def _owned(path: Path) -> None:
    user = run_as()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _as_server_user(command: list[str]) -> list[str]:
    user = run_as()
    return ["runuser", "-u", user, "--", *command] if user else command


def server_command(config: Config) -> list[str]:
    """The server in the foreground (the supervisor runs it as :func:`run_as`)."""
    data = data_dir(config)
    return [str(bin_dir() / "postgres"), "-D", str(data),
            "-h", config.postgres_host, "-p", str(config.postgres_port),
            "-k", str(data),  # the unix socket stays inside the cluster's folder
            "-c", "max_connections=100", "-c", "shared_buffers=64MB",
            "-c", "fsync=on", "-c", "logging_collector=off"]


def init_cluster(config: Config) -> bool:
    """Create the cluster once (``initdb``); False when it exists already."""
    data = data_dir(config)
    if (data / "PG_VERSION").exists():
        return False
    if not config.postgres_password:
        raise PostgresError("ANALYTICS_POSTGRES_PASSWORD is empty (the settings file of the "
                            "local run generates one)")
    data.mkdir(parents=True, exist_ok=True)
    _owned(data)
    data.chmod(0o700)
    with tempfile.NamedTemporaryFile("w", delete=False, dir=data.parent) as pwfile:
        pwfile.write(config.postgres_password + "\n")
    try:
        _owned(Path(pwfile.name))
        subprocess.run(_as_server_user([
            str(bin_dir() / "initdb"), "-D", str(data), "-U", config.postgres_user,
            f"--pwfile={pwfile.name}", "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True, capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(pwfile.name)
    return True


def connect(config: Config, database: str = "postgres", timeout: int = 3):
    import psycopg2

    return psycopg2.connect(host=config.postgres_host, port=config.postgres_port,
                            user=config.postgres_user, password=config.postgres_password,
                            dbname=database, connect_timeout=timeout)


def ready(config: Config) -> bool:
    try:
        conn = connect(config)
    except Exception:  # not up yet (refused, starting up, auth not ready)
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone() == (1,)
    finally:
        conn.close()


@contextmanager
def _admin_cursor(config: Config):
    """A cursor on the server's ``postgres`` database, outside a transaction (CREATE and
    DROP DATABASE refuse to run inside one)."""
    conn = connect(config)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def ensure_database(config: Config, name: str) -> bool:
    """Create database ``name`` if missing; True when it was created."""
    with _admin_cursor(config) as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone():
            return False
        cur.execute(f'CREATE DATABASE "{_identifier(name)}"')
        return True


def drop_database(config: Config, name: str) -> None:
    with _admin_cursor(config) as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{_identifier(name)}" WITH (FORCE)')


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise PostgresError(f"database name {name!r}: letters, digits and _ only")
    return name
