"""The cluster deployment in docker/ (no Docker engine needed): the compose file is valid
and consistent, the images copy what exists, every version and setting comes from the one
place the local run takes it from, and every service is locked (authentication, TLS, one
internal network, secrets only from the environment: docs/deployment.md)."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import json
import os
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

from analytics import spark_apps
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
ONE_SHOTS = ("tls-init", "cassandra-roles", "schema", "cassandra-grants", "airflow-init")
NGINX_CONF = DOCKER / "nginx" / "nginx.conf"
ENV_EXAMPLE = DOCKER / ".env.example"
DEPLOYMENT_DOC = REPO_ROOT / "docs" / "deployment.md"
KAFKA_START = DOCKER / "kafka" / "start.sh"
MAKE_CERTS = DOCKER / "init" / "make-certs.sh"
CA_FILE = "/etc/sitelens/tls/ca.crt"
"""Where every Kafka client finds the internal CA (the tls-clients volume)."""
CLIENT_LOGIN_FIELDS = ("kafka_security_protocol", "kafka_sasl_mechanism",
                         "kafka_sasl_username", "kafka_sasl_password", "kafka_ssl_ca_file",
                         "cassandra_username", "cassandra_password")
"""Client settings of the locked cluster that compose sets for every app (docs/deployment.md,
"Client settings"); test_apps_get_the_client_settings checks them."""


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def env(compose: dict, service: str) -> dict[str, str]:
    return compose["services"][service].get("environment", {})


def mounts(service: dict) -> list[tuple[str, str]]:
    """``(source, target)`` of a service's volumes, short or long syntax."""
    found = []
    for mount in service.get("volumes", []):
        if isinstance(mount, dict):
            found.append((mount["source"], mount["target"]))
        else:
            source, target = mount.split(":")[:2]
            found.append((source, target))
    return found


def interpolate(value: str, secrets: dict[str, str]) -> str:
    """``value`` with compose's ``${NAME:?message}`` replaced by ``secrets[NAME]`` and
    ``${NAME:-default}`` by the default."""
    value = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: secrets[m.group(1)], value)
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def required_variables() -> set[str]:
    """The variables compose refuses to start without (``${NAME:?...}``)."""
    return set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text()))


def fake_secrets() -> dict[str, str]:
    return {name: f"{name.lower()}-0123abcd" for name in required_variables()}


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


def load_script(name: str, folder: str = "entrypoints"):
    """A docker/<folder> script as a module (their names are not importable)."""
    path = DOCKER / folder / name
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
                    "analytics/spark_apps.py",
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
        for source, _ in mounts(service):
            if source.startswith("${"):
                continue  # a host folder named by the environment (SITELENS_TLS_DIR)
            if source.startswith("."):
                assert (COMPOSE_FILE.parent / source).is_file(), (name, source)
            else:
                assert source in compose["volumes"], (name, source)
    used = {source for service in services.values() for source, _ in mounts(service)}
    assert set(compose["volumes"]) <= used


def test_cluster_layout(compose):
    services = compose["services"]
    assert sorted(services) == sorted([
        "cassandra-1", "cassandra-2", "cassandra-3", "kafka-1", "kafka-2", "kafka-3",
        "load-balancer", *ONE_SHOTS[:4], "spark-master", "spark-worker-1",
        "spark-worker-2", "speed-layer", *WRITE_APIS, *READ_APIS, "postgres", "redis",
        *AIRFLOW_SERVICES])
    for n in (1, 2, 3):
        kafka = env(compose, f"kafka-{n}")
        assert kafka["KAFKA_NODE_ID"] == str(n)
        assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == \
            "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
        assert kafka["KAFKA_ADVERTISED_LISTENERS"] == f"SASL_SSL://kafka-{n}:9092"
        assert kafka["KAFKA_SSL_KEYSTORE_LOCATION"] == f"/etc/kafka/tls/kafka-{n}.p12"
        cassandra = env(compose, f"cassandra-{n}")
        assert cassandra["CASSANDRA_SEEDS"] == "cassandra-1,cassandra-2"
        assert cassandra["CASSANDRA_DC"] == env(compose, "schema")[
            "ANALYTICS_CASSANDRA_DATACENTER"] == "dc1"
        assert services[f"write-api-{n}"]["healthcheck"]["test"][-1] == \
            "/app/docker/entrypoints/write-api-healthcheck.py"
        assert services[f"read-api-{n}"]["healthcheck"]["test"] == [
            "CMD", "python", f"{IMAGE_ROOT}/docker/entrypoints/read-api-healthcheck.py"]
        assert services[f"read-api-{n}"]["image"] == "sitelens/read-api:latest"


def nginx_servers() -> dict[str, list]:
    """The ``server`` blocks of nginx.conf by the port they listen on."""
    http = blocks(nginx_conf(), "http")[0][1]
    servers = {}
    for _, server in blocks(http, "server"):
        [listen] = directives(server, "listen")
        servers[listen[0]] = server
    return servers


def locations(server: list) -> dict[tuple[str, ...], list]:
    return {tuple(args): body for args, body in blocks(server, "location")}


