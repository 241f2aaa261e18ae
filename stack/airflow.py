"""Airflow of the local run, built from config.

:func:`airflow_env` is the one place that says how an Airflow process of this project is
configured: where its home is, the DAGs and plugins folders of the repo, no example DAGs,
the API server's address, the project's config (``ANALYTICS_*``, which the tasks read
back with ``Config.from_env()``) and the Airflow connections the DAGs use, made from the
same config (``AIRFLOW_CONN_*`` variables, so nothing has to be clicked in the UI). The
supervised ``airflow standalone``, the tests' ``airflow dags test`` and the benchmarks all
use it.

    python -m stack.airflow standalone [TAG]   # what the supervisor runs
    python -m stack.airflow env                # print the environment (for a shell)

The supervisor runs the launcher rather than ``airflow standalone`` itself: the launcher
carries the stack's tag on its command line (so a launcher left behind by a supervisor
that died is found and stopped like any other leftover) and stops Airflow the one way it
stops cleanly: a single SIGINT to the ``standalone`` process, never to its whole process
group (see :func:`standalone`).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from analytics.config import PREFIX, REPO_ROOT, Config

DAGS_DIR = REPO_ROOT / "dags"
PLUGINS_DIR = REPO_ROOT / "plugins"
AIRFLOW_BIN = Path(sys.executable).with_name("airflow")

SPARK_CONN_ID = "sitelens_spark"
"""Where batch jobs run: the Spark master of the config (``local[2]`` or a cluster)."""
KAFKA_CONN_ID = "sitelens_kafka"
"""The Kafka cluster of the config (bootstrap servers) for the Kafka provider's hooks."""

PARALLELISM = 4
"""Task slots of the whole Airflow (two cores: Spark gets them, the rest is small)."""
ADMIN = "admin"


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
                        "extra": {"bootstrap.servers": config.bootstrap_servers}},
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

    def healthy(self) -> bool:
        """Metadata DB, scheduler, DAG processor and triggerer report healthy."""
        try:
            health = self.health()
        except (OSError, ValueError):
            return False
        parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
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

    def get(self, path: str, **query) -> dict:
        return self._request("GET", path, query=query)

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


def airflow_ready(config: Config, home: Path | None = None) -> bool:
    """The API answers, every part reports healthy and every DAG of the repo is listed
    (parsed by the DAG processor)."""
    api = AirflowApi(config, home=home, timeout=5.0)
    if not api.healthy():
        return False
    try:
        return set(expected_dag_ids()) <= set(api.dag_ids())
    except (OSError, ValueError, RuntimeError, KeyError):
        return False


def prepare_home(config: Config, home: Path | None = None) -> Path:
    home = home or airflow_home(config)
    (home / "logs").mkdir(parents=True, exist_ok=True)
    return home


def standalone(config: Config, home: Path | None = None, grace_s: float = 45.0) -> int:
    """Run ``airflow standalone`` until it exits.

    Airflow runs in a process group of its own and is stopped with one SIGINT to the
    ``standalone`` process, which then stops its parts. (A SIGINT to the whole group, as
    a terminal's Ctrl-C or a supervisor's group stop would send, reaches the scheduler's
    executor workers directly and leaves the scheduler waiting for them.) SIGINT or
    SIGTERM to this launcher sends that SIGINT; after ``grace_s`` the group is killed.
    Should the launcher itself die, the kernel sends the SIGINT (parent-death signal)."""
    prepare_home(config, home)
    proc = subprocess.Popen([str(AIRFLOW_BIN), "standalone"], cwd=REPO_ROOT,
                            env=process_env(config, home=home),
                            preexec_fn=_airflow_child,  # noqa: PLW1509 (one thread here)
                            start_new_session=True)
    stopping: list[float] = []

    def stop(_signum, _frame) -> None:
        if not stopping and proc.poll() is None:
            stopping.append(time.monotonic())
            proc.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            code = proc.wait(timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            if stopping and time.monotonic() - stopping[0] > grace_s:
                _kill_group(proc.pid, signal.SIGKILL)
    _end_group(proc.pid)
    return code


def _end_group(pgid: int, wait_s: float = 10.0) -> None:
    """Stop whatever is left in Airflow's process group: nothing after a clean stop; the
    parts of a ``standalone`` that died (e.g. writing to the pipe of a supervisor that was
    killed) otherwise. SIGTERM first, SIGKILL for what is still there after ``wait_s``."""
    _kill_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.2)
    _kill_group(pgid, signal.SIGKILL)


def _airflow_child() -> None:
    """In the forked child, before exec: Airflow must see SIGINT/SIGTERM even when this
    launcher was started by a shell that made background jobs ignore them (ignored
    signals survive exec), and gets SIGINT should this launcher die."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGINT))  # PDEATHSIG
    except OSError:
        pass


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config = Config.from_env()
    if argv[:1] == ["standalone"]:  # argv[1] (if any) is only the stack's process tag
        return standalone(config)
    if argv[:1] == ["env"]:
        for key, value in sorted(airflow_env(config).items()):
            print(f"export {key}={shlex.quote(value)}")
        return 0
    print("usage: python -m stack.airflow standalone [TAG] | env", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
