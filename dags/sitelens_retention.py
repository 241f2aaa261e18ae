"""Daily retention: remove raw events older than each site's retention setting."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, CronDataIntervalTimetable, Param
from sitelens.operators.raw_retention import PurgeRawEventsOperator
from sitelens.utils.dag_defaults import SITES_TEMPLATE, START_DATE, default_args, sites_param

DOC = """
### Raw-event retention

Removes raw events (`raw_event_chunks`, the master dataset) that are older than each
site's `retention_days`. Sites without a retention setting keep their raw events forever;
the batch views are aggregates and always stay.

* The run of the data interval ending at `T` deletes, for each site, the UTC hours of the
  `lookback_days` (default 3) before `T - retention_days`. Consecutive daily runs overlap,
  so up to two missed nights need nothing (deleting an hour already gone is harmless);
  catchup is off, so after a longer outage, or for a site whose retention was just
  shortened, trigger one run with a longer `lookback_days` (or backfill the days).
* Deleting is idempotent: retries and reruns are safe.

Days whose raw events are gone can no longer be recomputed by the nightly DAG.
"""

with DAG(
    dag_id="sitelens_retention",
    description="Delete raw events older than each site's retention",
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params={
        "sites": sites_param(),
        "lookback_days": Param(
            3, type="integer", minimum=1, title="Look back (days)",
            description="How many days of expired hours before each site's cutoff to "
                        "delete (3: the daily runs overlap; more after an outage or a "
                        "retention change)."),
    },
    tags=["sitelens", "retention"],
    doc_md=DOC,
) as dag:
    purge_raw_events = PurgeRawEventsOperator(
        task_id="purge_raw_events",
        site_ids=SITES_TEMPLATE,
        lookback_days="{{ params.lookback_days }}",
        execution_timeout=timedelta(hours=1),
        doc_md="Partition deletes of the expired UTC hours of every site with a retention.",
    )
