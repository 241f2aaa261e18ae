"""The shape of each DAG: tasks, dependencies, schedule, params, limits."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest
from airflow.sdk import CronDataIntervalTimetable
from sitelens.timetables.site_day import SiteDayTimetable

START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _scheduler_dag(dag):
    """The DAG as the scheduler sees it (serialized, with the core timetable)."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def _edges(dag) -> set[tuple[str, str]]:
    return {(task.task_id, down) for task in dag.tasks for down in task.downstream_task_ids}


def _types(dag) -> dict[str, str]:
    return {task.task_id: type(task).__name__ for task in dag.tasks}


def test_nightly_waits_recomputes_then_checks(dags):
    dag = dags["sitelens_nightly"]
    assert _types(dag) == {"wait_for_day_end": "DayClosedSensor",
                           "recompute": "BatchRecomputeOperator",
                           "check_layers": "LayerCheckOperator"}
    assert _edges(dag) == {("wait_for_day_end", "recompute"), ("recompute", "check_layers")}


def test_nightly_has_a_daily_data_interval_and_runs_one_day_at_a_time(dags):
    dag = dags["sitelens_nightly"]
    assert isinstance(_scheduler_dag(dag).timetable, SiteDayTimetable)  # survives serializing
    assert (dag.timetable._expression, str(dag.timetable._timezone)) == ("0 0 * * *", "UTC")
    # a run covers the whole UTC day before it (not start == end as with @daily in 3.x);
    # a manual run (trigger form, `airflow dags test`) gets the last complete day
    interval = _scheduler_dag(dag).timetable.infer_manual_data_interval(
        run_after=pendulum.datetime(2026, 11, 25, 0, 0, tz="UTC"))
    assert (interval.start, interval.end) == (pendulum.datetime(2026, 11, 24, tz="UTC"),
                                              pendulum.datetime(2026, 11, 25, tz="UTC"))
    # catchup off: unpausing (needed for backfills to run) does not start a run per day
    assert (dag.start_date, dag.catchup, dag.max_active_runs) == (START, False, 1)
    assert dag.dagrun_timeout == timedelta(hours=20)
    # Spark gets the two cores: one recompute at a time, across runs and backfills
    assert dag.get_task("recompute").max_active_tis_per_dag == 1


def test_nightly_runs_are_named_by_the_day_they_recompute(dags):
    from airflow.timetables.base import DataInterval
    from airflow.utils.types import DagRunType

    timetable = _scheduler_dag(dags["sitelens_nightly"]).timetable
    day = DataInterval(pendulum.datetime(2026, 11, 30, tz="UTC"),
                       pendulum.datetime(2026, 12, 1, tz="UTC"))

    def run_id(run_type, run_after=day.end):
        return timetable.generate_run_id(run_type=run_type, run_after=run_after,
                                         data_interval=day)

    assert run_id(DagRunType.SCHEDULED) == "scheduled__2026-11-30"
    redo = run_id(DagRunType.BACKFILL_JOB)
    assert redo.startswith("backfill__2026-11-30__") and redo != "backfill__2026-11-30__"
    # a manual run's day may come from the trigger form: Airflow's name (trigger time)
    triggered = pendulum.datetime(2026, 12, 2, 9, 15, tz="UTC")
    assert run_id(DagRunType.MANUAL, triggered) == "manual__2026-12-02T09:15:00+00:00"


def test_nightly_params(dags):
    params = dags["sitelens_nightly"].params
    assert params["sites"] == []
    assert params.get_param("sites").schema["type"] == "array"
    assert params["wait_for_day_end"] is True
    assert params.get_param("wait_for_day_end").schema["type"] == "boolean"


def _rendered(dag, template: str, params: dict, interval_start) -> str:
    return dag.get_template_env().from_string(template).render(
        params={"sites": [], "first_day": None, "last_day": None, "wait_for_day_end": True,
                **params},
        data_interval_start=interval_start)


