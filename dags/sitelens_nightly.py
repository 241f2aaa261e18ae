"""Nightly recompute of the batch layer: one run per UTC day, for that day in every site's
own time zone. See ``doc_md`` below (shown in the UI)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param
from sitelens.operators.batch_recompute import BatchRecomputeOperator
from sitelens.operators.layer_check import LayerCheckOperator
from sitelens.sensors.day_closed import DayClosedSensor
from sitelens.timetables.site_day import SiteDayTimetable
from sitelens.utils.dag_defaults import (
    SITES_TEMPLATE,
    START_DATE,
    default_args,
    sites_param,
)

DOC = """
### Nightly batch recompute

Replaces the speed layer's approximations with exact numbers, one day at a time.

* **Which day**: the run's data interval is one UTC day `[D 00:00, D+1 00:00)`; the run
  recomputes the calendar day **D in each site's own time zone** (a site in
  Europe/Berlin gets its Berlin day D, one in America/New_York its New York day D).
* **wait_for_day_end**: waits (deferred, no worker slot used) until day D has ended in the
  zone of every chosen site plus `ANALYTICS_BATCH_SETTLE_MINUTES` (default 60). For UTC
  sites that is 01:00 UTC; for Honolulu 11:00 UTC. A day long past does not wait.
* **recompute**: `batch/job.py --start-day D --end-day D` under `spark-submit` (Spark
  provider, master from the `sitelens_spark` connection, i.e. `ANALYTICS_SPARK_MASTER`).
  Reads the raw events of the day (plus a margin so sessions are whole), computes every
  batch view and switches the day to the new version atomically: running a day twice, or
  again after late events arrived, gives the same answer. One recompute at a time across
  all runs and backfills (Spark gets the machine).
* **Run ids name the day**: the run that recomputes 30 November is
  `scheduled__2026-11-30` (Airflow's default would name it after its start,
  `2026-12-01T00:00`); a backfill run that redoes a day is `backfill__2026-11-30__<when>`.
  A backfill's first run of a day and manual runs keep Airflow's names (the day's end, the
  trigger time); the day such a run recomputes is its data interval, or the trigger
  form's `first_day`/`last_day`, shown in the run's *Details*.
* **check_layers**: compares batch and speed-layer totals of the day; fails, listing the
  site-days, when the difference is not explained by late events.

**Params**: `sites` limits the run to some site ids (empty: all); `wait_for_day_end`
off skips the wait and closes the day at once, over or not (tests, deliberate early
reruns; the nightly run of the day recomputes it again).

**Recompute any day(s) now**: *Trigger* with `first_day` (and `last_day` for a range) set
to the site-local day(s) to recompute; leave the logical date as it is (never in the
future: a run dated tomorrow would wait until tomorrow). Such a run does not wait for the
day's end: days that have ended are recomputed and closed, a day still going on (today)
is recomputed and reported in the task log but stays open — the speed layer keeps serving
it until the nightly run of that day closes it.

**Catching up and backfilling**: runs are independent and idempotent (safe in any order,
any number of times), and only one recompute runs at a time. Catchup is off, so
unpausing does not start a run for every day since the start date: days missed while
Airflow was down, and history, are a backfill — *Trigger → Backfill* with a date range in
the UI (tick "unpause"), or
`airflow backfill create --dag-id sitelens_nightly --from-date 2026-11-01
--to-date 2026-11-03 --max-active-runs 1`. The default reprocess behaviour only creates
the days without a run (missed nights); `--reprocess-behavior completed` redoes them all.
Backfill runs start only while the DAG is unpaused.
"""

FIRST_DAY = "{{ params.first_day or (data_interval_start | ds) }}"
LAST_DAY = "{{ params.last_day or params.first_day or (data_interval_start | ds) }}"
NAMED_DAYS = "{{ params.first_day is not none and params.first_day != '' }}"
"""Days named in the trigger form: recomputed now, and left open while not over."""

with DAG(
    dag_id="sitelens_nightly",
    description="Recompute each site-local day with Spark, then check it against the "
                "speed layer",
    schedule=SiteDayTimetable(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=20),
    default_args=default_args(),
    params={
        "sites": sites_param(),
        "first_day": Param(
            None, type=["null", "string"], format="date", title="First day",
            description="Site-local day to recompute (YYYY-MM-DD); empty: the run's data "
                        "interval day. A day not yet over is recomputed but stays open."),
        "last_day": Param(
            None, type=["null", "string"], format="date", title="Last day",
            description="Last day of a range to recompute (empty: just the first day)."),
        "wait_for_day_end": Param(
            True, type="boolean", title="Wait for the day's end",
            description="Wait until the day has ended in every site's time zone (plus the "
                        "settle time) before recomputing it."),
    },
    tags=["sitelens", "batch-layer", "nightly"],
    doc_md=DOC,
) as dag:
    wait_for_day_end = DayClosedSensor(
        task_id="wait_for_day_end",
        day=LAST_DAY,
        site_ids=SITES_TEMPLATE,
        # days named in the trigger form are recomputed now, ended or not
        wait="{{ params.wait_for_day_end and not params.first_day }}",
        timeout=timedelta(hours=18),
        doc_md="Waits until the site-local day has ended everywhere, plus the settle time.",
    )
    recompute = BatchRecomputeOperator(
        task_id="recompute",
        start_day=FIRST_DAY,
        end_day=LAST_DAY,
        keep_open=NAMED_DAYS,
        site_ids=SITES_TEMPLATE,
        execution_timeout=timedelta(hours=3),
        max_active_tis_per_dag=1,
        doc_md="`batch/job.py` for the day under spark-submit; replaces the day's batch views.",
    )
    check_layers = LayerCheckOperator(
        task_id="check_layers",
        start_day=FIRST_DAY,
        end_day=LAST_DAY,
        keep_open=NAMED_DAYS,
        site_ids=SITES_TEMPLATE,
        execution_timeout=timedelta(minutes=30),
        doc_md="Batch vs speed-layer totals of the day; fails on a mismatch late events do "
               "not explain.",
    )
    wait_for_day_end >> recompute >> check_layers