def test_load_balancer_routes_each_port_to_its_replicas(compose):
    """nginx: :443 to the write replicas, :8001 to the read replicas, on the ports their
    config binds, :8080 to Airflow's api-server; the read side keeps the tokens and waits
    for extracts."""
    http = blocks(nginx_conf(), "http")[0][1]
    upstreams = {args[0]: [server[0] for server in directives(body, "server")]
                 for args, body in blocks(http, "upstream")}
    write_port = env(compose, "write-api-1")["ANALYTICS_WRITE_API_PORT"]
    read_port = env(compose, "read-api-1")["ANALYTICS_READ_API_PORT"]
    assert upstreams == {"write_api": [f"{name}:{write_port}" for name in WRITE_APIS],
                         "read_api": [f"{name}:{read_port}" for name in READ_APIS]}
    servers = nginx_servers()
    routes = {}
    for listen, server in servers.items():
        assert directives(locations(server)[("=", "/lb-health")], "return")  # nginx's own
        routes[listen] = locations(server)[("/",)]
    lb = compose["services"]["load-balancer"]
    published = {port.split(":")[-1]: port.rsplit(":", 1)[0] for port in lb["ports"]}
    assert published == {"80": "80", "443": "443", "8001": "8001", "8080": "127.0.0.1:8080"}
    assert routes.keys() == published.keys()
    assert directives(routes["443"], "proxy_pass") == [["http://write_api"]]
    assert directives(routes["8001"], "proxy_pass") == [["http://read_api"]]
    # Airflow's api-server by name at request time (nginx may start before it)
    airflow = env(compose, "airflow-api-server")["AIRFLOW__API__PORT"]
    assert directives(routes["8080"], "set") == [
        ["$airflow_api", f"http://airflow-api-server:{airflow}"]]
    assert directives(routes["8080"], "proxy_pass") == [["$airflow_api"]]
    assert directives(blocks(nginx_conf(), "http")[0][1], "resolver")[0][0] == "127.0.0.11"
    for port in ("443", "8001", "8080"):
        headers = {args[0]: args[1:] for args in directives(routes[port], "proxy_set_header")}
        # one X-Forwarded-For entry, the peer: never an address the client chose
        assert headers["X-Forwarded-For"] == ["$remote_addr"]
        assert headers["X-Forwarded-Proto"] == ["$scheme"]
    read = routes["8001"]
    headers = {args[0]: args[1:] for args in directives(read, "proxy_set_header")}
    assert headers["Authorization"] == ["$http_authorization"]
    assert headers["Host"] == ["$http_host"]  # the published port stays in the URLs it makes
    [[timeout]] = directives(read, "proxy_read_timeout")
    assert int(timeout.removesuffix("s")) >= 300  # a .hyper extract is written first
    # CORS is the app's (ANALYTICS_READ_CORS_ORIGINS): nginx adds no header of its own
    for server in servers.values():
        for args in directives(server, "add_header") + directives(read, "add_header"):
            assert not args[0].lower().startswith("access-control-"), args
    assert env(compose, "read-api-1")["ANALYTICS_READ_CORS_ORIGINS"] == "*"


