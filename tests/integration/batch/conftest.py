"""The batch layer end to end: events posted through the write service, carried by Kafka
and the speed layer into ``raw_event_chunks``, recomputed by ``batch/job.py`` under
spark-submit (local[2]), read back from the batch tables."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, timedelta

from analytics.config import REPO_ROOT, Config
from analytics.spark_submit import submit_command, submit_env
from tests.integration.airflow.conftest import (  # noqa: F401  (fixtures used here too)
    airflow_db,
    airflow_home,
    airflow_running,
    dags_test,
)

JOB = REPO_ROOT / "batch" / "job.py"
SERIES = ("visitors", "pageviews", "custom_events", "sessions", "engaged_sessions", "bounces",
          "total_duration_s", "session_pageviews")


def run_batch(config: Config, start: date, end: date | None = None,
              sites: list[str] | None = None, timeout: float = 300) -> list[dict]:
    """Run the job with spark-submit; its JSON lines (one per site-day, then a summary)."""
    args = ["--start-day", start.isoformat(), "--end-day", (end or start).isoformat()]
    if sites:
        args += ["--sites", ",".join(sites)]
    done = subprocess.run(submit_command(config.for_batch(), JOB, "sitelens-batch-test", args),
                          env=submit_env(config), capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"batch job failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def anchor(now: datetime) -> datetime:
    """The latest 17:00 UTC at least 20 minutes before ``now``: noon in New York (EST),
    22:45 in Kathmandu, so two hours either side of it are one local day in both zones,
    and it is less than 72 hours ago (the write service takes buffered events that old)."""
    today = now.replace(hour=17, minute=0, second=0, microsecond=0)
    return today if now - today >= timedelta(minutes=20) else today - timedelta(days=1)


def current(cql, site_id: str, day: date) -> dict:
    """What readers see of a site-day: its batch_days row and the rows of the version it
    names, by table (hourly, breakdowns, goals), plus every version still stored."""
    day_row = cql.execute("SELECT * FROM batch_days WHERE site_id = %s AND day = %s",
                          (site_id, day)).one()
    found = {"day": day_row._asdict() if day_row else None}
    for name, table in (("hourly", "batch_hourly"), ("breakdowns", "batch_breakdowns"),
                        ("goals", "batch_goals")):
        rows = cql.execute(f"SELECT * FROM {table} WHERE site_id = %s AND day = %s",
                           (site_id, day))
        rows = [r._asdict() for r in rows]
        found[name] = [r for r in rows if day_row and r["version"] == day_row.version]
        found.setdefault("versions", set()).update(r["version"] for r in rows)
    found["registered"] = {r.version for r in cql.execute(
        "SELECT version FROM batch_versions WHERE site_id = %s AND day = %s", (site_id, day))}
    return found


def utc_naive(instant: datetime) -> datetime:
    """Cassandra timestamps come back as naive UTC."""
    return instant.astimezone(UTC).replace(tzinfo=None)
