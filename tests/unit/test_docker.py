"""The cluster deployment in docker/ (no Docker engine needed): the compose file is valid
and consistent, the images copy what exists, and every version and setting comes from
the one place the local run takes it from."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from analytics.config import REPO_ROOT, Config
from analytics.spark_session import spark_conf
from stack import airflow as stack_airflow

DOCKER = REPO_ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILES = ("write-api.Dockerfile", "spark.Dockerfile", "airflow.Dockerfile")
CONNECTORS = DOCKER / "requirements" / "spark-connectors.txt"
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
IMAGE_ROOT = "/opt/sitelens"
"""Where the Spark and Airflow images keep the repository (their REPO_ROOT)."""
AIRFLOW_SERVICES = ("airflow-init", "airflow-api-server", "airflow-scheduler",
                    "airflow-dag-processor", "airflow-triggerer", "airflow-worker-1",
                    "airflow-worker-2")
AIRFLOW_WORKERS = ("airflow-worker-1", "airflow-worker-2")
ONE_SHOTS = ("schema", "airflow-init")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def env(compose: dict, service: str) -> dict[str, str]:
    return compose["services"][service].get("environment", {})


def pom_versions(bundle: str) -> dict[str, str]:
    root = ET.parse(REPO_ROOT / "stack" / "maven" / f"{bundle}.pom.xml").getroot()
    return {dep.find("m:artifactId", POM_NS).text: dep.find("m:version", POM_NS).text
            for dep in root.iterfind("m:dependencies/m:dependency", POM_NS)}


def dockerfile(name: str) -> str:
    return (DOCKER / name).read_text()


def instructions(name: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of a Dockerfile, continuation lines joined."""
    found, current = [], ""
    for line in dockerfile(name).splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            keyword, _, rest = current.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
            current = ""
    return found


def dockerfile_args(name: str) -> dict[str, str]:
    return dict(arg.split("=", 1) for keyword, arg in instructions(name)
                if keyword == "ARG" and "=" in arg)


def image_env(name: str) -> dict[str, str]:
    """The ``ENV`` variables a Dockerfile sets (``${...}`` left as written)."""
    variables = {}
    for keyword, rest in instructions(name):
        if keyword == "ENV":
            variables.update(part.split("=", 1) for part in shlex.split(rest))
    return variables