@pytest.mark.skipif(shutil.which("nginx") is None,
                    reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_accepts_the_load_balancer_config(tmp_path):
    # the replicas' names resolve only on the compose network: loopback stands in; a
    # certificate made here stands in for SITELENS_TLS_DIR's
    text = re.sub(r"server [\w-]+-api-\d+:", "server 127.0.0.1:", NGINX_CONF.read_text())
    (tmp_path / "tls").mkdir()
    done = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(tmp_path / "tls" / "privkey.pem"),
         "-out", str(tmp_path / "tls" / "fullchain.pem")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = text.replace("/etc/nginx/tls/", f"{tmp_path}/tls/")
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
    nodes = {name: healthy for name in ("cassandra-1", "cassandra-2", "cassandra-3")}
    # TLS material first (the brokers' keystores); the Cassandra roles once every node is
    # up, the migrations as the migrator role, then the permissions on their tables
    assert services["tls-init"].get("depends_on") is None
    assert services["kafka-1"]["depends_on"] == {"tls-init": done}
    assert services["cassandra-roles"]["depends_on"] == nodes
    assert services["schema"]["depends_on"] == {
        **{name: healthy for name in ("kafka-1", "kafka-2", "kafka-3")}, **nodes,
        "cassandra-roles": done}
    assert services["cassandra-grants"]["depends_on"] == {"schema": done}
    assert services["cassandra-2"]["depends_on"] == {"cassandra-1": healthy}
    assert services["cassandra-3"]["depends_on"] == {"cassandra-2": healthy}
    schema = {"schema": done, "cassandra-grants": done}
    assert services["speed-layer"]["depends_on"] == {
        **schema, "spark-master": healthy, "spark-worker-1": healthy,
        "spark-worker-2": healthy}
    for n in (1, 2, 3):
        assert services[f"write-api-{n}"]["depends_on"] == schema
        # the read service reads Cassandra only: its nodes and the keyspace (schema); the
        # Spark master, whose image it builds on, only started
        assert services[f"read-api-{n}"]["depends_on"] == {
            **nodes, **schema, "spark-master": {"condition": "service_started"}}
    assert services["load-balancer"]["depends_on"] == {
        "tls-init": done, **{name: healthy for name in (*WRITE_APIS, *READ_APIS)}}
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
    known = set(Config.env_names()) | {"ANALYTICS_" + f.upper() for f in CLIENT_LOGIN_FIELDS}
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
        "ANALYTICS_CASSANDRA_CONSISTENCY": "LOCAL_QUORUM",
    }
    assert compose["x-analytics-env"] == {**shared, **{
        "ANALYTICS_TOPIC_RAW_EVENTS": "events.raw",
        "ANALYTICS_TOPIC_INVALID_EVENTS": "events.invalid",
        "ANALYTICS_TOPIC_RETENTION_MS": "604800000",
        "ANALYTICS_CASSANDRA_PORT": "9042",
        "ANALYTICS_CASSANDRA_KEYSPACE": "analytics",
        # the Kafka clients' authentication (test_kafka_clients_use_sasl_ssl)
        "ANALYTICS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "ANALYTICS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "ANALYTICS_KAFKA_SASL_USERNAME": "sitelens",
        "ANALYTICS_KAFKA_SASL_PASSWORD":
            "${KAFKA_CLIENT_PASSWORD:?set KAFKA_CLIENT_PASSWORD (docker/.env.example)}",
        "ANALYTICS_KAFKA_SSL_CA_FILE": CA_FILE}}
    for service in ("schema", "speed-layer", *WRITE_APIS, *READ_APIS, *AIRFLOW_SERVICES):
        assert compose["x-analytics-env"].items() <= env(compose, service).items(), service
    speed = env(compose, "speed-layer")
    assert speed["ANALYTICS_SPARK_MASTER"] == "spark://spark-master:7077"
    assert speed["ANALYTICS_SPARK_DRIVER_HOST"] == "speed-layer"
    assert speed["ANALYTICS_STREAMING_CHECKPOINT_DIR"] == "/checkpoints/speed-layer"
    assert speed["ANALYTICS_STREAMING_STATE_PARTITIONS"] == "8"
    for service in ("speed-layer", "spark-worker-1", "spark-worker-2"):
        assert compose["services"][service]["volumes"] == [
            "spark-checkpoints:/checkpoints", "tls-clients:/etc/sitelens/tls:ro"]
    write = env(compose, "write-api-1")
    assert write == env(compose, "write-api-2") == env(compose, "write-api-3")
    assert write["ANALYTICS_WRITE_API_HOST"] == "0.0.0.0"
    assert write["ANALYTICS_WRITE_API_PORT"] == "8000"
    assert write["ANALYTICS_TRUST_FORWARDED_FOR"] == "true"
    assert write["ANALYTICS_CLIENT_ID_HASH_KEY"].startswith("${ANALYTICS_CLIENT_ID_HASH_KEY:?")
    assert compose["x-read-api-env"]["ANALYTICS_READ_TRUST_PROXY_HEADERS"] == "true"  # nginx
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
    # the locked cluster's client settings (the local run's servers ask for none)
    *CLIENT_LOGIN_FIELDS,
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


def env_example() -> tuple[dict[str, str], dict[str, str]]:
    """docker/.env.example: ``(required, optional)``, each name -> the comment lines just
    above it (required: ``NAME=``; optional: commented out, ``# NAME=default``)."""
    required, optional, comments = {}, {}, []
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.fullmatch(r"(\w+)=(.*)", line):
            assert match.group(2) == "", f"{line}: the example holds no value"
            required[match.group(1)] = "\n".join(comments)
        elif match := re.fullmatch(r"# (\w+)=(.*)", line):
            optional[match.group(1)] = "\n".join(comments)
        if line.startswith("#") and not re.fullmatch(r"# \w+=.*", line):
            comments.append(line)
        else:
            comments = []
    return required, optional


