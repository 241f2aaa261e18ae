"""Airflow of the local run, built from config.

:func:`airflow_env` is the one place that says how an Airflow process of this project is
configured: where its home is, its metadata database (PostgreSQL), the DAGs and plugins
folders of the repo, no example DAGs, the API server's address, the project's config
(``ANALYTICS_*``, which the tasks read back with ``Config.from_env()``) and the Airflow
connections the DAGs use, made from the same config (``AIRFLOW_CONN_*`` variables, so
nothing has to be clicked in the UI). The supervised parts, the tests' ``airflow dags
test`` and the benchmarks all use it.

Airflow runs as four supervised programs (:data:`PARTS`): the API server (UI and REST API),
the scheduler (with the LocalExecutor's task processes), the DAG processor and the
triggerer. Each has its own log, is restarted by the supervisor when it dies, and is ready
when the API server's health report says that part is healthy.

    python -m stack.airflow env                # print the environment (for a shell)
    python -m stack.airflow migrate            # create/upgrade the metadata database
    python -m stack.airflow run airflow-api    # one part (what the supervisor runs)

"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from analytics.airflow_connections import KAFKA_CONN_ID, SPARK_CONN_ID
from analytics.config import PREFIX, REPO_ROOT, Config
from analytics.kafka_settings import client_settings
from stack import postgres, process_groups, settings

DAGS_DIR = REPO_ROOT / "dags"
PLUGINS_DIR = REPO_ROOT / "plugins"
AIRFLOW_BIN = Path(sys.executable).with_name("airflow")


PARALLELISM = 4
"""Task slots of the whole Airflow (two cores: Spark gets them, the rest is small)."""
ADMIN = "admin"
PARTS = {
    "airflow-api": "api_server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag_processor",
    "airflow-triggerer": "triggerer",
}
"""The supervised programs of Airflow -> the part's name in the API's health report
(``api_server``: the health report itself answers)."""


def airflow_home(config: Config) -> Path:
    return config.state_dir / "airflow"


def ui_url(config: Config) -> str:
    return f"http://127.0.0.1:{config.airflow_port}"


def connections(config: Config) -> dict[str, str]:
    """The Airflow connections of the DAGs, as ``AIRFLOW_CONN_<ID>`` variables (JSON)."""
    conns = {
        SPARK_CONN_ID: {"conn_type": "spark", "host": config.spark_master,
                        "extra": {"deploy-mode": "client"}},
        KAFKA_CONN_ID: {"conn_type": "kafka",
                        "extra": client_settings(config)},
    }
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(value)
            for conn_id, value in conns.items()}


def airflow_env(config: Config, *, home: Path | None = None) -> dict[str, str]:
    """Every variable an Airflow process of this project needs (on top of a plain
    environment): the config, the repo on the path, Airflow's settings, the connections."""
    home = home or airflow_home(config)
    env = config.to_env()
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": config.airflow_sql_alchemy_conn,
        # every part signs and checks the same tokens (each would make its own otherwise)
        "AIRFLOW__API_AUTH__JWT_SECRET": config.airflow_secret,
        "AIRFLOW__API__SECRET_KEY": config.airflow_secret,
        "AIRFLOW__API__WORKERS": str(config.airflow_api_workers),
        # a task whose process died with its scheduler (kill -9) is reset and retried
        # within about a minute, not after the default five
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
        # the task log server, next to the API's port (8793 for the local run's 8080), so
        # a second Airflow (the tests') does not collide with it
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(config.airflow_port + 713),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(config.airflow_port),
        # workers reach the execution API through this address (default: localhost:8080)
        "AIRFLOW__API__BASE_URL": ui_url(config),
        # two cores: parse the four DAG files once a minute, not every 30 s
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
        # the repo (``analytics``) and the plugins (``sitelens``) for every process,
        # including the ones Airflow starts before it has read its plugins folder
        "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{PLUGINS_DIR}",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(connections(config))
    return env


def process_env(config: Config, *, home: Path | None = None,
                base: dict[str, str] | None = None) -> dict[str, str]:
    """A complete environment for an Airflow subprocess: ``base`` (default: this process's
    environment) without any ``ANALYTICS_*``/``AIRFLOW*`` variable of its own, this venv
    first on PATH (``airflow standalone`` starts its parts as ``airflow ...``), then
    :func:`airflow_env`."""
    base = dict(os.environ if base is None else base)
    env = {k: v for k, v in base.items()
           if not k.startswith((PREFIX, "AIRFLOW_", "AIRFLOW__"))}
    env["PATH"] = os.pathsep.join([str(AIRFLOW_BIN.parent), base.get("PATH", "")])
    env.update(airflow_env(config, home=home))
    return env


def run_cli(config: Config, *args: str, home: Path | None = None, timeout: float = 600,
            check: bool = True) -> subprocess.CompletedProcess:
    """``airflow ARGS`` with the project's environment (output captured as text)."""
    done = subprocess.run([str(AIRFLOW_BIN), *args], env=process_env(config, home=home),
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} exited {done.returncode}:\n"
                           f"{(done.stdout + done.stderr)[-4000:]}")
    return done


def expected_dag_ids() -> list[str]:
    """The DAGs of the repo: each ``dags/<dag_id>.py`` defines the DAG ``<dag_id>``."""
    return sorted(p.stem for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))


