"""stack.airflow: the one environment of every Airflow process, made from config."""

from __future__ import annotations

import json

import sitelens

from analytics import airflow_connections
from analytics.config import REPO_ROOT, Config
from stack.airflow import (
    AIRFLOW_BIN,
    KAFKA_CONN_ID,
    SPARK_CONN_ID,
    airflow_env,
    airflow_home,
    process_env,
)


def test_airflow_env_points_airflow_at_the_repo_and_the_state_folder(tmp_path):
    config = Config(state_dir=tmp_path, airflow_port=18081)
    env = airflow_env(config)
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow") == str(airflow_home(config))
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(REPO_ROOT / "dags")
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(REPO_ROOT / "plugins")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert env["AIRFLOW__API__PORT"] == "18081"
    assert env["AIRFLOW__API__BASE_URL"] == "http://127.0.0.1:18081"
    assert env["PYTHONPATH"].split(":") == [str(REPO_ROOT), str(REPO_ROOT / "plugins")]
    # the tasks read the whole config back
    assert Config.from_env(env) == config
    assert airflow_env(config, home=tmp_path / "h")["AIRFLOW_HOME"] == str(tmp_path / "h")


def test_connections_come_from_config():
    config = Config(spark_master="spark://spark-master:7077",
                    kafka_bootstrap="k1:9092,k2:9092,k3:9092")
    env = airflow_env(config)
    spark = json.loads(env["AIRFLOW_CONN_SITELENS_SPARK"])
    kafka = json.loads(env["AIRFLOW_CONN_SITELENS_KAFKA"])
    assert spark == {"conn_type": "spark", "host": "spark://spark-master:7077",
                     "extra": {"deploy-mode": "client"}}
    assert kafka == {"conn_type": "kafka",
                     "extra": {"bootstrap.servers": "k1:9092,k2:9092,k3:9092"}}
    # named once (analytics.airflow_connections), for the stack and the plugins
    assert (SPARK_CONN_ID, KAFKA_CONN_ID) == (sitelens.SPARK_CONN_ID, sitelens.KAFKA_CONN_ID) \
        == (airflow_connections.SPARK_CONN_ID, airflow_connections.KAFKA_CONN_ID) \
        == ("sitelens_spark", "sitelens_kafka")


def test_airflow_reads_the_connections_as_the_hooks_need_them(monkeypatch):
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
    from sitelens.hooks.kafka_topics_admin import TopicsAdminHook

    config = Config(spark_master="spark://spark-master:7077", kafka_port=19092)
    for key, value in airflow_env(config).items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)
    hook = SparkSubmitHook(conn_id=SPARK_CONN_ID, spark_binary="/x/spark-submit")
    assert hook._connection["master"] == "spark://spark-master:7077"
    assert hook._connection["deploy_mode"] == "client"
    kafka = TopicsAdminHook()
    assert kafka._build_config()["bootstrap.servers"] == "127.0.0.1:19092"


def test_process_env_replaces_foreign_airflow_and_analytics_settings(tmp_path):
    config = Config(state_dir=tmp_path)
    env = process_env(config, base={"PATH": "/usr/bin", "HOME": "/root",
                                    "AIRFLOW_HOME": "/root/airflow",
                                    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                                    "ANALYTICS_KAFKA_PORT": "1"})
    assert env["PATH"] == f"{AIRFLOW_BIN.parent}:/usr/bin"
    assert env["HOME"] == "/root"
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"  # ours, not the caller's
    assert env["ANALYTICS_KAFKA_PORT"] == "9092"


def test_every_part_uses_the_postgres_database_and_one_secret(tmp_path):
    config = Config(state_dir=tmp_path, postgres_port=15433, postgres_password="pw",
                    airflow_database="airflow_x", airflow_secret="s")
    env = airflow_env(config)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
        "postgresql+psycopg2://sitelens:pw@127.0.0.1:15433/airflow_x")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API__SECRET_KEY"] == "s"
    external = config.replace(airflow_db_url="postgresql+psycopg2://a:b@db:5432/airflow")
    assert airflow_env(external)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
        "postgresql+psycopg2://a:b@db:5432/airflow")