def allowed_by_dockerignore(name: str) -> list[str]:
    """The paths the ``<name>.dockerignore`` next to a Dockerfile lets into the build
    context (everything else is excluded by its ``**``)."""
    lines = [line.strip() for line in (DOCKER / f"{name}.dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "**", name
    return [line[1:] for line in lines if line.startswith("!")]


def load_script(name: str):
    """A docker/entrypoints script as a module (their names are not importable)."""
    path = DOCKER / "entrypoints" / name
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def connectors() -> list[tuple[str, str, str, str]]:
    """``(group, artifact, version, sha256)`` of docker/requirements/spark-connectors.txt."""
    fetcher = importlib.util.spec_from_file_location(
        "fetch_maven_jars", DOCKER / "build" / "fetch_maven_jars.py")
    module = importlib.util.module_from_spec(fetcher)
    fetcher.loader.exec_module(module)
    return module.read_manifest(CONNECTORS)


def _pinned(path: Path) -> dict[str, str]:
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", re.sub(r"\[.*\]", "", name).strip()).lower()


def _names(image: str) -> list[str]:
    path = DOCKER / "requirements" / f"{image}.txt"
    return [_normal(line) for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


# -- the compose file ------------------------------------------------------------------

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
    used = {mount.split(":")[0] for service in services.values()
            for mount in service.get("volumes", [])}
    assert set(compose["volumes"]) <= used


def test_cluster_layout(compose):
    services = compose["services"]
    assert sorted(services) == sorted([
        "cassandra-1", "cassandra-2", "cassandra-3", "kafka-1", "kafka-2", "kafka-3",
        "load-balancer", "schema", "spark-master", "spark-worker-1", "spark-worker-2",
        "speed-layer", "write-api-1", "write-api-2", "write-api-3",
        "postgres", "redis", *AIRFLOW_SERVICES])
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
    # Airflow: Postgres → init (migrations) → the parts; the scheduler and the workers
    # need the broker, the workers the api-server (they run tasks through its execution API)
    ready = {"postgres": healthy, "airflow-init": done}
    assert services["airflow-init"]["depends_on"] == {"postgres": healthy}
    assert services["airflow-api-server"]["depends_on"] == ready
    assert services["airflow-dag-processor"]["depends_on"] == ready
    assert services["airflow-triggerer"]["depends_on"] == ready
    assert services["airflow-scheduler"]["depends_on"] == {**ready, "redis": healthy}
    for worker in AIRFLOW_WORKERS:
        assert services[worker]["depends_on"] == {
            **ready, "redis": healthy, "airflow-api-server": healthy}
    for name, service in services.items():
        assert ("healthcheck" in service) != (name in ONE_SHOTS), name
        if name in ONE_SHOTS:
            assert service["restart"] == "no", name


def test_every_analytics_variable_is_a_config_field(compose):
    known = set(Config.env_names())
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("ANALYTICS_"):
                assert variable in known, (name, variable)
    for name in DOCKERFILES:
        for variable in re.findall(r"\b(ANALYTICS_\w+)=", dockerfile(name)):
            assert variable in known, (name, variable)


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
    for service in ("schema", "speed-layer", "write-api-1", "write-api-2", "write-api-3",
                    *AIRFLOW_SERVICES):
        assert compose["x-analytics-env"].items() <= env(compose, service).items(), service
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
        if path.is_file() and path.suffix != ".md" and "__pycache__" not in path.parts:
            text = path.read_text()
            assert "replication_factor" not in text, path
            assert text.count("NetworkTopologyStrategy") == (path == COMPOSE_FILE), path


# -- images: what they copy and run --------------------------------------------------

def test_dockerfile_copy_sources_and_entry_points_exist(compose):
    for name in DOCKERFILES:
        for keyword, rest in instructions(name):
            if keyword == "COPY":
                parts = rest.split()
                if parts[0].startswith("--from="):
                    continue  # from another image (Java), not from the repository
                sources = [p for p in parts[:-1] if not p.startswith("--")]
                assert sources, rest
                for source in sources:
                    assert (REPO_ROOT / source).exists(), (name, source)
                    assert any(source == allowed or source.startswith(allowed)
                               for allowed in allowed_by_dockerignore(name)), (name, source)
            if keyword in ("ENTRYPOINT", "CMD") and rest.startswith("["):
                for part in json.loads(rest):
                    for prefix in (IMAGE_ROOT + "/", "/app/"):
                        if part.startswith(prefix + "docker/"):
                            assert (REPO_ROOT / part.removeprefix(prefix)).is_file(), part
                            assert part.removeprefix(prefix) in dockerfile(name), part
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]).is_file()
        for command in (service.get("entrypoint", []), service.get("healthcheck", {}).get(
                "test", [])):
            for part in command:
                for prefix in (IMAGE_ROOT + "/", "/app/"):
                    if part.startswith(prefix + "docker/"):
                        assert (REPO_ROOT / part.removeprefix(prefix)).is_file(), (name, part)
    script = DOCKER / "entrypoints" / "speed-layer.sh"
    assert script.stat().st_mode & 0o111
    assert "streaming\" / \"job.py\"" in script.read_text()
    write_api = dockerfile("write-api.Dockerfile")
    assert 'CMD ["gunicorn", "-c", "api/write/gunicorn_conf.py", "api.write.asgi:app"]' \
        in write_api
    assert write_api.startswith("#") and "\nFROM python:3.11-slim\n" in write_api
    assert "ANALYTICS_WRITE_API_HOST=0.0.0.0" in write_api


def test_airflow_image_layout():
    """The Airflow image has the repository's layout at the Spark image's paths: the
    batch job's driver (in a Celery worker) tells the executors on the Spark workers to
    start its own Python (``sys.executable`` as ``PYSPARK_PYTHON``), and they import the
    project's code from the Spark image's ``/opt/sitelens``."""
    text = dockerfile("airflow.Dockerfile")
    assert text.startswith("#") and "\nFROM python:3.11-slim\n" in text
    copies = {rest.split()[-1]: rest.split()[:-1]
              for keyword, rest in instructions("airflow.Dockerfile") if keyword == "COPY"}
    for folder in ("analytics", "batch", "dags", "plugins"):
        assert copies[f"{IMAGE_ROOT}/{folder}/"] == [f"{folder}/"]
    assert copies[f"{IMAGE_ROOT}/stack/"] == ["stack/__init__.py", "stack/airflow.py"]
    assert copies["/opt/java/openjdk"] == ["--from=eclipse-temurin:17-jre", "/opt/java/openjdk"]
    airflow_image, spark_image = image_env("airflow.Dockerfile"), image_env("spark.Dockerfile")
    assert "python -m venv /opt/sitelens/venv;" in text
    assert airflow_image["PATH"].startswith("/opt/sitelens/venv/bin:")
    assert spark_image["PYSPARK_PYTHON"] == "/opt/sitelens/venv/bin/python"
    assert spark_image["PYTHONPATH"].split(":")[0] == IMAGE_ROOT
    assert "COPY analytics/ /opt/sitelens/analytics/" in dockerfile("spark.Dockerfile")
    assert "COPY batch/ /opt/sitelens/batch/" in dockerfile("spark.Dockerfile")
    assert airflow_image["JAVA_HOME"] == "/opt/java/openjdk"
    assert "-java17-" in dockerfile_args("spark.Dockerfile")["SPARK_IMAGE"]
    # what stack.airflow.airflow_env gives every Airflow process, at the image's paths
    local = stack_airflow.airflow_env(Config())
    for variable in ("AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER",
                     "AIRFLOW__CORE__LOAD_EXAMPLES", "PYTHONPATH", "PYTHONUNBUFFERED"):
        assert airflow_image[variable] == local[variable].replace(str(REPO_ROOT), IMAGE_ROOT)
    assert airflow_image["AIRFLOW_HOME"] == "/opt/airflow"
    assert airflow_image["ANALYTICS_JARS_DIR"] == spark_image["ANALYTICS_JARS_DIR"]
    assert [rest for keyword, rest in instructions("airflow.Dockerfile")
            if keyword == "ENTRYPOINT"] == [
        '["python", "/opt/sitelens/docker/entrypoints/airflow-entrypoint.py"]']


def test_image_packages_are_the_projects_pins():
    direct = _pinned(REPO_ROOT / "requirements.txt")
    constraints = _pinned(REPO_ROOT / "constraints.txt")
    for image in ("write-api", "spark"):
        for name in _names(image):
            assert name in direct and name in constraints, (image, name)
        assert "pyspark" not in _names(image)
    assert direct["check-jsonschema"] == constraints["check-jsonschema"] == "0.39.0"
    # the Airflow image: the project's pins, plus image-only pins that change none of them
    image_only = _pinned(DOCKER / "requirements" / "airflow-constraints.txt")
    assert not set(image_only) & set(constraints)
    for name in _names("airflow"):
        assert (name in direct and name in constraints) or name in image_only, name
    assert {"apache-airflow-providers-celery", "psycopg2-binary", "asyncpg"} <= \
        set(_names("airflow")) & set(image_only)
    for name in ("apache-airflow", "apache-airflow-providers-apache-spark",
                 "apache-airflow-providers-apache-kafka", "pyspark"):
        assert name in _names("airflow")
        assert direct[name] == constraints[name], name
    assert constraints["apache-airflow"] == constraints["apache-airflow-core"] == "3.3.2"
    assert "-r /tmp/requirements/airflow.txt -c /tmp/requirements/constraints.txt " \
        "-c /tmp/requirements/airflow-constraints.txt" in \
        " ".join(dockerfile("airflow.Dockerfile").replace("\\\n", " ").split())


def test_spark_versions_are_the_local_ones():
    """pyspark (the Airflow workers' spark-submit and driver) = the Spark image's Spark =
    requirements.txt; the connectors are Scala 2.12 builds, as pyspark 3.5 is."""
    pyspark = _pinned(REPO_ROOT / "requirements.txt")["pyspark"]
    assert _pinned(REPO_ROOT / "constraints.txt")["pyspark"] == pyspark
    args = dockerfile_args("spark.Dockerfile")
    assert args["SPARK_IMAGE"] == f"spark:{pyspark}-scala2.12-java17-python3-ubuntu"
    assert pyspark.startswith("3.5.")
    py4j = _pinned(REPO_ROOT / "constraints.txt")["py4j"]
    assert f"/opt/spark/python/lib/py4j-{py4j}-src.zip" in dockerfile("spark.Dockerfile")
    pom = pom_versions("spark-connectors")
    versions = {artifact: version for _, artifact, version, _ in connectors()}
    assert versions["spark-sql-kafka-0-10_2.12"] == pom["spark-sql-kafka-0-10_2.12"] == pyspark
    assert versions["spark-cassandra-connector_2.12"] == \
        pom["spark-cassandra-connector_2.12"]
    assert all(not re.search(r"_2\.1[0-9]$", a) or a.endswith("_2.12") for a in versions)


def test_both_spark_drivers_get_the_same_connector_jars():
    """The Spark and the Airflow image bake in the jars of one list, with the same
    script, where analytics.spark_session looks for them."""
    command = ("fetch_maven_jars.py --repository \"${MAVEN_CENTRAL}\" "
               "/tmp/jars/spark-connectors.txt /opt/sitelens/jars/spark-connectors")
    for name in ("spark.Dockerfile", "airflow.Dockerfile"):
        text = " ".join(dockerfile(name).replace("\\\n", " ").split())
        assert command in text, name
        assert "COPY docker/requirements/spark-connectors.txt " \
            "docker/build/fetch_maven_jars.py /tmp/jars/" in text, name
        assert dockerfile_args(name)["MAVEN_CENTRAL"] == "https://repo1.maven.org/maven2"
        assert image_env(name)["ANALYTICS_JARS_DIR"] == "/opt/sitelens/jars"
        assert "curl" not in text and "fetch \"" not in text  # no other jar downloads
    entries = connectors()
    assert len(entries) == len({artifact for _, artifact, _, _ in entries}) == 14


def test_connector_jars_are_byte_identical_to_the_ones_the_local_run_resolves():
    """Names and SHA-256 of the list = the jars ``python -m stack setup`` resolved here."""
    resolved = Config().spark_connectors_dir
    if not any(resolved.glob("*.jar")):
        pytest.skip(f"no resolved connector jars in {resolved} (python -m stack setup)")
    local = {jar.name: hashlib.sha256(jar.read_bytes()).hexdigest()
             for jar in resolved.glob("*.jar")}
    listed = {f"{artifact}-{version}.jar": sha256
              for _, artifact, version, sha256 in connectors()}
    assert listed == local


# -- the Airflow tier -------------------------------------------------------------------

def airflow_process_env(compose: dict, service: str) -> dict[str, str]:
    """What an Airflow process of ``service`` sees: the image's ENV, the service's
    environment, then the entry point's connections."""
    entrypoint = load_script("airflow-entrypoint.py")
    return entrypoint.process_env({**image_env("airflow.Dockerfile"), **env(compose, service)})


def test_airflow_connections_are_stack_airflows_for_the_compose_config(compose):
    for service in AIRFLOW_SERVICES:
        assert not any(v.startswith("AIRFLOW_CONN_") for v in env(compose, service)), service
        process = airflow_process_env(compose, service)
        expected = stack_airflow.connections(Config.from_env(process))
        assert set(expected) == {"AIRFLOW_CONN_SITELENS_SPARK", "AIRFLOW_CONN_SITELENS_KAFKA"}
        assert {k: process[k] for k in expected} == expected, service
        spark = json.loads(process["AIRFLOW_CONN_SITELENS_SPARK"])
        assert spark == {"conn_type": "spark", "host": "spark://spark-master:7077",
                         "extra": {"deploy-mode": "client"}}
        kafka = json.loads(process["AIRFLOW_CONN_SITELENS_KAFKA"])
        assert kafka["extra"]["bootstrap.servers"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092"


def test_each_worker_runs_its_spark_driver_where_the_executors_reach_it(compose):
    services = compose["services"]
    cores = memory = 0
    for worker in ("spark-worker-1", "spark-worker-2"):
        command = services[worker]["command"]
        cores += int(command[command.index("--cores") + 1])
        memory = int(command[command.index("--memory") + 1].removesuffix("g"))
        assert memory >= 2  # a speed-layer and a batch executor (1g each, Spark's default)
    for worker in AIRFLOW_WORKERS:
        service = services[worker]
        assert service["hostname"] == worker
        assert service["command"] == ["celery", "worker"]
        assert set(service["networks"]) & set(services["spark-worker-1"]["networks"])
        config = Config.from_env(airflow_process_env(compose, worker))
        assert config.spark_driver_host == worker
        conf = spark_conf(config, "sitelens-batch", check_jars=False)
        assert conf["spark.master"] == "spark://spark-master:7077"
        assert conf["spark.driver.host"] == worker
        assert "spark.driver.bindAddress" not in conf and "spark.local.dir" not in conf
        # no app asks for cores or executor memory: the master's default applies
        assert "spark.cores.max" not in conf and "spark.executor.memory" not in conf
    assert env(compose, "airflow-worker-1").keys() == env(compose, "airflow-worker-2").keys()
    default_cores = re.fullmatch(r"-Dspark\.deploy\.defaultCores=(\d+)",
                                 env(compose, "spark-master")["SPARK_MASTER_OPTS"])
    # the always-running speed layer leaves cores for a batch job
    assert 2 * int(default_cores.group(1)) <= cores


def test_airflow_settings(compose):
    airflow = compose["x-airflow-env"]
    for service in AIRFLOW_SERVICES:
        assert airflow.items() <= env(compose, service).items(), service
        assert compose["services"][service]["image"] == "sitelens/airflow:latest"
    assert airflow["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert airflow["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == \
        f"http://airflow-api-server:{airflow['AIRFLOW__API__PORT']}/execution/"
    assert compose["services"]["airflow-api-server"]["ports"] == [
        f"127.0.0.1:8080:{airflow['AIRFLOW__API__PORT']}"]
    assert airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
        "postgresql+psycopg2://airflow:${AIRFLOW_DB_PASSWORD:?")
    assert airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
    assert airflow["AIRFLOW__CELERY__RESULT_BACKEND"] == \
        "db+" + airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert airflow["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    postgres = env(compose, "postgres")
    assert postgres["POSTGRES_PASSWORD"].startswith("${AIRFLOW_DB_PASSWORD:?")
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("airflow", "airflow")
    # secrets are never literal: required from the environment (docker/.env)
    for variable, secret in (("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW_FERNET_KEY"),
                             ("AIRFLOW__API__SECRET_KEY", "AIRFLOW_SECRET_KEY"),
                             ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW_JWT_SECRET")):
        assert airflow[variable].startswith("${" + secret + ":?"), variable
    # the simple auth manager (what the installed Airflow has): its admin is stack's
    assert airflow["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == f"{stack_airflow.ADMIN}:admin"
    passwords = Path(airflow["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    for service in ("airflow-init", "airflow-api-server"):
        assert f"airflow-auth:{passwords.parent}" in compose["services"][service]["volumes"]
    assert compose["services"]["airflow-init"]["command"] == ["init"]
    slots = int(airflow["AIRFLOW__CELERY__WORKER_CONCURRENCY"]) * len(AIRFLOW_WORKERS)
    assert int(airflow["AIRFLOW__CORE__PARALLELISM"]) == slots


def test_every_airflow_variable_is_an_airflow_option(compose):
    """``AIRFLOW__SECTION__KEY`` names an option of the installed Airflow's config (the
    Celery provider's sections are not installed locally)."""
    spec = importlib.util.find_spec("airflow")
    template = Path(spec.submodule_search_locations[0]) / "config_templates" / "config.yml"
    options = yaml.safe_load(template.read_text())
    variables = set(image_env("airflow.Dockerfile")) | set(compose["x-airflow-env"])
    for service in AIRFLOW_SERVICES:
        variables |= set(env(compose, service))
    for variable in sorted(v for v in variables if v.startswith("AIRFLOW__")):
        section, key = variable.removeprefix("AIRFLOW__").lower().split("__")
        if section in ("celery", "celery_broker_transport_options"):
            continue
        assert key in options[section]["options"], variable


def test_airflow_health_checks(compose):
    script = load_script("airflow-healthcheck.py")
    components = {"airflow-api-server": "api-server", "airflow-scheduler": "scheduler",
                  "airflow-dag-processor": "dag-processor",
                  "airflow-triggerer": "triggerer", "airflow-worker-1": "worker",
                  "airflow-worker-2": "worker"}
    for service, component in components.items():
        assert compose["services"][service]["healthcheck"]["test"] == [
            "CMD", "python", f"{IMAGE_ROOT}/docker/entrypoints/airflow-healthcheck.py",
            component]
    assert set(script.JOB_TYPES.values()) == {"DagProcessorJob", "TriggererJob"}
    with pytest.raises(SystemExit):
        script.healthy("nonsense")
    assert env(compose, "airflow-scheduler")["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"


def test_airflow_entry_point_runs_each_services_airflow_command(compose):
    entrypoint = load_script("airflow-entrypoint.py")
    commands = {name: entrypoint.command(compose["services"][name]["command"])
                for name in AIRFLOW_SERVICES if name != "airflow-init"}
    assert commands == {
        "airflow-api-server": ["airflow", "api-server"],
        "airflow-scheduler": ["airflow", "scheduler"],
        "airflow-dag-processor": ["airflow", "dag-processor"],
        "airflow-triggerer": ["airflow", "triggerer"],
        "airflow-worker-1": ["airflow", "celery", "worker"],
        "airflow-worker-2": ["airflow", "celery", "worker"]}
    assert entrypoint.command(["bash", "-l"]) == ["bash", "-l"]
    assert entrypoint.command([]) == ["airflow"]


def test_airflow_init_sets_the_admin_password(tmp_path, capsys):
    entrypoint = load_script("airflow-entrypoint.py")
    path = tmp_path / "auth" / "passwords.json"
    settings = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(path)}
    entrypoint.set_admin_password(settings)  # no password: the api-server generates one
    assert not path.exists()
    path.parent.mkdir()
    path.write_text('{"viewer": "v", "admin": "old"}\n')
    entrypoint.set_admin_password({**settings, "AIRFLOW_ADMIN_PASSWORD": "s3cret"})
    assert json.loads(path.read_text()) == {"viewer": "v", "admin": "s3cret"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert entrypoint.passwords_file({"AIRFLOW_HOME": "/opt/airflow"}) == \
        Path("/opt/airflow/simple_auth_manager_passwords.json.generated")
    capsys.readouterr()