def test_nightly_tasks_take_the_day_and_sites_from_the_run(dags):
    dag = dags["sitelens_nightly"]
    sensor, recompute, check = (dag.get_task(t) for t in
                                ("wait_for_day_end", "recompute", "check_layers"))
    for task in (sensor, recompute, check):
        assert task.site_ids == "{{ params.sites | join(',') }}"
    assert sensor.deferrable is True
    assert sensor.timeout == timedelta(hours=18).total_seconds()
    assert recompute.batch_run_id == "{{ run_id }}"
    assert recompute._conn_id == "sitelens_spark"
    assert recompute.retries == 2 and recompute.retry_delay == timedelta(minutes=5)
    start = pendulum.datetime(2026, 11, 24, tz="UTC")

    def days(params: dict) -> dict:
        return {name: _rendered(dag, template, params, start) for name, template in (
            ("sensor", sensor.day), ("wait", sensor.wait), ("start", recompute.start_day),
            ("end", recompute.end_day), ("check_start", check.start_day),
            ("check_end", check.end_day), ("open", recompute.keep_open),
            ("check_open", check.keep_open))}

    # the scheduled day: the data interval's, waiting for its end
    assert days({}) == {"sensor": "2026-11-24", "wait": "True", "start": "2026-11-24",
                        "end": "2026-11-24", "check_start": "2026-11-24",
                        "check_end": "2026-11-24", "open": "False", "check_open": "False"}
    # the trigger form's day(s): recomputed now, whatever the logical date
    assert days({"first_day": "2026-12-01"}) == {
        "sensor": "2026-12-01", "wait": "False", "start": "2026-12-01", "end": "2026-12-01",
        "check_start": "2026-12-01", "check_end": "2026-12-01", "open": "True",
        "check_open": "True"}
    assert days({"first_day": "2026-11-02", "last_day": "2026-11-05"}) == {
        "sensor": "2026-11-05", "wait": "False", "start": "2026-11-02", "end": "2026-11-05",
        "check_start": "2026-11-02", "check_end": "2026-11-05", "open": "True",
        "check_open": "True"}
    # wait_for_day_end off: closes the interval's day now, over or not
    assert {k: v for k, v in days({"wait_for_day_end": False}).items()
            if k in ("wait", "open")} == {"wait": "False", "open": "False"}


def test_nightly_tags(dags):
    assert dags["sitelens_nightly"].tags == {"sitelens", "batch-layer", "nightly"}


def test_setup_is_manual_and_creates_topics_and_tables(dags):
    dag = dags["sitelens_setup"]
    assert dag.schedule is None and dag.catchup is False
    assert _types(dag) == {"create_topics": "CreateTopicsOperator",
                           "apply_migrations": "ApplyMigrationsOperator"}
    assert _edges(dag) == set()  # independent: both run at once
    assert dag.get_task("create_topics").kafka_config_id == "sitelens_kafka"
    assert dag.tags == {"sitelens", "setup"}


def test_retention_runs_daily_over_a_data_interval(dags):
    dag = dags["sitelens_retention"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("0 1 * * *", "UTC")
    assert (dag.start_date, dag.catchup, dag.max_active_runs) == (START, False, 1)
    assert _types(dag) == {"purge_raw_events": "PurgeRawEventsOperator"}
    task = dag.get_task("purge_raw_events")
    assert task.until == "{{ data_interval_end | ts }}"
    assert task.lookback_days == "{{ params.lookback_days }}"
    assert dag.params["lookback_days"] == 3 and dag.params["sites"] == []
    assert dag.params.get_param("lookback_days").schema["minimum"] == 1
    assert dag.tags == {"sitelens", "retention"}


def test_quality_is_manual_over_a_range_of_days(dags):
    dag = dags["sitelens_quality"]
    assert dag.schedule is None and dag.catchup is False
    assert _types(dag) == {"check_layers": "LayerCheckOperator"}
    assert dag.params["start_day"] is None and dag.params["end_day"] is None
    assert dag.params.get_param("start_day").schema["format"] == "date"
    task = dag.get_task("check_layers")
    assert "params.start_day" in task.start_day and "params.end_day" in task.end_day
    assert dag.tags == {"sitelens", "data-quality"}


@pytest.mark.parametrize("dag_id", ["sitelens_nightly", "sitelens_retention"])
def test_scheduled_dags_run_after_their_whole_day(dags, dag_id):
    """Unpaused for the first time, a DAG runs only the latest complete day (no catchup);
    the run starts when its interval ends."""
    dag = dags[dag_id]
    info = _scheduler_dag(dag).timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=_restriction(dag))
    assert info.data_interval.end - info.data_interval.start == timedelta(days=1)
    assert info.run_after == info.data_interval.end
    assert info.data_interval.start > pendulum.now("UTC").subtract(days=2)
    assert info.data_interval.start.hour == (0 if dag_id.endswith("nightly") else 1)


def _restriction(dag):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=dag.start_date, latest=None, catchup=dag.catchup)
