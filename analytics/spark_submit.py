"""How a Spark job of this project is launched: ``spark-submit`` with every setting from
config, the same way from the local run, the tests, Airflow and a cluster.

``spark_conf`` (``analytics.spark_session``) is the single list of settings; here it
becomes ``--master``/``--name``/``--conf`` arguments, because settings that start the
driver JVM (jars, memory, bind address) only take effect on the command line. The job
itself reads its config back from the ``ANALYTICS_*`` environment (:func:`submit_env`),
and with it the secrets, which its session sets itself and which never appear on the
command line (``analytics.spark_session.spark_credentials``; the Kafka login is an option
of its Kafka source).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from analytics.config import REPO_ROOT, Config
from analytics.spark_session import is_local_master, spark_conf


def spark_submit_binary() -> str:
    """The ``spark-submit`` of the installed pyspark (its jars match the connectors)."""
    from pyspark.find_spark_home import _find_spark_home

    return str(Path(_find_spark_home()) / "bin" / "spark-submit")


def submit_command(config: Config, app: Path, app_name: str, app_args: Sequence[str] = (),
                   *, driver_java_options: Sequence[str] = (),
                   check_jars: bool = True) -> list[str]:
    """The ``spark-submit`` argv that runs the Python file ``app`` with ``app_args``."""
    conf = spark_conf(config, app_name, check_jars=check_jars)
    argv = [spark_submit_binary(), "--master", conf.pop("spark.master"),
            "--name", conf.pop("spark.app.name")]
    if driver_java_options:
        argv += ["--driver-java-options", " ".join(driver_java_options)]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    return [*argv, str(app), *app_args]


def submit_env(config: Config) -> dict[str, str]:
    """Environment for ``spark-submit``: the config, the Python that runs the driver and
    the Python workers (this venv's), and the repo on the path for ``analytics``."""
    env = config.to_env()
    env.update({
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
    })
    if is_local_master(config.spark_master):
        env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env
