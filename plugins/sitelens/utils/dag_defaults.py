"""What every Sitelens DAG shares: owner, retries, the first day, the params' texts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

OWNER = "sitelens-data"
START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
"""The earliest day the scheduled DAGs cover (the earliest a backfill can reach). Catchup
is off: an unpaused DAG runs its latest interval, history is a deliberate backfill."""
SITES_TEMPLATE = "{{ params.sites | join(',') }}"
"""The ``sites`` param (a list; empty means every site) as the text operators take."""
SITES_PARAM_DOC = ("Site ids to limit the run to, one per line; empty means every site. "
                   "An unknown id fails the run at its first task.")


def default_args(retries: int = 2, retry_delay: timedelta = timedelta(minutes=5),
                 ) -> dict[str, Any]:
    return {"owner": OWNER, "retries": retries, "retry_delay": retry_delay,
            "depends_on_past": False}


def sites_param():
    from airflow.sdk import Param

    return Param([], type="array", items={"type": "string"}, title="Sites",
                 description=SITES_PARAM_DOC)
