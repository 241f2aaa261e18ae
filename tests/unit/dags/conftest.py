"""DAG tests run Airflow in this process, in a temporary AIRFLOW_HOME made by the same
``stack.airflow.airflow_env`` the local run uses, so they never touch ``~/airflow``.

Airflow reads its settings when it is first imported, so the environment is set when
this conftest is imported, before any test module imports Airflow.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from analytics.config import Config
from stack.airflow import DAGS_DIR, PLUGINS_DIR, airflow_env

HOME = Path(tempfile.mkdtemp(prefix="sitelens-airflow-unit-"))


def _airflow_settings() -> None:
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != str(HOME):
        raise RuntimeError("Airflow was imported before tests/unit/dags set its environment "
                           f"(AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME')!r}); run these "
                           "tests on their own or import Airflow only inside tests")
    env = airflow_env(Config.from_env(), home=HOME)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AIRFLOW")})
    if str(PLUGINS_DIR) not in sys.path:
        sys.path.append(str(PLUGINS_DIR))


_airflow_settings()


@pytest.fixture(scope="session", autouse=True)
def _remove_airflow_home():
    yield
    shutil.rmtree(HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=DAGS_DIR)


@pytest.fixture(scope="session")
def dags(dagbag) -> dict:
    return dagbag.dags
