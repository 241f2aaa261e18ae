"""Airflow as a service of the local run, on a private state folder and port: supervised,
ready once its DAGs are listed, stopped cleanly, and found and stopped when the supervisor
died under it."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from analytics.config import Config
from stack import lifecycle
from stack.airflow import AirflowApi, airflow_home, expected_dag_ids
from stack.services import services
from stack.supervisor import Supervisor
from tests.integration.airflow.conftest import TIMINGS, free_port

pytestmark = [pytest.mark.integration, pytest.mark.lifecycle]


def _airflow_processes(config: Config) -> list[psutil.Process]:
    """Every process of the Airflow of ``config``: the ones whose environment says its
    AIRFLOW_HOME, and the rest of their process groups (executor workers rewrite their
    process title, and with it what /proc shows of their environment)."""
    home = str(airflow_home(config))
    groups = set()
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("AIRFLOW_HOME") == home:
                groups.add(os.getpgid(proc.pid))
        except (psutil.Error, ProcessLookupError):
            pass
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) in groups and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, ProcessLookupError):
            pass
    return found


@pytest.fixture
def private(stack: Config, tmp_path) -> Config:
    config = stack.replace(state_dir=tmp_path / "state", airflow_port=free_port())
    yield config
    lifecycle.stop(config, log=lambda _: None)
    for proc in _airflow_processes(config):  # never leave Airflow behind, even on failure
        proc.kill()


def test_airflow_service_starts_lists_the_dags_and_stops_cleanly(private):
    notes: list[str] = []
    began = time.monotonic()
    lifecycle.start(private, ["airflow"], log=notes.append)
    TIMINGS["stack start airflow (s)"] = time.monotonic() - began
    row = {r.name: r for r in lifecycle.status(private)}["airflow"]
    assert (row.state, row.ready, row.address) == (
        "RUNNING", True, f"http://127.0.0.1:{private.airflow_port}")
    assert AirflowApi(private).dag_ids() == expected_dag_ids()
    assert len(_airflow_processes(private)) >= 5  # standalone, scheduler, dag-processor, ...

    began = time.monotonic()
    lifecycle.stop(private, log=notes.append)
    TIMINGS["stack stop airflow (s)"] = time.monotonic() - began
    assert _airflow_processes(private) == []
    log = (private.state_dir / "logs" / "airflow.log").read_text()
    assert log.rstrip().endswith("standalone | Complete")  # it shut down, not killed


def test_airflow_left_by_a_dead_supervisor_is_stopped(private):
    lifecycle.start(private, ["airflow"], log=lambda _: None)
    sup = Supervisor(private, services(private))
    os.kill(sup.pid(), signal.SIGKILL)
    time.sleep(1)
    assert len(_airflow_processes(private)) >= 5
    assert len(lifecycle.leftovers(private)) == 1  # the launcher, tagged with the state dir
    notes: list[str] = []
    lifecycle.stop(private, log=notes.append)
    assert any("left running by an earlier run" in note for note in notes)
    deadline = time.monotonic() + 60
    while _airflow_processes(private) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _airflow_processes(private) == []
