"""The daily timetable of the day-by-day DAGs, with run ids that name the day a run covers.

Airflow names a scheduled run after the moment it may start (``run_after``), which for a
daily data interval ``[D, D+1)`` is ``D+1 00:00``: the run that recomputes 30 November
would be ``scheduled__2026-12-01T00:00:00+00:00``. Here it is ``scheduled__2026-11-30``,
the site-local day D the run recomputes. Backfill runs Airflow lets the timetable name
(a day run again with ``--reprocess-behavior``) are ``backfill__2026-11-30__<created>``.
Manual runs keep Airflow's name (the trigger time): the day a manual run recomputes can
come from the trigger form, which a timetable does not see.

Registered by ``plugins/sitelens_plugin.py`` (Airflow serializes a DAG's timetable by
its import path and only rebuilds registered ones).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.utils.types import DagRunType


class SiteDayTimetable(CronDataIntervalTimetable):
    """Daily UTC data intervals (cron ``0 0 * * *``) whose runs are named by their day."""

    def __init__(self, cron: str = "0 0 * * *", timezone: str = "UTC") -> None:
        super().__init__(cron, timezone)

    @property
    def summary(self) -> str:
        return "daily, per site-local day"

    def generate_run_id(self, *, run_type: DagRunType, run_after: Any,
                        data_interval: Any, **extra: Any) -> str:
        if data_interval is None or run_type not in (DagRunType.SCHEDULED,
                                                     DagRunType.BACKFILL_JOB):
            return super().generate_run_id(run_type=run_type, run_after=run_after,
                                           data_interval=data_interval, **extra)
        day = data_interval.start.date().isoformat()
        if run_type == DagRunType.SCHEDULED:  # one scheduled run per interval
            return run_type.generate_run_id(suffix=day)
        created = pendulum.now("UTC").format("YYYYMMDD[T]HHmmss")  # a day may be redone
        return run_type.generate_run_id(suffix=f"{day}__{created}")
