"""The cluster deployment in docker/ (no Docker engine needed): the compose file is valid
and consistent, the images copy what exists, and every version and setting comes from
the one place the local run takes it from."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from analytics.config import REPO_ROOT, Config
from analytics.kafka_topics import topic_specs
from analytics.spark_session import spark_conf
from analytics.storage.migrate import _replication_map
from stack import airflow as stack_airflow
from stack import jars as stack_jars

DOCKER = REPO_ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILES = ("write-api.Dockerfile", "spark.Dockerfile", "airflow.Dockerfile",
               "read-api.Dockerfile")
CONNECTORS = DOCKER / "requirements" / "spark-connectors.txt"
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
IMAGE_ROOT = "/opt/sitelens"
"""Where the Spark and Airflow images keep the repository (their REPO_ROOT)."""
AIRFLOW_SERVICES = ("airflow-init", "airflow-api-server", "airflow-scheduler",
                    "airflow-dag-processor", "airflow-triggerer", "airflow-worker-1",
                    "airflow-worker-2")
AIRFLOW_WORKERS = ("airflow-worker-1", "airflow-worker-2")
WRITE_APIS = ("write-api-1", "write-api-2", "write-api-3")
READ_APIS = ("read-api-1", "read-api-2", "read-api-3")
ONE_SHOTS = ("schema", "airflow-init")
NGINX_CONF = DOCKER / "nginx" / "nginx.conf"


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


# -- what an image holds and what its code needs ----------------------------------------

BASE_IMAGES = {"read-api.Dockerfile": "spark.Dockerfile"}
"""Images built FROM another image of this repository (compose's additional_contexts)."""
IMAGE_PACKAGES = {"write-api.Dockerfile": ("write-api",), "spark.Dockerfile": ("spark",),
                  "airflow.Dockerfile": ("airflow",), "read-api.Dockerfile": ("spark", "read-api")}
SPARK_PYTHON = {"spark.Dockerfile": {"pyspark", "py4j"}, "read-api.Dockerfile": {"pyspark", "py4j"}}
"""Modules an image has without pip: the Spark image's /opt/spark/python (PYTHONPATH)."""
PROJECT_PACKAGES = {"analytics", "api", "batch", "streaming", "stack", "dags", "sitelens"}
MODULE_ROOTS = (REPO_ROOT, REPO_ROOT / "plugins")  # plugins/ is on the Airflow image's path


def _repo(*paths: str) -> list[Path]:
    return [REPO_ROOT / path for path in paths]


# The repository files each container runs (test_entry_point_lists_follow_the_commands
# keeps these lists in step with the Dockerfiles' and compose's commands).
WRITE_SERVICE = _repo("api/write/gunicorn_conf.py", "api/write/asgi.py",
                      "docker/entrypoints/write-api-healthcheck.py")
SCHEMA_COMMAND = _repo("stack/schema.py")  # what `python -m stack schema` runs
SPEED_LAYER = _repo("analytics/spark_submit.py",  # speed-layer.sh's spark-submit
                    "streaming/job.py", "docker/entrypoints/speed-layer-healthcheck.py")
AIRFLOW = _repo("docker/entrypoints/airflow-entrypoint.py",
                "docker/entrypoints/airflow-healthcheck.py") + sorted(
    [*REPO_ROOT.glob("dags/*.py"), *REPO_ROOT.glob("plugins/sitelens/**/*.py")])
BATCH_DRIVER = _repo("batch/job.py")  # in the Airflow workers
READ_SERVICE = _repo("api/read/gunicorn_conf.py", "api/read/wsgi.py",
                     "docker/entrypoints/read-api-healthcheck.py",
                     "batch/adhoc.py")  # the ad-hoc jobs' driver
ENTRY_POINTS = {
    # + `python -m stack schema`, `python -m api.manage`
    "write-api.Dockerfile": WRITE_SERVICE + _repo("stack/__main__.py", "api/manage.py"),
    # + the executors of the nightly and the ad-hoc jobs
    "spark.Dockerfile": SPEED_LAYER + _repo("batch/job.py", "batch/adhoc.py"),
    "airflow.Dockerfile": AIRFLOW + BATCH_DRIVER,
    "read-api.Dockerfile": READ_SERVICE,
}


def image_root(name: str) -> str:
    return "/app" if name == "write-api.Dockerfile" else IMAGE_ROOT


def image_paths(name: str) -> dict[str, str]:
    """Repository path (a file, or a folder ending in /) -> its path in the image, for
    every COPY from the repository, the base image's included."""
    copies = image_paths(BASE_IMAGES[name]) if name in BASE_IMAGES else {}
    for keyword, rest in instructions(name):
        if keyword == "COPY" and not rest.startswith("--from="):
            *sources, target = rest.split()
            for source in sources:
                copies[source] = target if source.endswith("/") else target + Path(source).name
    return copies


def in_image(name: str, path: Path) -> str | None:
    """Where the repository file ``path`` is in the image (None: not copied)."""
    relative = path.relative_to(REPO_ROOT).as_posix()
    for source, target in image_paths(name).items():
        if relative == source:
            return target
        if source.endswith("/") and relative.startswith(source):
            return target + relative.removeprefix(source)
    return None


def image_environment(name: str) -> dict[str, str]:
    """The ENV an image's containers start with, the base image's included."""
    base = image_environment(BASE_IMAGES[name]) if name in BASE_IMAGES else {}
    return {**base, **image_env(name)}


def module_file(module: str) -> Path | None:
    for root in MODULE_ROOTS:
        base = root.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def load_time_imports(tree: ast.Module) -> list[str]:
    """Modules a file imports when it is loaded: top-level imports, also under top-level
    if/try/with, not those under ``if TYPE_CHECKING`` or inside functions."""
    found = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.append(node.module)
                found.extend(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try | ast.With):
                for part in ("body", "orelse", "finalbody"):
                    visit(getattr(node, part, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    return found


def loaded_modules(entries: list[Path]) -> tuple[dict[Path, ast.Module], set[str]]:
    """The project files that loading ``entries`` loads (entries included), parsed, and
    the third-party top-level modules they import."""
    for entry in entries:
        assert entry.is_file(), f"{entry.relative_to(REPO_ROOT)} does not exist"
    files, third_party, todo = {}, set(), list(entries)
    while todo:
        item = todo.pop()
        path = item if isinstance(item, Path) else module_file(item)
        if path is None or path in files:
            continue  # a name imported from a module, not a module itself
        files[path] = tree = ast.parse(path.read_text())
        for name in load_time_imports(tree):
            parts = name.split(".")
            if parts[0] in PROJECT_PACKAGES:
                todo += [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
            elif parts[0] not in sys.stdlib_module_names:
                third_party.add(parts[0])
    return files, third_party


def installed_modules(name: str) -> set[str]:
    """Top-level modules of the packages an image installs, with their dependencies
    (resolved from this venv, which holds the same pins)."""
    requirements = [Requirement(line.split("#")[0].strip())
                    for image in IMAGE_PACKAGES[name]
                    for line in (DOCKER / "requirements" / f"{image}.txt").read_text().splitlines()
                    if line.split("#")[0].strip()]
    distributions, seen = set(), set()
    while requirements:
        requirement = requirements.pop()
        key = (_normal(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        distributions.add(key[0])
        try:
            requires = importlib.metadata.distribution(requirement.name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue  # an image-only pin not installed here (Airflow's Celery provider)
        for raw in requires:
            dependency = Requirement(raw)
            if dependency.marker is None or any(
                    dependency.marker.evaluate({"extra": extra})
                    for extra in requirement.extras or {""}):
                requirements.append(dependency)
    provided = {module for module, owners in importlib.metadata.packages_distributions().items()
                if any(_normal(owner) in distributions for owner in owners)}
    return provided | SPARK_PYTHON.get(name, set())


def nginx_conf() -> list[tuple[list[str], list | None]]:
    """docker/nginx/nginx.conf as ``(words, block)`` pairs; ``block`` is the nested list of
    a ``{...}`` block and None for a plain directive."""
    text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())
    tokens = re.findall(r'"[^"]*"|[{};]|[^\s{};"]+', text)

    def block(i: int) -> tuple[list, int]:
        items, words = [], []
        while i < len(tokens):
            token, i = tokens[i], i + 1
            if token == "}":
                break
            if token in ";{":
                body = None
                if token == "{":
                    body, i = block(i)
                items.append((words, body))
                words = []
            else:
                words.append(token)
        return items, i

    return block(0)[0]


def directives(block: list, name: str) -> list[list[str]]:
    return [words[1:] for words, body in block if words[0] == name and body is None]


def blocks(block: list, name: str) -> list[tuple[list[str], list]]:
    return [(words[1:], body) for words, body in block if words[0] == name and body is not None]


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
        # an image built FROM another service's image names a service that builds one
        for context in service.get("build", {}).get("additional_contexts", {}).values():
            base = context.removeprefix("service:")
            assert context.startswith("service:") and "build" in services.get(base, {}), \
                (name, context)
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
        "speed-layer", *WRITE_APIS, *READ_APIS, "postgres", "redis", *AIRFLOW_SERVICES])
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
        assert services[f"read-api-{n}"]["healthcheck"]["test"] == [
            "CMD", "python", f"{IMAGE_ROOT}/docker/entrypoints/read-api-healthcheck.py"]
        assert services[f"read-api-{n}"]["image"] == "sitelens/read-api:latest"


def test_load_balancer_routes_each_port_to_its_replicas(compose):
    """nginx: :80 (published 8000) to the write replicas, :8001 to the read replicas, on
    the ports their config binds; the read side keeps the tokens and waits for extracts."""
    http = blocks(nginx_conf(), "http")[0][1]
    upstreams = {args[0]: [server[0] for server in directives(body, "server")]
                 for args, body in blocks(http, "upstream")}
    write_port = env(compose, "write-api-1")["ANALYTICS_WRITE_API_PORT"]
    read_port = env(compose, "read-api-1")["ANALYTICS_READ_API_PORT"]
    assert upstreams == {"write_api": [f"{name}:{write_port}" for name in WRITE_APIS],
                         "read_api": [f"{name}:{read_port}" for name in READ_APIS]}
    routes = {}
    for _, server in blocks(http, "server"):
        [[listen]] = directives(server, "listen")
        locations = {tuple(args): body for args, body in blocks(server, "location")}
        assert directives(locations[("=", "/lb-health")], "return")  # answered by nginx
        routes[listen] = locations[("/",)]
    lb = compose["services"]["load-balancer"]
    published = {port.split(":")[1]: port.split(":")[0] for port in lb["ports"]}
    assert published == {"80": "8000", "8001": "8001"}
    assert routes.keys() == published.keys()
    assert directives(routes["80"], "proxy_pass") == [["http://write_api"]]
    assert directives(routes["8001"], "proxy_pass") == [["http://read_api"]]
    for location in routes.values():
        headers = {args[0]: args[1:] for args in directives(location, "proxy_set_header")}
        # one X-Forwarded-For entry, the peer: never an address the client chose
        assert headers["X-Forwarded-For"] == ["$remote_addr"]
    read = routes["8001"]
    headers = {args[0]: args[1:] for args in directives(read, "proxy_set_header")}
    assert headers["Authorization"] == ["$http_authorization"]
    assert headers["Host"] == ["$http_host"]  # the published port stays in the URLs it makes
    [[timeout]] = directives(read, "proxy_read_timeout")
    assert int(timeout.removesuffix("s")) >= 300  # a .hyper extract is written first
    # CORS is the app's (ANALYTICS_READ_CORS_ORIGINS): nginx adds no header of its own
    assert not directives(read, "add_header")
    assert env(compose, "read-api-1")["ANALYTICS_READ_CORS_ORIGINS"] == "*"


@pytest.mark.skipif(shutil.which("nginx") is None,
                    reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_accepts_the_load_balancer_config(tmp_path):
    # the replicas' names resolve only on the compose network: loopback stands in
    text = re.sub(r"server [\w-]+-api-\d+:", "server 127.0.0.1:", NGINX_CONF.read_text())
    (tmp_path / "nginx.conf").write_text(text)
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
         "-g", f"pid {tmp_path / 'nginx.pid'}; error_log stderr;"],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


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
        # the read service reads Cassandra only: its nodes and the keyspace (schema); the
        # Spark master, whose image it builds on, only started
        assert services[f"read-api-{n}"]["depends_on"] == {
            "cassandra-1": healthy, "cassandra-2": healthy, "cassandra-3": healthy,
            "schema": done, "spark-master": {"condition": "service_started"}}
    assert services["load-balancer"]["depends_on"] == {
        name: healthy for name in (*WRITE_APIS, *READ_APIS)}
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
    for service in ("schema", "speed-layer", *WRITE_APIS, *READ_APIS, *AIRFLOW_SERVICES):
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
    # the read replicas: one config but each its own Spark driver host
    read = {name: env(compose, name) for name in READ_APIS}
    for name, settings in read.items():
        assert {k: v for k, v in settings.items() if k != "ANALYTICS_SPARK_DRIVER_HOST"} == \
            compose["x-read-api-env"], name
    assert compose["x-read-api-env"]["ANALYTICS_READ_API_HOST"] == "0.0.0.0"
    assert compose["x-read-api-env"]["ANALYTICS_READ_API_PORT"] == "8001"
    assert image_env("read-api.Dockerfile")["ANALYTICS_READ_API_PORT"] == "8001"
    assert "ANALYTICS_CLIENT_ID_HASH_KEY" not in compose["x-read-api-env"]  # write side only
    # the config these settings give is the cluster one
    config = Config.from_env({**speed, "ANALYTICS_STREAMING_CHECKPOINT_DIR": "/checkpoints/x"})
    assert config.replication_cql == "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"
    assert config.bootstrap_servers == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
    assert config.cassandra_hosts == ("cassandra-1", "cassandra-2", "cassandra-3")


LOCAL_ONLY = {
    # where the others are: loopback, the local Spark, one broker/node of one replica
    "kafka_bootstrap", "cassandra_hosts", "spark_master", "topic_partitions",
    "topic_replication", "cassandra_replication_class", "cassandra_replication_factor",
    "cassandra_datacenter",
    # the repository's ignored folders (not in any image)
    "state_dir", "jars_dir",
    # client mode on a cluster: the executors connect back to the driver by this name
    "spark_driver_host",
    # the streaming state: a shared checkpoint folder, partitions for the cluster's cores
    "streaming_checkpoint_dir", "streaming_state_partitions",
    # bound to loopback, unreachable from the load balancer
    "write_api_host", "read_api_host",
    # the write service behind a load balancer, in production
    "client_id_hash_key", "trust_forwarded_for", "serve_demo",
    # Airflow's metadata database and signing secret (the local run generates them)
    "airflow_db_url", "airflow_secret",
}
"""Config fields whose defaults suit only the single-machine run: a container that reads
one must set it."""
SET_THROUGH = {"kafka_host": "kafka_bootstrap", "postgres_host": "airflow_db_url",
               "postgres_password": "airflow_db_url"}
"""Fields that do not matter once another one is set (bootstrap_servers)."""
SERVICE_CODE = {
    **{name: ("write-api.Dockerfile", WRITE_SERVICE) for name in WRITE_APIS},
    "schema": ("write-api.Dockerfile", SCHEMA_COMMAND),
    "speed-layer": ("spark.Dockerfile", SPEED_LAYER),
    **{name: ("airflow.Dockerfile", AIRFLOW + BATCH_DRIVER * (name in AIRFLOW_WORKERS))
       for name in AIRFLOW_SERVICES},
    **{name: ("read-api.Dockerfile", READ_SERVICE) for name in READ_APIS},
}
"""The image and the files each app service runs (Spark's master and workers run no
project code; their executors take the driver's config)."""
NOT_RUN = {"schema": {"write_api_host"}}
"""Fields read in the loaded files but not on the service's path: `python -m stack
schema` does not make the local run's demo site (stack.schema.ensure_demo_site)."""


def config_fields_read(files: dict[Path, ast.Module]) -> set[str]:
    """Config fields the files use: ``<anything>.<field>`` and ``<anything>.<property>``
    (a property counts as the fields it uses), outside analytics/config.py itself."""
    fields = {field.name for field in dataclasses.fields(Config)}
    properties = {}
    for node in ast.walk(ast.parse((REPO_ROOT / "analytics" / "config.py").read_text())):
        if isinstance(node, ast.FunctionDef) and "property" in map(ast.unparse,
                                                                   node.decorator_list):
            properties[node.name] = {n.attr for n in ast.walk(node)
                                     if isinstance(n, ast.Attribute)} & fields
    used = set()
    for path, tree in files.items():
        if path != REPO_ROOT / "analytics" / "config.py":
            used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return (used & fields).union(*(properties[name] for name in used & set(properties)))


def test_local_only_lists_every_single_machine_default():
    for field in dataclasses.fields(Config):
        default = field.default
        machine_local = (
            default == ""  # "empty means the local ..."
            or (isinstance(default, str) and (default.startswith("local")
                                              or "127.0.0.1" in default))
            or (isinstance(default, tuple) and "127.0.0.1" in default)
            or (isinstance(default, Path) and default.is_relative_to(REPO_ROOT)
                and default.relative_to(REPO_ROOT).parts[0].startswith(".")))
        if machine_local:
            assert field.name in LOCAL_ONLY | set(SET_THROUGH), field.name


@pytest.mark.parametrize("service", sorted(SERVICE_CODE))
def test_every_setting_a_service_reads_is_set(compose, service):
    """Each Config field the service's code uses whose default suits only one machine is
    set (image ENV or compose); each repository file a default points to is in the image."""
    image, entries = SERVICE_CODE[service]
    settings = {**image_environment(image), **env(compose, service)}
    files, _ = loaded_modules(entries)
    read = config_fields_read(files) - NOT_RUN.get(service, set())
    assert read, service  # the scan found the config's users
    names = dict(zip([field.name for field in dataclasses.fields(Config)], Config.env_names(),
                     strict=True))
    for field in sorted(read & (LOCAL_ONLY | set(SET_THROUGH))):
        needed = names[SET_THROUGH.get(field, field)]
        assert settings.get(needed), f"{service} reads {field}: set {needed}"
    defaults = {field.name: field.default for field in dataclasses.fields(Config)}
    for field in sorted(read):
        default = defaults[field]
        if isinstance(default, Path) and names[field] not in settings:
            assert in_image(image, default) == f"{image_root(image)}/" + \
                default.relative_to(REPO_ROOT).as_posix(), (service, field)


def test_every_compose_variable_is_required_or_has_a_default():
    """``${NAME:?...}`` stops compose with a message when NAME is unset (the secrets, all
    in the README's docker/.env example); ``${NAME:-default}`` is optional; nothing is
    silently empty."""
    text = COMPOSE_FILE.read_text()
    uses = re.findall(r"\$\{(\w+)(:?[?-])?", text)
    assert uses and all(kind in (":?", ":-") for _, kind in uses), uses
    required = {name for name, kind in uses if kind == ":?"}
    readme = (DOCKER / "README.md").read_text()
    example = re.search(r"cat > docker/\.env <<SECRETS\n(.*?)\nSECRETS", readme, re.S).group(1)
    assert required <= {line.split("=")[0] for line in example.splitlines()}


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
    # what `python -m stack schema` makes from the compose config
    config = Config.from_env(env(compose, "schema"))
    specs = topic_specs(config)
    assert [(spec.name, spec.partitions, spec.replication) for spec in specs] == [
        ("events.raw", 12, 3), ("events.invalid", 12, 3)]
    assert {spec.settings["min.insync.replicas"] for spec in specs} == {"2"}
    assert _replication_map(config) == {
        "class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "3"}
    # ... which the cluster can hold: a replica per broker / node, Kafka's own topics alike
    services = compose["services"]
    brokers = [name for name in services if re.fullmatch(r"kafka-\d+", name)]
    nodes = [name for name in services if re.fullmatch(r"cassandra-\d+", name)]
    assert len(brokers) >= config.topic_replication
    assert len(nodes) >= config.cassandra_replication_factor
    for broker in brokers:
        kafka = env(compose, broker)
        assert kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == \
            kafka["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == \
            str(config.topic_replication)
        assert kafka["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == specs[0].settings[
            "min.insync.replicas"]


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
            if keyword == "CMD" and rest.startswith('["gunicorn"'):
                assert_gunicorn_app_exists(json.loads(rest))
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
                        if build:  # and copied to that path of the service's image
                            assert in_image(Path(build["dockerfile"]).name,
                                            REPO_ROOT / part.removeprefix(prefix)) == part
    script = DOCKER / "entrypoints" / "speed-layer.sh"
    assert script.stat().st_mode & 0o111
    assert "streaming\" / \"job.py\"" in script.read_text()
    write_api = dockerfile("write-api.Dockerfile")
    assert 'CMD ["gunicorn", "-c", "api/write/gunicorn_conf.py", "api.write.asgi:app"]' \
        in write_api
    assert write_api.startswith("#") and "\nFROM python:3.11-slim\n" in write_api
    assert "ANALYTICS_WRITE_API_HOST=0.0.0.0" in write_api
    assert [rest for keyword, rest in instructions("read-api.Dockerfile")
            if keyword == "CMD"] == [
        '["gunicorn", "-c", "api/read/gunicorn_conf.py", "api.read.wsgi:app"]']


def assert_gunicorn_app_exists(argv: list[str]) -> None:
    """``gunicorn -c CONF MODULE:APP``: the config file and the module exist in the
    repository and the module defines APP at top level."""
    config = REPO_ROOT / argv[argv.index("-c") + 1]
    assert config.is_file(), f"{config} (gunicorn config of {argv}) does not exist"
    module, _, attribute = argv[-1].partition(":")
    path = module_file(module)
    assert path is not None, f"{module} (the app of {argv}) does not exist"
    assigned = {target.id for node in ast.parse(path.read_text()).body
                if isinstance(node, ast.Assign | ast.AnnAssign)
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)}
    assert attribute in assigned, f"{path} defines no top-level {attribute!r}"


def test_read_api_image_builds_on_the_spark_image(compose):
    """The ad-hoc jobs' driver runs in the read replicas, so the read image is the Spark
    image (its Spark build, Java 17, connector jars, venv and code paths = the executors')
    plus the read service: nothing of the Spark image is done again."""
    found = instructions("read-api.Dockerfile")
    spark = compose["services"]["spark-master"]
    assert spark["build"]["dockerfile"] == "docker/spark.Dockerfile"
    # FROM the Spark services' image, by its name: found locally when built by hand first,
    # and compose builds it before (the FROM name is the additional context's)
    assert found[0] == ("FROM", spark["image"]) == ("FROM", "sitelens/spark:latest")
    for name in READ_APIS:
        build = compose["services"][name]["build"]
        assert build["dockerfile"] == "docker/read-api.Dockerfile"
        assert build["additional_contexts"] == {spark["image"]: "service:spark-master"}
    text = " ".join(dockerfile("read-api.Dockerfile").replace("\\\n", " ").split())
    for repeated in ("fetch_maven_jars", "openjdk", "-m venv", "apt-get", "curl"):
        assert repeated not in text, repeated
    assert "/opt/sitelens/venv/bin/pip install --no-cache-dir --disable-pip-version-check " \
        "-r /tmp/requirements/read-api.txt -c /tmp/requirements/constraints.txt;" in text
    assert "pip show pyspark" in text  # refuses a PyPI pyspark over the image's Spark
    read_env = image_env("read-api.Dockerfile")
    assert not {"ANALYTICS_JARS_DIR", "PYTHONPATH", "PYSPARK_PYTHON", "PATH"} & set(read_env)
    assert read_env["SPARK_HOME"] == "/opt/spark"  # pyspark's spark-submit is /opt/spark's
    copies = {rest.split()[-1]: rest.split()[:-1] for keyword, rest in found if keyword == "COPY"}
    assert copies[f"{IMAGE_ROOT}/api/"] == ["api/"]
    # what the app reads at start: the connector page (/tableau), the published schemas
    for path in [*(REPO_ROOT / "api" / "read" / "static").rglob("*"),
                 *(REPO_ROOT / "api" / "read" / "schemas").rglob("*")]:
        if path.is_file():
            assert in_image("read-api.Dockerfile", path) == \
                f"{IMAGE_ROOT}/{path.relative_to(REPO_ROOT).as_posix()}", path
    assert (REPO_ROOT / "api" / "read" / "static" / "tableau" / "index.html").is_file()


@pytest.mark.parametrize("image", DOCKERFILES)
def test_each_image_holds_what_its_entry_points_load(image):
    """Every project file the image's entry points load is copied to its repository path
    under the image's root (REPO_ROOT there), and every package they import is
    installed by the image's requirements (with their dependencies) or its Spark."""
    files, third_party = loaded_modules(ENTRY_POINTS[image])
    for path in files:
        relative = path.relative_to(REPO_ROOT).as_posix()
        assert in_image(image, path) == f"{image_root(image)}/{relative}", (image, relative)
    assert not third_party - installed_modules(image), image


def test_entry_point_lists_follow_the_commands(compose):
    """ENTRY_POINTS has the files the Dockerfiles and compose run."""

    def assert_listed(image: str, argv: list[str], where: str) -> None:
        root = image_root(image) + "/"
        for part in argv:
            if part.endswith(".py") and part.startswith(root):
                assert REPO_ROOT / part.removeprefix(root) in ENTRY_POINTS[image], (where, part)
        if argv[:1] == ["gunicorn"]:
            app = module_file(argv[-1].split(":")[0])
            assert {REPO_ROOT / argv[argv.index("-c") + 1], app} <= set(ENTRY_POINTS[image])
        if argv[:3] == ["python", "-m", "stack"]:
            assert REPO_ROOT / "stack" / "__main__.py" in ENTRY_POINTS[image], where

    for image in DOCKERFILES:
        for keyword, rest in instructions(image):
            command = rest.partition(" CMD ")[2] if keyword == "HEALTHCHECK" else rest
            if keyword in ("CMD", "ENTRYPOINT", "HEALTHCHECK") and command.startswith("["):
                assert_listed(image, json.loads(command), image)
    for name, service in compose["services"].items():
        if "build" in service:
            image = Path(service["build"]["dockerfile"]).name
            for argv in (service.get("entrypoint", []), service.get("command", []),
                         service.get("healthcheck", {}).get("test", [])):
                assert_listed(image, argv, name)
    jobs = {"speed layer": ("streaming/job.py", "docker/entrypoints/speed-layer.sh"),
            "nightly": ("batch/job.py", "plugins/sitelens/operators/batch_recompute.py"),
            "ad-hoc": ("batch/adhoc.py", "api/read/jobs.py")}
    for job, (app, launcher) in jobs.items():
        # the launcher names the application as REPO_ROOT / "folder" / "file.py"
        assert '"' + app.replace("/", '" / "') + '"' in (REPO_ROOT / launcher).read_text(), job
        assert REPO_ROOT / app in ENTRY_POINTS["spark.Dockerfile"], job  # the executors


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
    assert copies[f"{IMAGE_ROOT}/stack/"] == ["stack/__init__.py", "stack/airflow.py",
                                              "stack/postgres.py", "stack/process_groups.py",
                                              "stack/settings.py"]
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
    assert "apache-airflow-providers-celery" in set(_names("airflow")) & set(image_only)
    # the metadata database's drivers are the project's own pins (the local run uses them)
    assert {"psycopg2-binary", "asyncpg"} <= set(_names("airflow")) & set(direct)
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
    # nothing Spark ships itself (the local resolution leaves those out too)
    groups = stack_jars.SPARK_PROVIDED["excludeGroupIds"].split(",")
    artifacts = stack_jars.SPARK_PROVIDED["excludeArtifactIds"].split(",")
    for group, artifact, _, _ in connectors():
        assert not group.startswith(tuple(groups)) and artifact not in artifacts, artifact


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
    """Names and SHA-256 of the list = the jars ``python -m stack setup`` resolved here
    from the current POM (its stamp says so; stale or missing jars prove nothing)."""
    resolved = Config().spark_connectors_dir
    if not stack_jars.is_resolved(Config(), "spark-connectors"):
        pytest.skip(f"no connector jars resolved from the current POM in {resolved} "
                    "(python -m stack setup)")
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


def test_each_driver_runs_where_the_executors_reach_it(compose):
    """The batch jobs' drivers (Airflow workers) and the ad-hoc jobs' drivers (read
    replicas) run in client mode: each container names itself as the driver host, on the
    Spark workers' network."""
    services = compose["services"]
    cores = memory = 0
    for worker in ("spark-worker-1", "spark-worker-2"):
        command = services[worker]["command"]
        cores += int(command[command.index("--cores") + 1])
        memory = int(command[command.index("--memory") + 1].removesuffix("g"))
        assert memory >= 2  # a speed-layer and a batch executor (1g each, Spark's default)
    drivers = {name: Config.from_env(airflow_process_env(compose, name))
               for name in AIRFLOW_WORKERS}
    drivers |= {name: Config.from_env({**image_environment("read-api.Dockerfile"),
                                       **env(compose, name)}) for name in READ_APIS}
    for name, config in drivers.items():
        service = services[name]
        assert service["hostname"] == name
        assert set(service["networks"]) & set(services["spark-worker-1"]["networks"])
        assert config.spark_driver_host == name
        conf = spark_conf(config, "sitelens-job", check_jars=False)
        assert conf["spark.master"] == "spark://spark-master:7077"
        assert conf["spark.driver.host"] == name
        assert "spark.driver.bindAddress" not in conf and "spark.local.dir" not in conf
        # no app asks for cores or executor memory: the master's default applies
        assert "spark.cores.max" not in conf and "spark.executor.memory" not in conf
    for worker in AIRFLOW_WORKERS:
        assert services[worker]["command"] == ["celery", "worker"]
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
