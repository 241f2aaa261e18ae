"""The cluster deployment in docker/ (no Docker engine needed): the compose file is valid
and consistent, the images copy what exists, and every version and setting comes from
the one place the local run takes it from."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from analytics.config import REPO_ROOT, Config

DOCKER = REPO_ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILES = ("write-api.Dockerfile", "spark.Dockerfile")
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def env(compose: dict, service: str) -> dict[str, str]:
    return compose["services"][service].get("environment", {})


def pom_versions(bundle: str) -> dict[str, str]:
    root = ET.parse(REPO_ROOT / "stack" / "maven" / f"{bundle}.pom.xml").getroot()
    return {dep.find("m:artifactId", POM_NS).text: dep.find("m:version", POM_NS).text
            for dep in root.iterfind("m:dependencies/m:dependency", POM_NS)}


def dockerfile_args(name: str) -> dict[str, str]:
    text = (DOCKER / name).read_text()
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))


def test_compose_validates_against_the_compose_spec():
    done = subprocess.run(
        [str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema",
         "vendor.compose-spec", str(COMPOSE_FILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_references_name_defined_services_volumes_and_networks(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
        for network in service.get("networks", []):
            assert network in compose["networks"], (name, network)
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_FILE.parent / source).is_file(), (name, source)
            else:
                assert source in compose["volumes"], (name, source)


def test_cluster_layout(compose):
    services = compose["services"]
    assert sorted(services) == [
        "cassandra-1", "cassandra-2", "cassandra-3", "kafka-1", "kafka-2", "kafka-3",
        "load-balancer", "schema", "spark-master", "spark-worker-1", "spark-worker-2",
        "speed-layer", "write-api-1", "write-api-2", "write-api-3"]
    for n in (1, 2, 3):
        kafka = env(compose, f"kafka-{n}")
        assert kafka["KAFKA_NODE_ID"] == str(n)
        assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == \
            "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
        assert kafka["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://kafka-{n}:9092"
        cassandra = env(compose, f"cassandra-{n}")
        assert cassandra["CASSANDRA_SEEDS"] == "cassandra-1,cassandra-2"
        assert cassandra["CASSANDRA_DC"] == env(compose, "schema")[
            "ANALYTICS_CASSANDRA_DATACENTER"] == "dc1"
        assert services[f"write-api-{n}"]["healthcheck"]["test"][-1] == \
            "/app/docker/entrypoints/write-api-healthcheck.py"
    nginx = (DOCKER / "nginx" / "nginx.conf").read_text()
    assert re.findall(r"server (write-api-\d):8000", nginx) == [
        "write-api-1", "write-api-2", "write-api-3"]
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx


def test_images_match_the_local_versions(compose):
    kafka = pom_versions("kafka")["kafka_2.13"]
    cassandra = pom_versions("cassandra")["cassandra-all"]
    for n in (1, 2, 3):
        assert compose["services"][f"kafka-{n}"]["image"] == f"apache/kafka:{kafka}"
        assert compose["services"][f"cassandra-{n}"]["image"] == f"cassandra:{cassandra}"


def test_start_order(compose):
    services = compose["services"]
    healthy = {"condition": "service_healthy"}
    done = {"condition": "service_completed_successfully"}
    assert services["schema"]["depends_on"] == {
        name: healthy for name in ("kafka-1", "kafka-2", "kafka-3",
                                   "cassandra-1", "cassandra-2", "cassandra-3")}
    assert services["cassandra-2"]["depends_on"] == {"cassandra-1": healthy}
    assert services["cassandra-3"]["depends_on"] == {"cassandra-2": healthy}
    assert services["speed-layer"]["depends_on"] == {
        "schema": done, "spark-master": healthy, "spark-worker-1": healthy,
        "spark-worker-2": healthy}
    for n in (1, 2, 3):
        assert services[f"write-api-{n}"]["depends_on"] == {"schema": done}
    assert services["load-balancer"]["depends_on"] == {
        f"write-api-{n}": healthy for n in (1, 2, 3)}
    for name, service in services.items():
        assert "healthcheck" in service or name == "schema", name


def test_every_analytics_variable_is_a_config_field(compose):
    known = set(Config.env_names())
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("ANALYTICS_"):
                assert variable in known, (name, variable)
    for dockerfile in DOCKERFILES:
        for variable in re.findall(r"\b(ANALYTICS_\w+)=", (DOCKER / dockerfile).read_text()):
            assert variable in known, (dockerfile, variable)


def test_cluster_settings_of_the_apps(compose):
    shared = {
        "ANALYTICS_KAFKA_BOOTSTRAP": "kafka-1:9092,kafka-2:9092,kafka-3:9092",
        "ANALYTICS_TOPIC_PARTITIONS": "12",
        "ANALYTICS_TOPIC_REPLICATION": "3",
        "ANALYTICS_CASSANDRA_HOSTS": "cassandra-1,cassandra-2,cassandra-3",
        "ANALYTICS_CASSANDRA_REPLICATION_CLASS": "NetworkTopologyStrategy",
        "ANALYTICS_CASSANDRA_REPLICATION_FACTOR": "3",
        "ANALYTICS_CASSANDRA_DATACENTER": "dc1",
    }
    assert compose["x-analytics-env"] == {**shared, **{
        "ANALYTICS_TOPIC_RAW_EVENTS": "events.raw",
        "ANALYTICS_TOPIC_INVALID_EVENTS": "events.invalid",
        "ANALYTICS_TOPIC_RETENTION_MS": "604800000",
        "ANALYTICS_CASSANDRA_PORT": "9042",
        "ANALYTICS_CASSANDRA_KEYSPACE": "analytics"}}
    for service in ("schema", "speed-layer", "write-api-1", "write-api-2", "write-api-3"):
        assert shared.items() <= env(compose, service).items(), service
    speed = env(compose, "speed-layer")
    assert speed["ANALYTICS_SPARK_MASTER"] == "spark://spark-master:7077"
    assert speed["ANALYTICS_SPARK_DRIVER_HOST"] == "speed-layer"
    assert speed["ANALYTICS_STREAMING_CHECKPOINT_DIR"] == "/checkpoints/speed-layer"
    assert speed["ANALYTICS_STREAMING_STATE_PARTITIONS"] == "8"
    for service in ("speed-layer", "spark-worker-1", "spark-worker-2"):
        assert compose["services"][service]["volumes"] == ["spark-checkpoints:/checkpoints"]
    write = env(compose, "write-api-1")
    assert write == env(compose, "write-api-2") == env(compose, "write-api-3")
    assert write["ANALYTICS_WRITE_API_HOST"] == "0.0.0.0"
    assert write["ANALYTICS_WRITE_API_PORT"] == "8000"
    assert write["ANALYTICS_TRUST_FORWARDED_FOR"] == "true"
    assert write["ANALYTICS_CLIENT_ID_HASH_KEY"].startswith("${ANALYTICS_CLIENT_ID_HASH_KEY:?")
    # the config these settings give is the cluster one
    config = Config.from_env({**speed, "ANALYTICS_STREAMING_CHECKPOINT_DIR": "/checkpoints/x"})
    assert config.replication_cql == "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"
    assert config.bootstrap_servers == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
    assert config.cassandra_hosts == ("cassandra-1", "cassandra-2", "cassandra-3")


def test_replication_and_partitions_come_only_from_analytics_settings(compose):
    for n in (1, 2, 3):
        kafka = env(compose, f"kafka-{n}")
        assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        for broker_default in ("KAFKA_NUM_PARTITIONS", "KAFKA_DEFAULT_REPLICATION_FACTOR",
                               "KAFKA_MIN_INSYNC_REPLICAS"):
            assert broker_default not in kafka
    for path in DOCKER.rglob("*"):
        if path.is_file() and path.suffix != ".md":
            text = path.read_text()
            assert "replication_factor" not in text, path
            assert text.count("NetworkTopologyStrategy") == (path == COMPOSE_FILE), path


def test_dockerfile_copy_sources_and_entry_points_exist(compose):
    for name in DOCKERFILES:
        for line in (DOCKER / name).read_text().splitlines():
            if line.startswith("COPY "):
                sources = line.split()[1:-1]
                assert sources, line
                for source in sources:
                    assert (REPO_ROOT / source).exists(), (name, source)
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]).is_file()
        for command in (service.get("entrypoint", []), service.get("healthcheck", {}).get(
                "test", [])):
            for part in command:
                for prefix in ("/opt/sitelens/", "/app/"):
                    if part.startswith(prefix + "docker/"):
                        assert (REPO_ROOT / part.removeprefix(prefix)).is_file(), (name, part)
    script = DOCKER / "entrypoints" / "speed-layer.sh"
    assert script.stat().st_mode & 0o111
    assert "streaming\" / \"job.py\"" in script.read_text()
    write_api = (DOCKER / "write-api.Dockerfile").read_text()
    assert 'CMD ["gunicorn", "-c", "api/write/gunicorn_conf.py", "api.write.asgi:app"]' \
        in write_api
    assert write_api.startswith("#") and "\nFROM python:3.11-slim\n" in write_api
    assert "ANALYTICS_WRITE_API_HOST=0.0.0.0" in write_api


def _pinned(path: Path) -> dict[str, str]:
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version
    return pins


def test_image_packages_are_the_projects_pins():
    direct = _pinned(REPO_ROOT / "requirements.txt")
    constraints = _pinned(REPO_ROOT / "constraints.txt")
    for image in ("write-api", "spark"):
        names = [re.sub(r"\[.*\]", "", line).strip()
                 for line in (DOCKER / "requirements" / f"{image}.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#")]
        for name in names:
            assert name in direct and name in constraints, (image, name)
        assert "pyspark" not in names
    assert direct["check-jsonschema"] == constraints["check-jsonschema"] == "0.39.0"


def test_spark_image_connectors_are_the_local_ones():
    args = dockerfile_args("spark.Dockerfile")
    connectors = pom_versions("spark-connectors")
    assert args["SPARK_SQL_KAFKA_VERSION"] == connectors["spark-sql-kafka-0-10_2.12"]
    assert args["SPARK_CASSANDRA_CONNECTOR_VERSION"] == \
        connectors["spark-cassandra-connector_2.12"]
    assert args["SCALA_BINARY"] == "2.12"
    pyspark = _pinned(REPO_ROOT / "requirements.txt")["pyspark"]
    assert args["SPARK_IMAGE"] == f"spark:{pyspark}-scala2.12-java17-python3-ubuntu"
    py4j = _pinned(REPO_ROOT / "constraints.txt")["py4j"]
    assert f"/opt/spark/python/lib/py4j-{py4j}-src.zip" in \
        (DOCKER / "spark.Dockerfile").read_text()


def test_spark_image_fetches_exactly_the_jars_the_local_run_resolves():
    """The transitive jars too, when ``python -m stack setup`` has resolved them here."""
    args = dockerfile_args("spark.Dockerfile")
    urls = re.findall(r'fetch "([^"]+)"', (DOCKER / "spark.Dockerfile").read_text())
    jars = {re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], url).rsplit("/", 1)[1]
            for url in urls}
    assert len(jars) == len(urls) == 14
    resolved = Config().spark_connectors_dir
    if not any(resolved.glob("*.jar")):
        pytest.skip(f"no resolved connector jars in {resolved} (python -m stack setup)")
    assert jars == {jar.name for jar in resolved.glob("*.jar")}