class AirflowApi:
    """The REST API of a running Airflow (standalone, simple auth manager)."""

    def __init__(self, config: Config, *, home: Path | None = None, timeout: float = 10.0):
        self.base = ui_url(config)
        self.home = home or airflow_home(config)
        self.timeout = timeout
        self._token: str | None = None

    @property
    def password_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    def password(self) -> str | None:
        try:
            return json.loads(self.password_file.read_text()).get(ADMIN)
        except (FileNotFoundError, ValueError):
            return None

    def health(self) -> dict:
        """``/api/v2/monitor/health`` (no login needed)."""
        return self._request("GET", "/api/v2/monitor/health", auth=False)

    def healthy(self, parts=("metadatabase", "scheduler", "dag_processor",
                             "triggerer")) -> bool:
        """The API answers and each of ``parts`` reports healthy."""
        try:
            health = self.health()
        except (OSError, ValueError):
            return False
        return all((health.get(p) or {}).get("status") == "healthy" for p in parts)

    def token(self) -> str:
        if self._token is None:
            password = self.password()
            if password is None:
                raise RuntimeError(f"no admin password in {self.password_file} yet")
            answer = self._request("POST", "/auth/token", auth=False,
                                   body={"username": ADMIN, "password": password})
            self._token = answer["access_token"]
        return self._token

    def get(self, path: str, attempts: int = 3, **query) -> dict:
        """A GET, tried again after a timeout or a dropped connection (a busy API server:
        its one worker also serves every task's heartbeats); HTTP errors are not retried."""
        for attempt in range(1, attempts + 1):
            try:
                return self._request("GET", path, query=query)
            except urllib.error.HTTPError:
                raise
            except (TimeoutError, ConnectionError, urllib.error.URLError):
                if attempt == attempts:
                    raise
                time.sleep(2.0 * attempt)
        raise AssertionError("unreachable")

    def post(self, path: str, body: dict) -> dict:
        return self._request("POST", path, body=body)

    def patch(self, path: str, body: dict) -> dict:
        return self._request("PATCH", path, body=body)

    def dag_ids(self) -> list[str]:
        found = self.get("/api/v2/dags", limit=100, dag_id_pattern="sitelens")
        return sorted(d["dag_id"] for d in found["dags"])

    def dag_runs(self, dag_id: str) -> list[dict]:
        found = self.get(f"/api/v2/dags/{dag_id}/dagRuns", limit=100, order_by="logical_date")
        return found["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
        return self.get(path + "/taskInstances")["task_instances"]

    def _request(self, method: str, path: str, *, query: dict | None = None,
                 body: dict | None = None, auth: bool = True) -> dict:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            text = response.read()
        return json.loads(text) if text else {}


def airflow_ready(config: Config, home: Path | None = None,
                  parts=("metadatabase", "scheduler", "dag_processor", "triggerer")) -> bool:
    """The API answers, ``parts`` report healthy and every DAG of the repo is listed
    (parsed by the DAG processor)."""
    api = AirflowApi(config, home=home, timeout=5.0)
    if not api.healthy(parts):
        return False
    try:
        return set(expected_dag_ids()) <= set(api.dag_ids())
    except (OSError, ValueError, RuntimeError, KeyError):
        return False


def part_ready(config: Config, part: str, home: Path | None = None) -> bool:
    """One supervised part: the API server when the metadata database is healthy in its
    report; the others when the report says they are (their heartbeat is fresh); the DAG
    processor once every DAG of the repo is listed too."""
    api = AirflowApi(config, home=home, timeout=5.0)
    if part == "api_server":
        return api.healthy(("metadatabase",))
    if part == "dag_processor":
        return airflow_ready(config, home, parts=("metadatabase", "dag_processor"))
    return api.healthy(("metadatabase", part))


def prepare_home(config: Config, home: Path | None = None) -> Path:
    home = home or airflow_home(config)
    (home / "logs").mkdir(parents=True, exist_ok=True)
    return home


def migrate(config: Config, home: Path | None = None) -> None:
    """The metadata database: created on the local PostgreSQL if need be, then
    ``airflow db migrate`` (quick when it is up to date)."""
    prepare_home(config, home)
    if not config.airflow_db_url:
        try:
            postgres.ensure_database(config, config.airflow_database)
        except Exception as exc:  # psycopg2's errors: refused, authentication, ...
            raise postgres.PostgresError(
                f"PostgreSQL at {config.postgres_host}:{config.postgres_port} did not answer "
                f"({str(exc).strip()}); start it with: python -m stack start postgres"
            ) from None
    run_cli(config, "db", "migrate", home=home, timeout=600)


def pgid_file(config: Config, name: str) -> Path:
    """Where a running part records its process group (:mod:`stack.process_groups`)."""
    return config.state_dir / "run" / f"{name}.pgid"


def part_command(config: Config, name: str) -> list[str]:
    """The command line of one supervised part of Airflow."""
    args = {
        "airflow-api": ["api-server", "--host", "127.0.0.1",
                        "--port", str(config.airflow_port)],
        "airflow-scheduler": ["scheduler"],
        "airflow-dag-processor": ["dag-processor"],
        "airflow-triggerer": ["triggerer"],
    }[name]
    return [str(AIRFLOW_BIN), *args]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"] and len(argv) == 2 and argv[1] in PARTS:
        # a supervised part: the whole config comes in the environment (the supervisor's),
        # never from or into the settings file; what an earlier run of this part left
        # behind (it was killed) is ended first
        config = Config.from_env()
        for note in process_groups.record(pgid_file(config, argv[1])):
            print(note, file=sys.stderr)
        command = part_command(config, argv[1])
        os.execve(command[0], command, process_env(config))
    config = settings.load(log=None)
    if argv[:1] == ["migrate"]:
        migrate(config)
        return 0
    if argv[:1] == ["env"]:
        for key, value in sorted(airflow_env(config).items()):
            print(f"export {key}={shlex.quote(value)}")
        return 0
    print(f"usage: python -m stack.airflow env | migrate | run {'|'.join(PARTS)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
