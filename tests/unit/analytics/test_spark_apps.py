"""analytics.spark_apps and analytics.airflow_connections: the Spark applications and the
Airflow connection ids, named once, and the jobs' own parsers reading the arguments the
launchers build."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from analytics import airflow_connections, spark_apps
from analytics.config import REPO_ROOT
from analytics.spark_apps import (
    ADHOC,
    APPS,
    BATCH_RECOMPUTE,
    SPEED_LAYER,
    SparkApp,
    adhoc_args,
    batch_args,
)


def test_the_applications():
    assert SPEED_LAYER == SparkApp(name="sitelens-speed-layer", script="streaming/job.py")
    assert BATCH_RECOMPUTE == SparkApp(name="sitelens-batch", script="batch/job.py")
    assert ADHOC == SparkApp(name="sitelens-adhoc", script="batch/adhoc.py")
    assert APPS == (SPEED_LAYER, BATCH_RECOMPUTE, ADHOC)
    assert BATCH_RECOMPUTE.path(REPO_ROOT) == REPO_ROOT / "batch" / "job.py"
    assert BATCH_RECOMPUTE.path(Path("/opt/sitelens")) == Path("/opt/sitelens/batch/job.py")
    for app in APPS:
        assert app.path(REPO_ROOT).is_file(), app


def test_the_connection_ids():
    assert (airflow_connections.SPARK_CONN_ID, airflow_connections.KAFKA_CONN_ID) == (
        "sitelens_spark", "sitelens_kafka")


@pytest.mark.parametrize("module", [spark_apps, airflow_connections])
def test_the_contract_modules_import_nothing_of_the_project(module):
    """The Airflow plugins import them while DAG files are parsed: only the standard
    library, nothing heavy."""
    tree = ast.parse(Path(module.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "collections", "dataclasses", "datetime", "pathlib"}


def test_batch_arguments():
    assert batch_args(date(2026, 11, 24), date(2026, 11, 24)) == [
        "--start-day", "2026-11-24", "--end-day", "2026-11-24"]
    assert batch_args(date(2026, 11, 20), date(2026, 11, 22), sites=["shop", "blog"],
                      run_id="scheduled__2026-11-20", open_from=date(2026, 11, 22)) == [
        "--start-day", "2026-11-20", "--end-day", "2026-11-22", "--sites", "shop,blog",
        "--run-id", "scheduled__2026-11-20", "--open-from", "2026-11-22"]
    with pytest.raises(ValueError, match="end day 2026-11-19 is before start day 2026-11-20"):
        batch_args(date(2026, 11, 20), date(2026, 11, 19))


def test_the_batch_job_reads_the_arguments_it_is_given():
    from batch.job import parse_args

    args = parse_args(batch_args(date(2026, 11, 20), date(2026, 11, 22), sites=["shop", "blog"],
                                 run_id="run-1", open_from=date(2026, 11, 22)))
    assert (args.start_day, args.end_day, args.sites, args.run_id, args.open_from) == (
        date(2026, 11, 20), date(2026, 11, 22), ["shop", "blog"], "run-1", date(2026, 11, 22))
    every = parse_args(batch_args(date(2026, 11, 24), date(2026, 11, 24)))
    assert (every.sites, every.run_id, every.open_from) == ([], "", None)


def test_the_adhoc_job_reads_the_arguments_it_is_given():
    from batch.adhoc import parse_args

    assert adhoc_args("3f2a") == ["--job-id", "3f2a"]
    assert parse_args(adhoc_args("3f2a")).job_id == "3f2a"