def test_every_compose_variable_is_required_or_has_a_default():
    """``${NAME:?...}`` stops compose with a message when NAME is unset (the secrets,
    each in docker/.env.example with the command that makes it); ``${NAME:-default}`` is
    optional (listed there, commented out, with its default); nothing is silently empty,
    and no secret is optional."""
    text = COMPOSE_FILE.read_text()
    uses = re.findall(r"\$\{(\w+)(:?[?-])?([^}]*)\}", text)
    assert uses and all(kind in (":?", ":-") for _, kind, _ in uses), uses
    required = {name for name, kind, _ in uses if kind == ":?"}
    defaults = {name: default for name, kind, default in uses if kind == ":-"}
    assert not required & set(defaults)
    for name, _, message in uses:
        if name in required:
            assert message.startswith(f"set {name}"), (name, message)  # compose's message
    for name in set(defaults) | required:
        assert not re.search(r"PASSWORD|SECRET|KEY", name) or name in required, name
    example_required, example_optional = env_example()
    assert set(example_required) == required
    assert set(example_optional) == set(defaults)
    for name, comment in example_required.items():
        assert "openssl rand" in comment, f"{name}: say how to make it"
    for name, default in defaults.items():
        assert f"# {name}={default}" in ENV_EXAMPLE.read_text().splitlines()
    # docs/deployment.md makes them all at once
    doc = re.search(r"cat > docker/\.env <<SECRETS\n(.*?)\nSECRETS", DEPLOYMENT_DOC.read_text(),
                    re.S).group(1)
    assert {line.split("=")[0] for line in doc.splitlines()} == required
    # ... with the commands of the example
    for line in doc.splitlines():
        name, _, command = line.partition("=")
        assert command.startswith("$(") and command.endswith(")"), line
        assert command[2:-1] in example_required[name], line


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
        ("events.raw", 12, 3), ("events.invalid", 12, 3), ("sitelens.spool-progress", 1, 3)]
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
    assert "SPEED_LAYER.path(REPO_ROOT), SPEED_LAYER.name" in script.read_text()
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
    jobs = {spark_apps.SPEED_LAYER: ("SPEED_LAYER", "docker/entrypoints/speed-layer.sh"),
            spark_apps.BATCH_RECOMPUTE: ("BATCH_RECOMPUTE",
                                         "plugins/sitelens/operators/batch_recompute.py"),
            spark_apps.ADHOC: ("ADHOC", "api/read/jobs.py")}
    assert set(jobs) == set(spark_apps.APPS)
    for app, (name, launcher) in jobs.items():
        # the launcher takes the application from analytics.spark_apps
        assert f"from analytics.spark_apps import {name}" in \
            (REPO_ROOT / launcher).read_text(), app
        assert app.path(REPO_ROOT) in ENTRY_POINTS["spark.Dockerfile"], app  # the executors


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
    assert "ports" not in compose["services"]["airflow-api-server"]  # nginx's :8080
    assert airflow["AIRFLOW__API__BASE_URL"] == "${AIRFLOW_BASE_URL:-https://localhost:8080}"
    assert airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
        "postgresql+psycopg2://airflow:${AIRFLOW_DB_PASSWORD:?")
    assert airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
    assert airflow["AIRFLOW__CELERY__RESULT_BACKEND"] == \
        "db+" + airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert airflow["AIRFLOW__CELERY__BROKER_URL"] == \
        "redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD (docker/.env.example)}@redis:6379/0"
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


# -- security: networks, authentication, TLS, secrets (docs/deployment.md) --------------

SPARK_DRIVERS = ("speed-layer", *READ_APIS, *AIRFLOW_WORKERS)
"""The services that run spark-submit (the drivers of the speed layer, the ad-hoc jobs
and the batch jobs)."""
CASSANDRA_ROLES = {"schema": "sitelens_migrator", "speed-layer": "sitelens_pipeline",
                   **{name: "sitelens_write_api" for name in WRITE_APIS},
                   **{name: "sitelens_read_api" for name in READ_APIS},
                   **{name: "sitelens_pipeline" for name in AIRFLOW_SERVICES}}
"""The Cassandra role each app service logs in as."""
WRITES_OFF_THE_PATH = {
    "sitelens_write_api": {"sites": "analytics.sites is loaded to read sites; only "
                                    "api.manage and the read service save them",
                           "records": "the spool's SQLite table, not Cassandra"},
    "sitelens_read_api": {"api_tokens": "tokens are made and revoked by api.manage "
                                        "(the migrator role)"},
}
"""Tables the code a service loads writes somewhere, but not on that service's path."""


def test_only_nginx_is_reachable_from_outside(compose):
    """Everything is on one network without a route in or out; nginx alone publishes
    ports and bridges it to `edge`."""
    assert compose["networks"]["internal"] == {"internal": True}
    assert not compose["networks"]["edge"].get("internal")
    for name, service in compose["services"].items():
        assert service.get("network_mode") in (None, "none"), name  # never the host's
        if name == "load-balancer":
            assert sorted(service["networks"]) == ["edge", "internal"]
            assert service["ports"]
        else:
            assert "ports" not in service, name
            assert service.get("networks", []) == (
                [] if service.get("network_mode") == "none" else ["internal"]), name


def kafka_properties(compose: dict, broker: str, secrets: dict[str, str]) -> dict[str, str]:
    """The server.properties docker/kafka/start.sh writes for ``broker``."""
    variables = {k: interpolate(v, secrets) for k, v in env(compose, broker).items()}
    done = subprocess.run(["bash", str(KAFKA_START), "--render"], capture_output=True,
                          text=True, env={"PATH": os.environ["PATH"], **variables})
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


