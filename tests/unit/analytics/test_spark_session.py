"""Spark settings come from config alone (no JVM started here)."""

import pytest

from analytics.config import Config
from analytics.spark_session import SparkSetupError, _offsets_option, spark_conf


def _config(tmp_path, **changes) -> Config:
    jars = tmp_path / "jars" / "spark-connectors"
    jars.mkdir(parents=True)
    for name in ("spark-sql-kafka-0-10_2.12-3.5.7.jar", "spark-cassandra-connector_2.12-3.5.1.jar"):
        (jars / name).write_bytes(b"")
    return Config(state_dir=tmp_path / "state", jars_dir=tmp_path / "jars", **changes)


def test_local_session_settings(tmp_path):
    conf = spark_conf(_config(tmp_path, cassandra_hosts=("10.0.0.1", "10.0.0.2")), "job")
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.jars"].split(",") == [
        str(tmp_path / "jars/spark-connectors/spark-cassandra-connector_2.12-3.5.1.jar"),
        str(tmp_path / "jars/spark-connectors/spark-sql-kafka-0-10_2.12-3.5.7.jar")]
    assert conf["spark.cassandra.connection.host"] == "10.0.0.1,10.0.0.2"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert (conf["spark.driver.host"], conf["spark.driver.bindAddress"]) == (
        "127.0.0.1", "127.0.0.1")
    assert conf["spark.local.dir"] == str(tmp_path / "state/spark/local")


def test_cluster_master_leaves_driver_address_and_scratch_to_the_cluster(tmp_path):
    conf = spark_conf(_config(tmp_path, spark_master="spark://master:7077"), "job")
    assert conf["spark.master"] == "spark://master:7077"
    assert "spark.driver.bindAddress" not in conf and "spark.local.dir" not in conf


def test_missing_jars_say_how_to_get_them(tmp_path):
    with pytest.raises(SparkSetupError, match="python -m stack setup"):
        spark_conf(Config(jars_dir=tmp_path / "none"), "job")


def test_offsets_option():
    assert _offsets_option("t", "earliest") == "earliest"
    assert _offsets_option("t", {0: 5, 2: 7}) == '{"t": {"0": 5, "2": 7}}'
