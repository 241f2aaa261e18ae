"""Airflow as services of the local run, on a private state folder, port and database:
four supervised parts, each ready on its own health, a part killed with SIGKILL is
restarted by the supervisor, and stopping leaves no Airflow process behind."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from analytics.config import Config
from stack import lifecycle, postgres
from stack.airflow import PARTS, AirflowApi, airflow_home, expected_dag_ids
from stack.services import services
from stack.supervisor import Supervisor
from tests.integration.airflow.conftest import TIMINGS, free_port

pytestmark = [pytest.mark.integration, pytest.mark.lifecycle]


def _airflow_processes(config: Config) -> list[psutil.Process]:
    """Every live process whose environment says this config's AIRFLOW_HOME."""
    home = str(airflow_home(config))
    found = []
    for proc in psutil.process_iter():
        try:
            if (proc.environ().get("AIRFLOW_HOME") == home
                    and proc.status() != psutil.STATUS_ZOMBIE):
                found.append(proc)
        except (psutil.Error, ProcessLookupError):
            pass
    return found


def _group_members(pgid: int) -> list[int]:
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except (psutil.Error, ProcessLookupError):
            pass
    return found


@pytest.fixture
def private(airflow_db: Config, tmp_path) -> Config:
    config = airflow_db.replace(state_dir=tmp_path / "state", airflow_port=free_port(),
                                airflow_database="airflow_test_service")
    postgres.drop_database(config, config.airflow_database)
    yield config
    lifecycle.stop(config, log=lambda _: None)
    for proc in _airflow_processes(config):  # never leave Airflow behind, even on failure
        proc.kill()


def test_airflow_parts_start_each_ready_and_stop_cleanly(private):
    began = time.monotonic()
    lifecycle.start(private, list(PARTS), log=lambda _: None)
    TIMINGS["stack start airflow parts (s)"] = time.monotonic() - began
    rows = {r.name: r for r in lifecycle.status(private)}
    assert {name: (rows[name].state, rows[name].ready) for name in PARTS} == dict.fromkeys(
        PARTS, ("RUNNING", True))
    assert rows["airflow-api"].address == f"http://127.0.0.1:{private.airflow_port}"
    assert AirflowApi(private).dag_ids() == expected_dag_ids()
    health = AirflowApi(private).health()
    assert {p: health[p]["status"] for p in ("metadatabase", "scheduler", "dag_processor",
                                              "triggerer")} == dict.fromkeys(
        ("metadatabase", "scheduler", "dag_processor", "triggerer"), "healthy")
    pids = {name: rows[name].pid for name in PARTS}
    assert len(set(pids.values())) == 4  # four programs, not one standalone

    began = time.monotonic()
    lifecycle.stop(private, log=lambda _: None)
    TIMINGS["stack stop airflow parts (s)"] = time.monotonic() - began
    assert _airflow_processes(private) == []


def test_a_killed_scheduler_is_restarted_by_the_supervisor(private):
    lifecycle.start(private, list(PARTS), log=lambda _: None)
    sup = Supervisor(private, services(private))
    first = sup.info("airflow-scheduler")["pid"]
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = sup.info("airflow-scheduler")
        if info["statename"] == "RUNNING" and info["pid"] not in (0, first):
            break
        time.sleep(0.5)
    assert sup.info("airflow-scheduler")["pid"] not in (0, first)
    # the other parts were not touched
    assert {n: sup.info(n)["statename"] for n in PARTS} == dict.fromkeys(PARTS, "RUNNING")
    row = {r.name: r for r in lifecycle.status(private)}["airflow-scheduler"]
    while not row.ready and time.monotonic() < deadline:
        time.sleep(2)
        row = {r.name: r for r in lifecycle.status(private)}["airflow-scheduler"]
    assert row.ready  # a fresh heartbeat in the API's health report
    # what the killed scheduler left in its process group (task processes, log server)
    # is ended by the restarted part before it begins
    while _group_members(first) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _group_members(first) == []
