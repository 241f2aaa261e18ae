"""The cluster profile (stack/cluster.py): the services it starts, in which order, on
which addresses, and that it runs with the settings the docker/ deployment sets."""

from pathlib import Path

import pytest
import yaml

from analytics.config import REPO_ROOT, Config
from stack import cluster
from stack.lifecycle import StackError, _waves
from stack.service_spec import Service
from stack.services import services
from stack.supervisor import _program


def _cluster_config(tmp_path: Path) -> Config:
    environ = cluster.apply({"ANALYTICS_STATE_DIR": str(tmp_path / "state")})
    return Config.from_env(environ)


def test_the_profile_adds_nodes_and_a_spark_cluster(tmp_path):
    config = _cluster_config(tmp_path)
    svcs = services(config)
    assert list(svcs)[:9] == ["kafka-1", "kafka-2", "kafka-3", "cassandra-1", "cassandra-2",
                              "cassandra-3", "spark-master", "spark-worker-1",
                              "spark-worker-2"]
    assert [svcs[f"cassandra-{i}"].bind_host for i in (1, 2, 3)] == [
        "127.0.0.1", "127.0.0.2", "127.0.0.3"]
    assert svcs["kafka-3"].address == "kafka://127.0.0.3:19092"
    # a new Cassandra cluster's nodes join one at a time; workers need their master
    assert [svcs[f"cassandra-{i}"].after for i in (1, 2, 3)] == [
        (), ("cassandra-1",), ("cassandra-2",)]
    assert svcs["spark-worker-2"].after == ("spark-master",)
    # a killed node stays down (a drill's lost machine); the services are restarted
    assert "autorestart=false" in _program(svcs["kafka-2"], tmp_path / "log")
    assert "autorestart=unexpected" in _program(svcs["write-api"], tmp_path / "log")
    assert svcs["speed-layer"].command[2] == "spark://127.0.0.1:17077"


def test_a_setting_given_explicitly_wins_over_the_profile(tmp_path):
    environ = cluster.apply({"ANALYTICS_STATE_DIR": str(tmp_path), "ANALYTICS_KAFKA_PORT": "29092"})
    assert environ["ANALYTICS_KAFKA_PORT"] == "29092"
    assert environ["ANALYTICS_LOCAL_NODES"] == "3"


def test_one_node_keeps_its_names_and_restarts(tmp_path):
    svcs = services(Config(state_dir=tmp_path))
    assert [n for n in svcs if n.startswith(("kafka", "cassandra", "spark"))] == [
        "kafka", "cassandra"]
    assert svcs["cassandra"].after == ()
    assert "autorestart=unexpected" in _program(svcs["kafka"], tmp_path / "log")


def _service(name: str, after: tuple[str, ...] = ()) -> Service:
    return Service(name=name, command=["true"], ports={}, ready=lambda: True, address="",
                   after=after)


def test_waves_start_each_service_after_those_it_waits_for():
    a, b, c, d = (_service("a"), _service("b", ("a",)), _service("c", ("b",)),
                  _service("d", ("x",)))  # x: not started in this call
    assert [[s.name for s in wave] for wave in _waves([a, b, c, d])] == [
        ["a", "d"], ["b"], ["c"]]
    assert [[s.name for s in wave] for wave in _waves([c])] == [["c"]]
    with pytest.raises(StackError, match="wait for each other"):
        _waves([_service("p", ("q",)), _service("q", ("p",))])


def test_the_drills_run_with_the_settings_docker_deploys():
    compose = yaml.safe_load((REPO_ROOT / "docker" / "compose.yaml").read_text())
    deployed = {**compose["x-analytics-env"], **compose["x-airflow-env"]}
    assert {name: str(deployed.get(name)) for name in cluster.SHARED_WITH_DOCKER} == \
        cluster.SHARED_WITH_DOCKER


def test_kafka_cluster_ids_never_look_like_an_option():
    from stack.nodes import new_cluster_id

    ids = {new_cluster_id() for _ in range(2000)}  # ~31 of 2000 would start with "-"
    assert len(ids) == 2000 and not any(i.startswith("-") for i in ids)
    assert all(len(i) == 22 for i in ids)
