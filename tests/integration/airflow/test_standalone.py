"""``airflow standalone`` as the local run starts it (same launcher and environment), on a
free port: the DAGs are listed, a backfill created from the CLI runs (retention DAG,
three days, deleting exactly the expired raw hours of a test site), and the UI's
date-range backfill is accepted for the nightly DAG."""

from __future__ import annotations

from datetime import UTC, datetime

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


def test_standalone_lists_every_dag(airflow_standalone):
    assert airflow_standalone.api.dag_ids() == expected_dag_ids()
    health = airflow_standalone.api.health()
    assert {part: health[part]["status"] for part in ("metadatabase", "scheduler",
                                                     "dag_processor", "triggerer")} == \
        dict.fromkeys(("metadatabase", "scheduler", "dag_processor", "triggerer"), "healthy")


def test_backfill_from_the_cli_runs_each_day(airflow_standalone, retention_site, cql):
    assert _raw_hours(cql) == HOURS
    # backfill runs start only while the DAG is unpaused (catchup is off: unpausing adds
    # just the latest day's scheduled run)
    airflow_standalone.set_paused("sitelens_retention", False)
    done = airflow_standalone.cli(
        "backfill", "create", "--dag-id", "sitelens_retention", "--from-date", "2026-11-19",
        "--to-date", "2026-11-21T01:00:00+00:00", "--max-active-runs", "1",
        "--dag-run-conf", f'{{"sites": ["{SITE}"], "lookback_days": 1}}')
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    runs = airflow_standalone.wait_for_runs("sitelens_retention", 3, run_type="backfill",
                                            timeout=600)
    airflow_standalone.set_paused("sitelens_retention", True)
    assert [r["state"] for r in runs] == ["success"] * 3, runs
    assert sorted(r["data_interval_end"][:16] for r in runs) == [
        "2026-11-20T01:00", "2026-11-21T01:00", "2026-11-22T01:00"]
    # each run deletes the day of hours before (its interval end - 1 day): together
    # [11-18 01:00, 11-21 01:00); the hours before and after stay
    assert _raw_hours(cql) == [KEPT_BEFORE, KEPT_AFTER]


def test_nightly_backfill_over_a_date_range_is_accepted(airflow_standalone):
    """What the UI's trigger form sends for a date range (dry run: nothing is run)."""
    answer = airflow_standalone.api.post("/api/v2/backfills/dry_run", {
        "dag_id": "sitelens_nightly", "from_date": "2026-11-20T00:00:00Z",
        "to_date": "2026-11-22T00:00:00Z", "dag_run_conf": {"sites": ["demo.local"]},
        "max_active_runs": 1, "reprocess_behavior": "none"})
    assert sorted(r["logical_date"][:10] for r in answer["backfills"]) == [
        "2026-11-20", "2026-11-21", "2026-11-22"]
