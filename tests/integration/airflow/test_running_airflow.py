"""Airflow's parts as the local run starts them (same lifecycle and environment), on a
free port and a database of their own: the DAGs are listed, a backfill created from the
CLI runs (retention DAG, three days, deleting exactly the expired raw hours of a test
site), a backfill survives its scheduler being killed, and the UI's date-range backfill is
accepted for the nightly DAG."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
from datetime import UTC, date, datetime

import pytest

from analytics.sites import Site, SiteRepository
from stack.airflow import expected_dag_ids

pytestmark = pytest.mark.integration

SITE = "airflow-retention.test"


KEPT_BEFORE = datetime(2026, 11, 18, 0, tzinfo=UTC)
EXPIRED = [datetime(2026, 11, 18, 5, tzinfo=UTC), datetime(2026, 11, 19, 5, tzinfo=UTC),
           datetime(2026, 11, 20, 0, tzinfo=UTC), datetime(2026, 11, 21, 0, tzinfo=UTC)]
KEPT_AFTER = datetime(2030, 1, 1, 0, tzinfo=UTC)  # no run's cutoff reaches it
HOURS = [KEPT_BEFORE, *EXPIRED, KEPT_AFTER]


@pytest.fixture
def retention_site(cql):
    """A site keeping raw events for 1 day, with raw hours before, inside and after what
    the three runs delete; removed afterwards (other tests list every site)."""
    SiteRepository(cql).save(Site(SITE, "retention.example", retention_days=1))
    for hour in HOURS:
        cql.execute("INSERT INTO raw_event_chunks (site_id, hour, kafka_topic, kafka_partition,"
                    " first_offset, events, payload) VALUES (%s, %s, 't', 0, 0, 1, ['{}'])",
                    (SITE, hour))
    yield
    for hour in HOURS:
        cql.execute("DELETE FROM raw_event_chunks WHERE site_id = %s AND hour = %s",
                    (SITE, hour))
    cql.execute("DELETE FROM sites WHERE site_id = %s", (SITE,))


def _raw_hours(cql) -> list[datetime]:
    return [hour for hour in HOURS if cql.execute(
        "SELECT hour FROM raw_event_chunks WHERE site_id = %s AND hour = %s LIMIT 1",
        (SITE, hour)).one()]


def test_running_airflow_lists_every_dag(airflow_running):
    assert airflow_running.api.dag_ids() == expected_dag_ids()
    health = airflow_running.api.health()
    assert {part: health[part]["status"] for part in ("metadatabase", "scheduler",
                                                     "dag_processor", "triggerer")} == \
        dict.fromkeys(("metadatabase", "scheduler", "dag_processor", "triggerer"), "healthy")


def test_backfill_from_the_cli_runs_each_day(airflow_running, retention_site, cql):
    assert _raw_hours(cql) == HOURS
    # backfill runs start only while the DAG is unpaused (catchup is off: unpausing adds
    # just the latest day's scheduled run)
    airflow_running.set_paused("sitelens_retention", False)
    done = airflow_running.cli(
        "backfill", "create", "--dag-id", "sitelens_retention", "--from-date", "2026-11-19",
        "--to-date", "2026-11-21T01:00:00+00:00", "--max-active-runs", "1",
        "--dag-run-conf", f'{{"sites": ["{SITE}"], "lookback_days": 1}}')
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    runs = airflow_running.wait_for_runs("sitelens_retention", 3, run_type="backfill",
                                            timeout=600)
    airflow_running.set_paused("sitelens_retention", True)
    assert [r["state"] for r in runs] == ["success"] * 3, runs
    assert sorted(r["data_interval_end"][:16] for r in runs) == [
        "2026-11-20T01:00", "2026-11-21T01:00", "2026-11-22T01:00"]
    # each run deletes the day of hours before (its interval end - 1 day): together
    # [11-18 01:00, 11-21 01:00); the hours before and after stay
    assert _raw_hours(cql) == [KEPT_BEFORE, KEPT_AFTER]


def test_nightly_backfill_over_a_date_range_is_accepted(airflow_running):
    """What the UI's trigger form sends for a date range (dry run: nothing is run)."""
    answer = airflow_running.api.post("/api/v2/backfills/dry_run", {
        "dag_id": "sitelens_nightly", "from_date": "2026-11-20T00:00:00Z",
        "to_date": "2026-11-22T00:00:00Z", "dag_run_conf": {"sites": ["demo.local"]},
        "max_active_runs": 1, "reprocess_behavior": "none"})
    assert sorted(r["logical_date"][:10] for r in answer["backfills"]) == [
        "2026-11-20", "2026-11-21", "2026-11-22"]


def test_backfill_completes_when_the_scheduler_is_killed(airflow_running, retention_site):
    """Drill: SIGKILL the scheduler while a backfill runs; the supervisor restarts it and
    the backfill completes, each day's run once and successful."""
    airflow = airflow_running
    airflow.set_paused("sitelens_retention", False)
    try:
        # runs at 01:00 UTC: the days 10-01, 10-02 and 10-03 start before 10-04 00:00
        _backfill_when_none_is_active(airflow, "sitelens_retention", date(2026, 10, 1),
                                      date(2026, 10, 4),
                                      conf={"sites": [SITE], "lookback_days": 1})
        deadline = time.monotonic() + 300
        while not any(r["state"] == "running" for r in airflow.runs("sitelens_retention")
                      if r["run_type"] == "backfill"):
            assert time.monotonic() < deadline, airflow.runs("sitelens_retention")
            time.sleep(0.5)
        killed = airflow.pid("airflow-scheduler")
        os.kill(killed, signal.SIGKILL)
        runs = [r for r in airflow.wait_for_runs("sitelens_retention", 3, run_type="backfill",
                                                 timeout=900)
                if r["logical_date"].startswith("2026-10")]
    finally:
        airflow.set_paused("sitelens_retention", True)
    assert airflow.pid("airflow-scheduler") not in (0, killed)
    with pytest.raises(ProcessLookupError):  # nothing of the killed scheduler is left
        os.killpg(killed, 0)
    assert sorted((r["logical_date"][:10], r["state"]) for r in runs) == [
        ("2026-10-01", "success"), ("2026-10-02", "success"), ("2026-10-03", "success")]


def _backfill_when_none_is_active(airflow, dag_id: str, first: date, last: date, *, conf: dict,
                                  timeout: float = 120.0) -> dict:
    """Airflow allows one active backfill per DAG (409 Conflict while another is); the
    scheduler marks one complete a moment after its last run finished."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return airflow.backfill(dag_id, first, last, conf=conf)
        except urllib.error.HTTPError as exc:
            if exc.code != 409 or time.monotonic() > deadline:
                raise
            time.sleep(2)