def test_kafka_listeners_use_sasl_over_tls(compose):
    """Clients and brokers: SASL_SSL with SCRAM-SHA-512; the controller quorum: mutual
    TLS; no PLAINTEXT listener; the SCRAM users exist from the first format on."""
    secrets = fake_secrets()
    for n in (1, 2, 3):
        service = compose["services"][f"kafka-{n}"]
        found = kafka_properties(compose, f"kafka-{n}", secrets)
        protocols = dict(pair.split(":") for pair in
                         found["listener.security.protocol.map"].split(","))
        listeners = dict(item.split("://") for item in found["listeners"].split(","))
        assert listeners == {"SASL_SSL": ":9092", "CONTROLLER": ":9093"}
        assert protocols == {"SASL_SSL": "SASL_SSL", "CONTROLLER": "SSL"}
        assert found["advertised.listeners"] == f"SASL_SSL://kafka-{n}:9092"
        assert found["inter.broker.listener.name"] == "SASL_SSL"
        assert found["controller.listener.names"] == "CONTROLLER"
        assert found["listener.name.controller.ssl.client.auth"] == "required"
        assert found["sasl.enabled.mechanisms"] == "SCRAM-SHA-512" == \
            found["sasl.mechanism.inter.broker.protocol"]
        assert found["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"] == (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="broker" password="{secrets["KAFKA_BROKER_PASSWORD"]}";')
        assert found["ssl.keystore.location"] == f"/etc/kafka/tls/kafka-{n}.p12"
        assert found["ssl.keystore.password"] == secrets["KAFKA_KEYSTORE_PASSWORD"]
        assert (found["ssl.truststore.type"], found["ssl.truststore.location"]) == \
            ("PEM", "/etc/kafka/tls/ca.crt")
        assert "ssl.endpoint.identification.algorithm" not in found  # https: names checked
        assert not {key for key in found if key.endswith("opts") or "scram.client" in key}
        assert ("tls-kafka", "/etc/kafka/tls") in mounts(service)
        assert "tls-kafka:/etc/kafka/tls:ro" in service["volumes"]
        assert service["entrypoint"] == ["/bin/bash", "/etc/kafka/sitelens/start.sh"]
        assert ("./kafka/start.sh", "/etc/kafka/sitelens/start.sh") in mounts(service)
        assert "--command-config /opt/kafka/config/client.properties" in \
            service["healthcheck"]["test"][1]
        kafka = env(compose, f"kafka-{n}")
        assert kafka["SCRAM_CLIENT_USER"] == compose["x-analytics-env"][
            "ANALYTICS_KAFKA_SASL_USERNAME"]
        assert kafka["SCRAM_CLIENT_PASSWORD"] == compose["x-analytics-env"][
            "ANALYTICS_KAFKA_SASL_PASSWORD"]
    # the storage is formatted with both SCRAM users (KIP-900), once
    script = " ".join(KAFKA_START.read_text().replace("\\\n", " ").split())
    assert "kafka-storage.sh\" format --ignore-formatted" in script
    assert '--add-scram "$MECHANISM=[name=$BROKER_USER,password=$SCRAM_BROKER_PASSWORD]"' \
        in script
    assert '--add-scram "$MECHANISM=[name=$SCRAM_CLIENT_USER,password=' \
        '$SCRAM_CLIENT_PASSWORD]"' in script
    assert "exec \"$KAFKA_HOME/bin/kafka-server-start.sh\"" in script


def test_kafka_clients_use_sasl_over_tls(compose):
    """Every container with the Kafka servers in its config has the SASL_SSL settings
    and the internal CA at the configured path (the Spark workers too: executors read
    Kafka with the driver's options)."""
    shared = compose["x-analytics-env"]
    assert shared["ANALYTICS_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert shared["ANALYTICS_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert shared["ANALYTICS_KAFKA_SASL_PASSWORD"].startswith("${KAFKA_CLIENT_PASSWORD:?")
    assert shared["ANALYTICS_KAFKA_SSL_CA_FILE"] == CA_FILE
    clients = [name for name in compose["services"]
               if "ANALYTICS_KAFKA_BOOTSTRAP" in env(compose, name)]
    assert set(clients) == {"schema", "speed-layer", *WRITE_APIS, *READ_APIS,
                            *AIRFLOW_SERVICES}
    for name in [*clients, "spark-worker-1", "spark-worker-2"]:
        service = compose["services"][name]
        if name in clients:
            assert shared.items() <= env(compose, name).items(), name
        assert f"tls-clients:{Path(CA_FILE).parent}:ro" in service["volumes"], name


def test_cassandra_requires_passwords(compose, tmp_path):
    """docker/cassandra/entrypoint.sh switches cassandra.yaml (either form) to
    PasswordAuthenticator + CassandraAuthorizer, refuses to start when it cannot, then
    runs the image's entry point."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker-entrypoint.sh").write_text('#!/bin/sh\necho "image entry point $*"\n')
    (fake / "docker-entrypoint.sh").chmod(0o755)
    script = DOCKER / "cassandra" / "entrypoint.sh"

    def run(yaml_text: str) -> tuple[subprocess.CompletedProcess, str]:
        conf = tmp_path / "conf"
        conf.mkdir(exist_ok=True)
        (conf / "cassandra.yaml").write_text(yaml_text)
        done = subprocess.run(["bash", str(script), "cassandra", "-f"], capture_output=True,
                              text=True, env={"PATH": f"{fake}:{os.environ['PATH']}",
                                              "CASSANDRA_CONF": str(conf)})
        return done, (conf / "cassandra.yaml").read_text()

    flat = ("# AllowAllAuthenticator performs no checks\nauthenticator: AllowAllAuthenticator\n"
            "authorizer: AllowAllAuthorizer\nrole_manager: CassandraRoleManager\n")
    done, text = run(flat)
    assert done.stdout == "image entry point cassandra -f\n", done.stderr
    assert text == ("# AllowAllAuthenticator performs no checks\n"
                    "authenticator: PasswordAuthenticator\nauthorizer: CassandraAuthorizer\n"
                    "role_manager: CassandraRoleManager\n")
    nested = ("authenticator:\n  class_name : org.apache.cassandra.auth.AllowAllAuthenticator\n"
              "# authenticator:\n#   class_name : org.apache.cassandra.auth.AllowAllAuthenticator\n"
              "authorizer:\n  class_name: AllowAllAuthorizer\n")
    done, text = run(nested)
    assert done.returncode == 0, done.stderr
    assert "  class_name : org.apache.cassandra.auth.PasswordAuthenticator\n" in text
    assert "#   class_name : org.apache.cassandra.auth.AllowAllAuthenticator\n" in text
    assert "  class_name: CassandraAuthorizer\n" in text
    done, _ = run("authenticator: SomethingElse\nauthorizer: AllowAllAuthorizer\n")
    assert done.returncode == 1 and "PasswordAuthenticator" in done.stderr
    assert "image entry point" not in done.stdout
    for n in (1, 2, 3):
        service = compose["services"][f"cassandra-{n}"]
        assert service["entrypoint"] == ["/bin/bash", "/etc/sitelens/cassandra-entrypoint.sh"]
        assert service["command"] == ["cassandra", "-f"]  # the image's, cleared by entrypoint
        assert ("./cassandra/entrypoint.sh", "/etc/sitelens/cassandra-entrypoint.sh") in \
            mounts(service)
        # healthy before any role exists (cassandra-roles waits for it)
        assert "cqlsh" not in " ".join(service["healthcheck"]["test"])
        # the roles on every node from the first start (no login waits for a repair)
        assert env(compose, f"cassandra-{n}")["JVM_EXTRA_OPTS"] == \
            "-Dcassandra.system_auth.default_rf=" + \
            compose["x-analytics-env"]["ANALYTICS_CASSANDRA_REPLICATION_FACTOR"]


def cql_tables_written(entries: list[Path]) -> set[str]:
    """Tables named by INSERT/UPDATE/DELETE/TRUNCATE in the strings of the files that
    loading ``entries`` loads."""
    statement = re.compile(
        r"\b(?:INSERT INTO|UPDATE|DELETE FROM|TRUNCATE)\s+(?:\{[^}]*\}\.|\w+\.)?(\w+)")
    files, _ = loaded_modules(entries)
    found = set()
    for tree in files.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(part.value if isinstance(part, ast.Constant) else "{x}"
                               for part in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            found.update(statement.findall(text))
    return found


def migration_tables() -> set[str]:
    text = "".join(path.read_text() for path in
                   (REPO_ROOT / "analytics" / "storage" / "migrations").glob("*.cql"))
    return set(re.findall(r"CREATE TABLE IF NOT EXISTS \$\{keyspace\}\.(\w+)", text))


def test_cassandra_roles_are_least_privilege(compose):
    """Each app service logs in as its own role; the roles may what their code does and
    no more: the write service writes only the salts, the read service only its own
    tables, no service role manages roles or (but the migrator) the schema."""
    roles = load_script("cassandra-roles.py", "init")
    assert set(CASSANDRA_ROLES.values()) == set(roles.ROLES)
    for service, role in CASSANDRA_ROLES.items():
        settings = env(compose, service)
        assert settings["ANALYTICS_CASSANDRA_USERNAME"] == role, service
        assert settings["ANALYTICS_CASSANDRA_PASSWORD"].startswith(
            "${" + roles.ROLES[role] + ":?"), service
    for one_shot in ("cassandra-roles", "cassandra-grants"):
        settings = env(compose, one_shot)
        for variable in (roles.ADMIN_PASSWORD, *roles.ROLES.values()):
            assert settings[variable].startswith("${" + variable + ":?"), (one_shot, variable)
        assert compose["x-cassandra-cluster"].items() <= settings.items()
        assert not {k for k in settings if k.startswith("ANALYTICS_KAFKA")}  # not theirs
    assert compose["services"]["cassandra-roles"]["command"][-1] == "roles"
    assert compose["services"]["cassandra-grants"]["command"][-1] == "grants"
    keyspace = env(compose, "schema")["ANALYTICS_CASSANDRA_KEYSPACE"]
    grants = roles.grant_statements(keyspace)
    assert not [g for g in grants if "AUTHORIZE" in g or "ALL" in g or "DESCRIBE" in g]
    keyspace_rights = {role: set(rights) for role, rights in roles.KEYSPACE_PERMISSIONS.items()}
    assert keyspace_rights == {
        "sitelens_migrator": {"CREATE", "ALTER", "DROP", "SELECT", "MODIFY"},
        "sitelens_pipeline": {"SELECT", "MODIFY"},
        "sitelens_write_api": {"SELECT"}, "sitelens_read_api": {"SELECT"}}
    assert roles.TABLE_MODIFY["sitelens_write_api"] == ("visitor_salts",)
    assert set(roles.TABLE_MODIFY["sitelens_read_api"]) <= migration_tables()
    for role, tables in roles.TABLE_MODIFY.items():
        for table in tables:
            assert f"GRANT MODIFY ON TABLE {keyspace}.{table} TO {role}" in grants
    # ... which covers what the code of the table-limited roles writes
    code = {"sitelens_write_api": WRITE_SERVICE, "sitelens_read_api": READ_SERVICE}
    for role, entries in code.items():
        written = cql_tables_written(entries) - set(WRITES_OFF_THE_PATH[role])
        assert written <= set(roles.TABLE_MODIFY[role]), (role, written)
        assert set(WRITES_OFF_THE_PATH[role]) - {"records"} <= migration_tables()
    # service roles log in but are no superusers; the default superuser is switched off
    for role in roles.ROLES:
        [(cql, parameters)] = roles.role_statements(role, "pw", exists=False)
        assert "LOGIN = true AND SUPERUSER = false" in cql and parameters == ("pw",)
        [(cql, _)] = roles.role_statements(role, "pw", exists=True)
        assert cql == f"ALTER ROLE {role} WITH PASSWORD = %s AND LOGIN = true"
    script = (DOCKER / "init" / "cassandra-roles.py").read_text()
    assert "SUPERUSER = false AND LOGIN = false" in script  # what becomes of cassandra
    assert roles.MIGRATOR_GRANT == "GRANT CREATE ON ALL KEYSPACES TO sitelens_migrator"


def test_redis_and_postgres_require_passwords(compose):
    redis = compose["services"]["redis"]
    password = "${REDIS_PASSWORD:?set REDIS_PASSWORD (docker/.env.example)}"
    assert redis["command"] == ["redis-server", "--requirepass", password]
    assert env(compose, "redis")["REDISCLI_AUTH"] == password  # the health check logs in
    assert "grep -q PONG" in redis["healthcheck"]["test"][1]  # NOAUTH exits 0 as well
    assert compose["x-airflow-env"]["AIRFLOW__CELERY__BROKER_URL"] == \
        f"redis://:{password}@redis:6379/0"
    assert env(compose, "postgres")["POSTGRES_PASSWORD"].startswith("${AIRFLOW_DB_PASSWORD:?")
    assert "POSTGRES_HOST_AUTH_METHOD" not in env(compose, "postgres")  # never "trust"


def test_spark_authenticates_every_party(compose):
    """The master, the workers and every driver share spark.authenticate's secret (the
    executors get it from their worker); RPC is encrypted."""
    options = compose["x-spark-auth"].split()
    assert options == ["-Dspark.authenticate=true",
                       "-Dspark.authenticate.secret=${SPARK_AUTH_SECRET:?set",
                       "SPARK_AUTH_SECRET", "(docker/.env.example)}",
                       "-Dspark.network.crypto.enabled=true"]
    for daemon in ("spark-master", "spark-worker-1", "spark-worker-2"):
        assert env(compose, daemon)["SPARK_DAEMON_JAVA_OPTS"] == compose["x-spark-auth"]
    for driver in SPARK_DRIVERS:
        assert env(compose, driver)["SPARK_SUBMIT_OPTS"] == compose["x-spark-auth"], driver
        assert env(compose, driver)["ANALYTICS_SPARK_MASTER"].startswith("spark://")
    # nobody else submits: the secret is only where a Spark process runs
    holders = {name for name in compose["services"]
               if "SPARK_AUTH_SECRET" in json.dumps(compose["services"][name])}
    assert holders == {"spark-master", "spark-worker-1", "spark-worker-2", *SPARK_DRIVERS}
    assert "ports" not in compose["services"]["spark-master"]  # its UI has no login


def test_nginx_terminates_tls(compose):
    """:80 only redirects; :443, :8001 and :8080 are TLS 1.2+ with HSTS, the certificate
    from SITELENS_TLS_DIR; /metrics is refused on both services, Airflow's task API too."""
    http = blocks(nginx_conf(), "http")[0][1]
    servers = nginx_servers()
    assert directives(servers["80"], "listen") == [["80", "default_server"]]
    assert directives(locations(servers["80"])[("/",)], "return") == [
        ["301", "https://$host$request_uri"]]
    assert directives(http, "ssl_protocols") == [["TLSv1.2", "TLSv1.3"]]
    [[certificate]] = directives(http, "ssl_certificate")
    [[key]] = directives(http, "ssl_certificate_key")
    lb = compose["services"]["load-balancer"]
    [tls_dir] = [mount for mount in lb["volumes"] if isinstance(mount, dict)]
    assert tls_dir == {"type": "bind", "source": "${SITELENS_TLS_DIR:-./tls}",
                       "target": "/etc/nginx/tls", "read_only": True,
                       "bind": {"create_host_path": True}}
    assert (certificate, key) == ("/etc/nginx/tls/fullchain.pem", "/etc/nginx/tls/privkey.pem")
    for port in ("443", "8001", "8080"):
        server = servers[port]
        assert "ssl" in directives(server, "listen")[0], port
        [hsts] = [args for args in directives(server, "add_header")
                  if args[0] == "Strict-Transport-Security"]
        max_age = int(re.fullmatch(r'"max-age=(\d+)"', hsts[1]).group(1))
        assert max_age >= 365 * 86400 and hsts[2] == "always", port
        if port != "443":  # plain HTTP to a TLS port: to https on that port
            assert directives(server, "error_page") == [
                ["497", "=301", "https://$host:$server_port$request_uri"]]
    for port in ("443", "8001"):
        [refused] = [(args, body) for args, body in blocks(servers[port], "location")
                     if args[0] == "~*" and "metrics" in args[1]]
        assert directives(refused[1], "deny") == [["all"]]
        pattern = re.compile(refused[0][1].strip('"'), re.I)
        for path in ("/metrics", "/metrics/", "/Metrics", "/metrics;x", "/metrics/x"):
            assert pattern.search(path), path
        assert not pattern.search("/api/event") and not pattern.search("/metricsx")
    assert directives(locations(servers["8080"])[("^~", "/execution/")], "deny") == [["all"]]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_tls_init_makes_what_nginx_and_kafka_need(compose, tmp_path):
    """docker/init/make-certs.sh: a self-signed pair for nginx when none is there, the
    internal CA and one keystore per Kafka node (SAN = its name, signed by the CA); again
    it changes nothing, and a new keystore password makes new keystores."""
    tls_init = compose["services"]["tls-init"]
    settings = env(compose, "tls-init")
    brokers = [name for name in compose["services"] if re.fullmatch(r"kafka-\d+", name)]
    assert settings["KAFKA_BROKERS"].split() == brokers
    targets = dict((target, source) for source, target in mounts(tls_init))
    assert targets == {"/sitelens-init/make-certs.sh": "./init/make-certs.sh",
                       "/tls/ca": "tls-ca", "/tls/kafka": "tls-kafka",
                       "/tls/clients": "tls-clients",
                       "/tls/public": "${SITELENS_TLS_DIR:-./tls}"}
    assert tls_init["command"] == ["sh", "/sitelens-init/make-certs.sh"]
    for name, service in compose["services"].items():  # the CA's key stays in tls-init
        if name != "tls-init":
            assert "tls-ca" not in [source for source, _ in mounts(service)], name
    dirs = {"PUBLIC_DIR": tmp_path / "public", "CA_DIR": tmp_path / "ca",
            "KAFKA_DIR": tmp_path / "kafka", "CLIENTS_DIR": tmp_path / "clients"}

    def run(password: str) -> str:
        done = subprocess.run(
            ["sh", str(MAKE_CERTS)], capture_output=True, text=True,
            env={"PATH": os.environ["PATH"], "KAFKA_KEYSTORE_PASSWORD": password,
                 "KAFKA_BROKERS": "kafka-1 kafka-2", "SITELENS_PUBLIC_HOST": "example.org",
                 **{k: str(v) for k, v in dirs.items()}})
        assert done.returncode == 0, done.stderr
        return done.stdout

    def openssl(*args: str) -> str:
        return subprocess.run(["openssl", *args], capture_output=True, text=True,
                              check=True).stdout

    first = run("first-password")
    assert "self-signed certificate for example.org" in first
    assert "keystore for kafka-1" in first and "keystore for kafka-2" in first
    public = dirs["PUBLIC_DIR"]
    assert "DNS:example.org" in openssl("x509", "-in", str(public / "fullchain.pem"),
                                        "-noout", "-ext", "subjectAltName")
    assert (public / "privkey.pem").stat().st_mode & 0o077 == 0
    assert (dirs["CLIENTS_DIR"] / "ca.crt").read_text() == \
        (dirs["KAFKA_DIR"] / "ca.crt").read_text() == (dirs["CA_DIR"] / "ca.crt").read_text()
    assert not (dirs["CLIENTS_DIR"] / "ca.key").exists()
    certificate = tmp_path / "kafka-1.crt"
    certificate.write_text(openssl("pkcs12", "-in", str(dirs["KAFKA_DIR"] / "kafka-1.p12"),
                                   "-nokeys", "-clcerts", "-passin", "pass:first-password"))
    assert "OK" in openssl("verify", "-CAfile", str(dirs["CLIENTS_DIR"] / "ca.crt"),
                           str(certificate))
    extensions = openssl("x509", "-in", str(certificate), "-noout", "-ext",
                         "subjectAltName,extendedKeyUsage")
    assert "DNS:kafka-1" in extensions and "TLS Web Client Authentication" in extensions
    stores = {p.name: p.read_bytes() for p in dirs["KAFKA_DIR"].glob("*.p12")}
    assert run("first-password") == ""  # nothing to do
    assert {p.name: p.read_bytes() for p in dirs["KAFKA_DIR"].glob("*.p12")} == stores
    assert "keystore for kafka-1" in run("second-password")
    openssl("pkcs12", "-in", str(dirs["KAFKA_DIR"] / "kafka-1.p12"), "-nokeys",
            "-passin", "pass:second-password")


def test_no_secret_is_written_into_the_files(compose):
    """Every password, key and secret a container gets is ``${NAME:?...}`` from the
    environment, inside URLs too."""
    secretish = re.compile(r"PASSWORD$|_SECRET$|_KEY$|CLI_AUTH$")
    for name, service in compose["services"].items():
        for variable, value in service.get("environment", {}).items():
            if secretish.search(variable):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), (name, variable)
            for credentials in re.findall(r"://[^/@\s]*:([^@\s]*)@", value):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", credentials), (name, variable)


def test_apps_get_the_client_settings(compose):
    """Each app's config (the client settings, CLIENT_LOGIN_FIELDS) is the locked
    cluster's: SASL_SSL to Kafka, its own Cassandra role."""
    for service, role in CASSANDRA_ROLES.items():
        config = Config.from_env(env(compose, service))
        assert config.kafka_security_protocol == "SASL_SSL", service
        assert config.kafka_sasl_mechanism == "SCRAM-SHA-512", service
        assert config.kafka_sasl_username == "sitelens", service
        assert Path(config.kafka_ssl_ca_file) == Path(CA_FILE), service
        assert config.cassandra_username == role, service
