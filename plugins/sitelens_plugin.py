"""Airflow plugin registering what Airflow only rebuilds from a registry: the timetable.

Operators, hooks and sensors need no plugin (the DAGs import the ``sitelens`` package);
a custom timetable does, because the scheduler and the API server rebuild each DAG's
timetable from its serialized import path.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from sitelens.timetables.site_day import SiteDayTimetable


class SitelensPlugin(AirflowPlugin):
    name = "sitelens"
    timetables = [SiteDayTimetable]
