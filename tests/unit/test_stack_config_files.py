"""The files the stack renders for supervisord and the services."""

from pathlib import Path

from analytics.config import Config
from analytics.kafka_topics import topic_specs
from stack.nodes import kafka_properties
from stack.services import render, services, title_marker
from stack.supervisor import Supervisor, _program


def _config(tmp_path: Path) -> Config:
    return Config(state_dir=tmp_path / "state", jars_dir=tmp_path / "jars", kafka_port=19092,
                  kafka_controller_port=19093, cassandra_port=19042, topic_partitions=6,
                  topic_retention_ms=3600000)


def test_kafka_properties_use_configured_ports(tmp_path):
    config = _config(tmp_path)
    out = render("kafka.server.properties", tmp_path / "server.properties",
                 **kafka_properties(config, 1)).read_text()
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in out
    assert "controller.quorum.voters=1@127.0.0.1:19093" in out
    assert "num.partitions=6" in out
    assert "default.replication.factor=1\n" in out
    assert "min.insync.replicas=1\n" in out


def test_a_cluster_node_of_kafka_is_one_voter_of_three(tmp_path):
    config = _config(tmp_path).replace(local_nodes=3)
    out = render("kafka.server.properties", tmp_path / "server.properties",
                 **kafka_properties(config, 2)).read_text()
    assert "node.id=2\n" in out
    assert "listeners=PLAINTEXT://127.0.0.2:19092,CONTROLLER://127.0.0.2:19093" in out
    assert ("controller.quorum.voters=1@127.0.0.1:19093,2@127.0.0.2:19093,"
            "3@127.0.0.3:19093") in out
    assert "transaction.state.log.replication.factor=3\n" in out
    assert "transaction.state.log.min.isr=2\n" in out
    assert "min.insync.replicas=2\n" in out


def test_services_know_their_ports_and_tag_their_processes(tmp_path):
    config = _config(tmp_path)
    svcs = services(config)
    assert list(svcs) == ["kafka", "cassandra", "postgres", "write-api", "read-api",
                          "speed-layer", "airflow-api", "airflow-scheduler",
                          "airflow-dag-processor", "airflow-triggerer", "demo-traffic"]
    assert list(services(config.replace(serve_demo=False)))[-1] == "airflow-triggerer"
    demo = svcs["demo-traffic"]
    assert demo.command[1:] == ["-m", "stack.demo_live", title_marker(config)]
    assert (demo.needs_schema, demo.ports, Config.from_env(demo.environment)) == (
        True, {}, config)
    assert svcs["postgres"].ports == {"sql": 5433}
    assert svcs["postgres"].stop_signal == "INT"  # fast shutdown, not "smart"
    for part in ("airflow-api", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer"):
        assert svcs[part].command[-3:] == ["stack.airflow", "run", part]
        assert Config.from_env(svcs[part].environment) == config
        assert (svcs[part].needs_stores, svcs[part].needs_schema) == (True, False)
    assert svcs["read-api"].ports == {"http": 8001}
    assert Config.from_env(svcs["read-api"].environment) == config
    assert svcs["kafka"].ports == {"kafka": 19092, "kafka-controller": 19093}
    assert svcs["cassandra"].ports == {"cql": 19042, "storage": 7000}
    assert svcs["write-api"].ports == {"http": 8000}
    for name in ("kafka", "cassandra"):
        assert f"-Danalytics.stack={config.state_dir}" in svcs[name].command
    # the write service gets the whole config through its environment
    assert Config.from_env(svcs["write-api"].environment) == config
    # the speed layer: spark-submit of streaming/job.py, tagged, config in its environment
    speed = svcs["speed-layer"]
    assert speed.command[0].endswith("/bin/spark-submit")
    assert speed.command[-1].endswith("streaming/job.py")
    assert f"-Danalytics.stack={config.state_dir}" in speed.command[
        speed.command.index("--driver-java-options") + 1]
    assert Config.from_env(speed.environment) == config
    assert (speed.needs_schema, speed.ports) == (True, {})


def test_supervisord_program_escapes_percent_and_never_autostarts(tmp_path):
    config = _config(tmp_path)
    kafka = services(config)["kafka"].__class__(
        name="x", command=["echo", "100%"], ports={}, ready=lambda: True, address="-")
    text = _program(kafka, tmp_path / "x.log")
    assert "command=echo 100%%" in text
    assert "autostart=false" in text
    assert "stopasgroup=true" in text


def test_supervisord_conf_lists_every_service(tmp_path):
    config = _config(tmp_path)
    sup = Supervisor(config, services(config))
    sup.write_conf()
    text = sup.conf_file.read_text()
    assert "[program:kafka]" in text and "[program:cassandra]" in text
    assert f"pidfile={config.state_dir}/run/supervisord.pid" in text


def test_topics_take_partitions_and_retention_from_config(tmp_path):
    specs = {s.name: s for s in topic_specs(_config(tmp_path))}
    assert set(specs) == {"events.raw", "events.invalid", "sitelens.spool-progress"}
    assert specs["events.raw"].partitions == 6
    assert specs["events.raw"].settings["retention.ms"] == "3600000"
    assert "min.insync.replicas" not in specs["events.raw"].settings
    # the relay's progress: one partition, compacted (each spool's last record is kept)
    progress = specs["sitelens.spool-progress"]
    assert (progress.partitions, progress.settings) == (
        1, {"cleanup.policy": "compact", "segment.ms": "3600000"})
    clustered = topic_specs(Config(topic_replication=3))
    assert [s.settings["min.insync.replicas"] for s in clustered] == ["2", "2", "2"]
