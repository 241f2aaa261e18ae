"""The spark-submit command and environment come from config alone."""

import sys

from analytics.config import REPO_ROOT, Config
from analytics.spark_submit import submit_command, submit_env


def _config(tmp_path, **changes) -> Config:
    jars = tmp_path / "jars" / "spark-connectors"
    jars.mkdir(parents=True)
    (jars / "spark-sql-kafka-0-10_2.12-3.5.7.jar").write_bytes(b"")
    return Config(state_dir=tmp_path / "state", jars_dir=tmp_path / "jars", **changes)


def test_command_passes_every_setting_on_the_command_line(tmp_path):
    config = _config(tmp_path, spark_master="spark://master:7077", spark_driver_memory="2g")
    argv = submit_command(config, REPO_ROOT / "streaming" / "job.py", "speed",
                          ["--day", "2026-11-25"], driver_java_options=["-Dx=1", "-Dy=2"])
    assert argv[0].endswith("/bin/spark-submit")
    assert argv[1:5] == ["--master", "spark://master:7077", "--name", "speed"]
    assert argv[5:7] == ["--driver-java-options", "-Dx=1 -Dy=2"]
    confs = dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "--conf")
    assert confs["spark.driver.memory"] == "2g"
    assert confs["spark.jars"] == str(tmp_path / "jars/spark-connectors/"
                                     "spark-sql-kafka-0-10_2.12-3.5.7.jar")
    assert confs["spark.cassandra.output.batch.size.bytes"] == "32768"
    assert argv[-3:] == [str(REPO_ROOT / "streaming" / "job.py"), "--day", "2026-11-25"]


def test_environment_carries_the_config_and_this_python(tmp_path):
    config = _config(tmp_path, cassandra_keyspace="ks_x")
    env = submit_env(config)
    assert env["ANALYTICS_CASSANDRA_KEYSPACE"] == "ks_x"
    assert env["PYSPARK_PYTHON"] == env["PYSPARK_DRIVER_PYTHON"] == sys.executable
    assert env["PYTHONPATH"] == str(REPO_ROOT)
    assert env["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert "SPARK_LOCAL_IP" not in submit_env(config.replace(spark_master="spark://m:7077"))
    assert Config.from_env(env) == config
