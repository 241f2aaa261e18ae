"""Airflow against the real services, for the integration tests.

* ``airflow_db``: PostgreSQL of the local run running, with the tests' own database;
* ``airflow_home``: a temporary AIRFLOW_HOME with a migrated metadata DB (session), made
  with the same ``stack.airflow.airflow_env`` as the local run;
* ``dags_test``: ``dags_test(dag_id, logical_date, conf=None, config=None)`` runs
  ``airflow dags test`` in a subprocess with that environment and returns the
  ``CompletedProcess`` (``dag_run_state(done)`` reads the run's final state from it);
* ``airflow_running``: Airflow's four supervised parts on a free port and a database of
  their own, started by the local run's lifecycle (private state folder), with helpers to
  trigger runs and backfills and to wait for them to finish. Started only by tests that
  ask for it.

The config is the test run's (``tests/conftest.py``: keyspace ``analytics_test``, test
topics); a test may pass its own to ``dags_test``.

Nightly DAG days: a manual run or ``airflow dags test`` with logical date D gets the data
interval [D-1, D) and so recomputes day D-1 (use ``nightly_logical_date(day)``); a
backfill from F to T creates the runs of the intervals starting F..T.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from analytics.config import REPO_ROOT, Config
from stack import lifecycle, postgres
from stack.airflow import AIRFLOW_BIN, PARTS, AirflowApi, airflow_ready, process_env
from stack.services import services
from stack.supervisor import Supervisor

FINISHED = {"success", "failed"}
TIMINGS: dict[str, float] = {}
"""What the Airflow fixtures cost (seconds, bytes), printed at the end of the session."""


def nightly_logical_date(day: date) -> date:
    """The logical date whose manual run (``dags test``) recomputes ``day``."""
    return day + timedelta(days=1)


def dag_run_state(done: subprocess.CompletedProcess) -> str | None:
    """The final state ``airflow dags test`` reports (``success``/``failed``)."""
    found = re.findall(r"DagRun Finished: .*? state=(\w+)", done.stdout + done.stderr)
    return found[-1] if found else None


@dataclass
class AirflowHome:
    config: Config
    home: Path
    logs: list[Path] = field(default_factory=list)

    def env(self, config: Config | None = None) -> dict[str, str]:
        """Airflow's environment for ``config`` (a test's own keyspace, topics...), always
        on this home's metadata database."""
        chosen = (config or self.config).replace(
            airflow_database=self.config.airflow_database,
            airflow_db_url=self.config.airflow_db_url)
        return process_env(chosen, home=self.home)

    def cli(self, *args: str, config: Config | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([str(AIRFLOW_BIN), *args], env=self.env(config), cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def airflow_db(stack: Config) -> Config:
    """The test run's config with PostgreSQL running (the local run's server, started here
    when it is not running and stopped again at the end) and a fresh database of the tests'
    own for ``airflow dags test``."""
    config = stack.replace(airflow_database="airflow_test")
    started = not postgres.ready(config)
    if started:
        lifecycle.start(config, ["postgres"], log=lambda _: None)
    postgres.drop_database(config, config.airflow_database)
    postgres.ensure_database(config, config.airflow_database)
    yield config
    if started:
        lifecycle.stop(config, ["postgres"], log=lambda _: None)


@pytest.fixture(scope="session")
def airflow_home(airflow_db: Config, tmp_path_factory) -> AirflowHome:
    home = tmp_path_factory.mktemp("airflow-home")
    testbed = AirflowHome(airflow_db, home)
    began = time.monotonic()
    done = testbed.cli("db", "migrate", timeout=300)
    TIMINGS["airflow db migrate (s)"] = time.monotonic() - began
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return testbed


@pytest.fixture(scope="session")
def dags_test(airflow_home: AirflowHome) -> Callable[..., subprocess.CompletedProcess]:
    def run(dag_id: str, logical_date: date | datetime | str, conf: dict | None = None,
            config: Config | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
        when = logical_date if isinstance(logical_date, str) else logical_date.isoformat()
        args = ["dags", "test", dag_id, when]
        if conf:
            args += ["-c", json.dumps(conf)]
        began = time.monotonic()
        done = airflow_home.cli(*args, config=config, timeout=timeout)
        spent = time.monotonic() - began
        TIMINGS.setdefault(f"airflow dags test {dag_id} (s, first)", spent)
        TIMINGS[f"airflow dags test {dag_id} (s, last)"] = spent
        log = airflow_home.home / f"dags-test-{dag_id}-{when}-{int(time.time())}.log"
        log.write_text(done.stdout + done.stderr)
        airflow_home.logs.append(log)
        return done

    return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningAirflow:
    """Airflow's supervised parts (api server, scheduler, DAG processor, triggerer) for
    one config, started by the local run's own lifecycle under a supervisor of their own
    (a private state folder), on the test PostgreSQL with a database of their own."""

    def __init__(self, config: Config):
        self.config = config
        self.api = AirflowApi(config, timeout=30.0)  # a busy API server answers late

    def start(self) -> RunningAirflow:
        began = time.monotonic()
        lifecycle.start(self.config, list(PARTS), log=lambda _: None)
        if not airflow_ready(self.config):
            raise RuntimeError(f"airflow not ready: {self.tail()}")
        TIMINGS["airflow parts ready (s)"] = time.monotonic() - began
        return self

    def stop(self) -> None:
        lifecycle.stop(self.config, log=lambda _: None)

    def supervisor(self) -> Supervisor:
        return Supervisor(self.config, services(self.config))

    def pid(self, part: str) -> int:
        return int(self.supervisor().info(part)["pid"])

    def rss_bytes(self) -> int:
        """Resident memory of every Airflow process (shared pages counted once: PSS)."""
        total = 0
        for part in PARTS:
            try:
                root = psutil.Process(self.pid(part))
                procs = [root, *root.children(recursive=True)]
            except (psutil.NoSuchProcess, ValueError):
                continue
            for proc in procs:
                try:
                    total += proc.memory_full_info().pss
                except psutil.NoSuchProcess:
                    pass
        return total

    def tail(self, lines: int = 40) -> str:
        logs = self.config.state_dir / "logs"
        return "\n".join(f"--- {part}\n" + "\n".join(
            (logs / f"{part}.log").read_text(errors="replace").splitlines()[-lines:])
            for part in PARTS if (logs / f"{part}.log").exists())

    # -- driving it -------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """``airflow ARGS`` against this Airflow's metadata DB (e.g. ``backfill create``)."""
        return subprocess.run([str(AIRFLOW_BIN), *args], env=process_env(self.config),
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.api.patch(f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    def trigger(self, dag_id: str, logical_date: datetime | None = None,
                conf: dict | None = None) -> str:
        body = {"logical_date": logical_date.isoformat() if logical_date else None,
                "conf": conf or {}}
        return self.api.post(f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def backfill(self, dag_id: str, from_date: date, to_date: date, *, conf: dict | None = None,
                 max_active_runs: int = 1, reprocess_behavior: str = "none") -> dict:
        """What the UI's trigger form does for a date range (``POST /api/v2/backfills``)."""
        return self.api.post("/api/v2/backfills", {
            "dag_id": dag_id, "from_date": f"{from_date.isoformat()}T00:00:00Z",
            "to_date": f"{to_date.isoformat()}T00:00:00Z", "dag_run_conf": conf or {},
            "max_active_runs": max_active_runs, "reprocess_behavior": reprocess_behavior})

    def runs(self, dag_id: str) -> list[dict]:
        return self.api.dag_runs(dag_id)

    def wait_for_runs(self, dag_id: str, count: int, timeout: float = 900.0,
                      run_type: str | None = None) -> list[dict]:
        """Wait until ``count`` runs (of ``run_type``, if given) exist and all finished."""
        began = time.monotonic()
        while True:
            runs = [r for r in self.runs(dag_id) if run_type in (None, r["run_type"])]
            if len(runs) >= count and all(r["state"] in FINISHED for r in runs):
                TIMINGS[f"{dag_id}: {count} run(s) finished (s)"] = time.monotonic() - began
                return runs
            if time.monotonic() - began > timeout:
                states = {r["dag_run_id"]: r["state"] for r in runs}
                raise TimeoutError(f"{dag_id}: runs not finished in {timeout} s: {states}")
            time.sleep(2.0)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        return {t["task_id"]: t["state"] for t in self.api.task_instances(dag_id, run_id)}


@pytest.fixture(scope="session")
def airflow_running(airflow_db: Config, tmp_path_factory):
    config = airflow_db.replace(state_dir=tmp_path_factory.mktemp("airflow-state"),
                                airflow_port=free_port(),
                                airflow_database="airflow_test_running")
    postgres.drop_database(config, config.airflow_database)
    airflow = RunningAirflow(config).start()
    TIMINGS["airflow parts PSS (bytes)"] = airflow.rss_bytes()
    yield airflow
    airflow.stop()


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "Airflow costs")
        for name, value in TIMINGS.items():
            shown = f"{value / 2**20:.0f} MiB" if "bytes" in name else f"{value:.1f}"
            terminalreporter.write_line(f"{name}: {shown}")
