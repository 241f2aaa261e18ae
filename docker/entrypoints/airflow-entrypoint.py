"""Entry point of the Airflow image: every Airflow process of the cluster starts here.

    airflow-entrypoint.py init                 # one-shot: airflow db migrate, admin password
    airflow-entrypoint.py scheduler            # any airflow command: airflow scheduler, ...
    airflow-entrypoint.py celery worker        #   ... airflow celery worker
    airflow-entrypoint.py bash|sh|python ...   # that program, with the same environment

The Airflow connections of the DAGs (``AIRFLOW_CONN_SITELENS_SPARK``,
``AIRFLOW_CONN_SITELENS_KAFKA``) are made here, from the container's ``ANALYTICS_*``
config, by ``stack.airflow.connections``: the function the local run uses. So the Spark
master and the Kafka servers are set once (``ANALYTICS_SPARK_MASTER`` and the
``x-analytics-env`` block of docker/compose.yaml) and the connections cannot disagree with
the config the tasks read back with ``Config.from_env()``. Everything else about Airflow
is ``AIRFLOW__*`` variables (the image's paths in the Dockerfile, the deployment's
settings in compose). The program then replaces this process, so it gets the signals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from analytics.config import Config
from stack.airflow import ADMIN, connections

PASSTHROUGH = {"bash", "sh", "python"}
"""Programs run as they are (debugging, ``docker compose run``), with the same environment.
(Not ``celery``: ``celery worker`` means ``airflow celery worker``.)"""
PASSWORD_VARIABLE = "AIRFLOW_ADMIN_PASSWORD"


def process_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` plus the connections made from its ``ANALYTICS_*`` config."""
    env = dict(environ)
    for name, value in connections(Config.from_env(environ)).items():
        if env.get(name, value) != value:
            print(f"airflow-entrypoint: {name} is made from ANALYTICS_* config; ignoring the "
                  "value set for it (set ANALYTICS_SPARK_MASTER / ANALYTICS_KAFKA_BOOTSTRAP)",
                  file=sys.stderr)
        env[name] = value
    return env


def passwords_file(env: Mapping[str, str]) -> Path:
    """Where the simple auth manager keeps its users' passwords."""
    configured = env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
    if configured:
        return Path(configured)
    home = Path(env.get("AIRFLOW_HOME", "~/airflow")).expanduser()
    return home / "simple_auth_manager_passwords.json.generated"


def set_admin_password(env: Mapping[str, str]) -> None:
    """The admin's password from ``AIRFLOW_ADMIN_PASSWORD`` into the simple auth manager's
    passwords file (other users' entries are kept). Without it the file is left alone
    and the api-server generates a password for each user it does not list, printing it
    to its log and writing it to the file."""
    password = env.get(PASSWORD_VARIABLE, "")
    if not password:
        print(f"{PASSWORD_VARIABLE} not set: the api-server generates the {ADMIN} password "
              f"into {passwords_file(env)} (and its log)")
        return
    path = passwords_file(env)
    try:
        passwords = json.loads(path.read_text().strip() or "{}")
    except FileNotFoundError:
        passwords = {}
    passwords[ADMIN] = password
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(passwords) + "\n")
    partial.chmod(0o600)
    partial.replace(path)
    print(f"{ADMIN} password set in {path}")


def init(env: dict[str, str]) -> int:
    """Create or upgrade the metadata database, then set the admin password."""
    subprocess.run(["airflow", "db", "migrate"], env=env, check=True)
    set_admin_password(env)
    return 0


def command(argv: list[str]) -> list[str]:
    """The program and arguments this process becomes."""
    return argv if argv[:1] and argv[0] in PASSTHROUGH else ["airflow", *argv]


def main(argv: list[str]) -> int:
    env = process_env(os.environ)
    if argv[:1] == ["init"]:
        return init(env)
    program = command(argv)
    os.execvpe(program[0], program, env)
    return 127  # not reached: execvpe replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
