"""Data quality on demand: batch vs speed layer for a range of site-local days."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param
from sitelens.operators.layer_check import LayerCheckOperator
from sitelens.utils.dag_defaults import SITES_TEMPLATE, START_DATE, default_args, sites_param

DOC = """
### Data-quality check for a range of days

The nightly DAG's `check_layers` task on its own, for any days: for each chosen site and
each site-local day from `start_day` to `end_day` (both included) it compares the batch
layer's totals with the speed layer's, and fails, listing the site-days, when the
difference is not explained by events that arrived late.

Empty `start_day`/`end_day` mean the day before the run. Days older than the speed
layer's view TTL (`ANALYTICS_REALTIME_TTL_DAYS`) are reported as not comparable.
"""

YESTERDAY = "(dag_run.run_after - macros.timedelta(days=1)) | ds"

with DAG(
    dag_id="sitelens_quality",
    description="Compare batch and speed-layer totals for a range of days",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=2,
    default_args=default_args(retries=1, retry_delay=timedelta(minutes=2)),
    params={
        "start_day": Param(None, type=["null", "string"], format="date", title="First day",
                           description="First site-local day (empty: the day before the run)"),
        "end_day": Param(None, type=["null", "string"], format="date", title="Last day",
                         description="Last day, included (empty: the first day)"),
        "sites": sites_param(),
    },
    tags=["sitelens", "data-quality"],
    doc_md=DOC,
) as dag:
    check_layers = LayerCheckOperator(
        task_id="check_layers",
        start_day=f"{{{{ params.start_day or {YESTERDAY} }}}}",
        end_day=f"{{{{ params.end_day or params.start_day or {YESTERDAY} }}}}",
        site_ids=SITES_TEMPLATE,
        execution_timeout=timedelta(minutes=30),
        doc_md="Batch vs speed-layer totals of every chosen site-day.",
    )
