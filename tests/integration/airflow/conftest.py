"""Airflow against the real services, for the integration tests.

* ``airflow_home``: a temporary AIRFLOW_HOME with a migrated metadata DB (session), made
  with the same ``stack.airflow.airflow_env`` as the local run;
* ``dags_test``: ``dags_test(dag_id, logical_date, conf=None, config=None)`` runs
  ``airflow dags test`` in a subprocess with that environment and returns the
  ``CompletedProcess`` (``dag_run_state(done)`` reads the run's final state from it);
* ``airflow_standalone``: ``airflow standalone`` on a free port (through the same launcher
  the local run supervises), with helpers to trigger runs and backfills and to wait for
  them to finish. Started only by tests that ask for it (about 20 s, ~1 GiB).

The config is the test run's (``tests/conftest.py``: keyspace ``analytics_test``, test
topics); a test may pass its own to ``dags_test``.

Nightly DAG days: a manual run or ``airflow dags test`` with logical date D gets the data
interval [D-1, D) and so recomputes day D-1 (use ``nightly_logical_date(day)``); a
backfill from F to T creates the runs of the intervals starting F..T.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from analytics.config import PREFIX, REPO_ROOT, Config
from stack.airflow import AIRFLOW_BIN, AirflowApi, airflow_ready, process_env

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
        return process_env(config or self.config, home=self.home)

    def cli(self, *args: str, config: Config | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([str(AIRFLOW_BIN), *args], env=self.env(config), cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def airflow_home(stack: Config, tmp_path_factory) -> AirflowHome:
    home = tmp_path_factory.mktemp("airflow-home")
    testbed = AirflowHome(stack, home)
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


class StandaloneAirflow:
    """``airflow standalone`` for one config, in its own process group."""

    def __init__(self, config: Config):
        self.config = config
        self.api = AirflowApi(config)
        self.log_path = config.state_dir / "airflow-standalone.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 240.0) -> StandaloneAirflow:
        env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
        env.update(self.config.to_env())
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115
        began = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "stack.airflow", "standalone"],
                                     cwd=REPO_ROOT, env=env, stdout=log, stderr=log,
                                     start_new_session=True)
        while not airflow_ready(self.config):
            if self.proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited: {self.tail()}")
            if time.monotonic() - began > timeout:
                self.stop()
                raise RuntimeError(f"airflow standalone not ready in {timeout} s: {self.tail()}")
            time.sleep(1.0)
        TIMINGS["airflow standalone ready (s)"] = time.monotonic() - began
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM to the launcher (it stops Airflow with SIGINT), then the group if need be."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def rss_bytes(self) -> int:
        """Resident memory of every Airflow process (shared pages counted once: PSS)."""
        if self.proc is None or self.proc.poll() is not None:
            return 0
        root = psutil.Process(self.proc.pid)
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            try:
                total += proc.memory_full_info().pss
            except psutil.NoSuchProcess:
                pass
        return total

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    # -- driving it -------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """``airflow ARGS`` against this Airflow's metadata DB (e.g. ``backfill create``).
        Standalone's metadata DB is SQLite, which the running scheduler can hold locked a
        moment: a command that failed with "database is locked" (its transaction rolled
        back) is run again, a few times."""
        for _attempt in range(4):
            done = subprocess.run([str(AIRFLOW_BIN), *args], env=process_env(self.config),
                                  cwd=REPO_ROOT, capture_output=True, text=True,
                                  timeout=timeout)
            if done.returncode == 0 or "database is locked" not in done.stderr:
                return done
            time.sleep(3)
        return done

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
def airflow_standalone(stack: Config, tmp_path_factory):
    config = stack.replace(state_dir=tmp_path_factory.mktemp("airflow-state"),
                           airflow_port=free_port())
    airflow = StandaloneAirflow(config).start()
    TIMINGS["airflow standalone PSS (bytes)"] = airflow.rss_bytes()
    yield airflow
    airflow.stop()


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "Airflow costs")
        for name, value in TIMINGS.items():
            shown = f"{value / 2**20:.0f} MiB" if "bytes" in name else f"{value:.1f}"
            terminalreporter.write_line(f"{name}: {shown}")
