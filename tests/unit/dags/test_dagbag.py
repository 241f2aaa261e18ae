"""Every DAG file loads, defines the DAG named after it, and stays thin."""

from __future__ import annotations

import os
import subprocess
import sys

from stack.airflow import DAGS_DIR, PLUGINS_DIR, REPO_ROOT, expected_dag_ids

DAG_IDS = ["sitelens_nightly", "sitelens_quality", "sitelens_retention", "sitelens_setup"]


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_every_file_defines_the_dag_named_after_it(dagbag):
    assert expected_dag_ids() == DAG_IDS
    assert sorted(dagbag.dag_ids) == DAG_IDS  # no example DAGs (LOAD_EXAMPLES=False)
    for dag_id in DAG_IDS:
        assert dagbag.dags[dag_id].fileloc == str(DAGS_DIR / f"{dag_id}.py")


def test_every_dag_is_documented_owned_tagged_and_retried(dags):
    for dag in dags.values():
        assert dag.doc_md and len(dag.doc_md) > 200, dag.dag_id
        assert dag.description, dag.dag_id
        assert "sitelens" in dag.tags, dag.dag_id
        assert dag.owner == "sitelens-data", dag.dag_id
        for task in dag.tasks:
            assert task.owner == "sitelens-data", task.task_id
            assert task.retries >= 1, (dag.dag_id, task.task_id)
            assert task.execution_timeout is not None or task.task_id == "wait_for_day_end"
            assert task.doc_md, (dag.dag_id, task.task_id)


CONSTANTS = ["analytics", "analytics.airflow_connections", "analytics.spark_apps"]
"""The project's modules a DAG file may import while it is parsed: the package (a
docstring) and the import-free constants modules the plugins name things with."""


def test_dag_files_parse_without_heavy_imports():
    """Parsing a DAG file imports neither the Cassandra driver, pyspark, Kafka's client nor
    the project's modules (they are imported when a task runs), the constants aside."""
    code = (
        "import runpy, sys\n"
        f"sys.path[:0] = [{str(REPO_ROOT)!r}, {str(PLUGINS_DIR)!r}]\n"
        f"for name in {DAG_IDS!r}:\n"
        f"    runpy.run_path({str(DAGS_DIR)!r} + '/' + name + '.py')\n"
        "heavy = ('cassandra', 'pyspark', 'confluent_kafka', 'analytics', 'batch')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == str(CONSTANTS)


def test_plugin_loader_leaves_the_sitelens_package_alone():
    """Airflow imports every .py of the plugins folder under its bare file name; the
    .airflowignore keeps it out of the package (no ``batch_recompute`` module, no second
    copy of the operators); it finds only the plugin module registering the timetable."""
    from airflow._shared.module_loading.file_discovery import find_path_from_directory

    files = list(find_path_from_directory(str(PLUGINS_DIR), ".airflowignore"))
    assert [f for f in files if f.endswith(".py")] == [str(PLUGINS_DIR / "sitelens_plugin.py")]


def test_the_plugin_registers_the_timetable():
    from airflow import plugins_manager

    assert plugins_manager.get_timetables_plugins()[
        "sitelens.timetables.site_day.SiteDayTimetable"].__name__ == "SiteDayTimetable"
