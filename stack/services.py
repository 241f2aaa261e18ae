"""The services of the local run: how each is started, where it listens, when it is ready.

A service is described once here; ``stack.supervisor`` runs it under supervisord and
``stack.lifecycle`` starts, checks and stops it. :func:`services` lists them in start
order: the stores (Kafka, Cassandra, PostgreSQL) first, then the write and read services,
the speed layer and Airflow's parts.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from analytics.config import REPO_ROOT, Config
from analytics.kafka_topics import broker_ready
from analytics.spark_apps import SPEED_LAYER
from analytics.spark_submit import submit_command, submit_env
from analytics.storage.session import node_ready
from stack import postgres as pg
from stack.airflow import PARTS, migrate, part_ready, prepare_home, ui_url
from stack.launch import GunicornService, ReadService, WriteService

TEMPLATES = Path(__file__).with_name("templates")

# Cassandra's own conf/jvm17-server.options (5.0): module access the node needs on Java 17.
CASSANDRA_JAVA17_OPTIONS = [
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports", "java.sql/java.sql=ALL-UNNAMED",
    "--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
    "--add-opens", "java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    "--add-opens", "java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.math=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/java.net=ALL-UNNAMED",
]


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    ports: dict[str, int]
    ready: Callable[[], bool]
    address: str
    prepare: Callable[[], None] = lambda: None
    start_timeout_s: float = 90.0
    stop_signal: str = "TERM"
    stop_wait_s: int = 60
    environment: dict[str, str] = field(default_factory=dict)
    needs_schema: bool = False
    """Starts only after the topics, migrations and demo site are in place."""
    needs_stores: bool = False
    """Starts only after the stores (Kafka, Cassandra, PostgreSQL) are ready."""
    user: str | None = None
    """Run as this system user (the supervisor runs as whoever started the stack)."""


class Layout:
    """Folders of the local run under ``config.state_dir``."""

    def __init__(self, config: Config):
        self.root = config.state_dir
        self.run = self.root / "run"
        self.logs = self.root / "logs"
        self.conf = self.root / "conf"
        self.data = self.root / "data"

    def make(self) -> None:
        for folder in (self.run, self.logs, self.conf, self.data):
            folder.mkdir(parents=True, exist_ok=True)

    def log_file(self, service: str) -> Path:
        return self.logs / f"{service}.log"


def marker(config: Config) -> str:
    """A JVM property that tags every process of this state folder (to find leftovers)."""
    return f"-Danalytics.stack={config.state_dir}"


def title_marker(config: Config) -> str:
    """The same tag for Python services, part of their process title (gunicorn's proc_name),
    which survives setproctitle rewriting the command line and environment."""
    return f"analytics-stack={config.state_dir}"


def render(template: str, target: Path, **values) -> Path:
    text = Template((TEMPLATES / template).read_text()).substitute(**values)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def _classpath(*folders: Path) -> str:
    return ":".join(str(f) if f.suffix == ".jar" or f.name.endswith("*") else f"{f}/*"
                    for f in folders)


def kafka(config: Config) -> Service:
    layout = Layout(config)
    conf = layout.conf / "kafka"
    data = layout.data / "kafka"
    properties = conf / "server.properties"
    jars = config.jars_dir / "kafka"
    java = ["java", f"-Xms{config.kafka_heap}", f"-Xmx{config.kafka_heap}",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={conf / 'log4j2.xml'}", marker(config),
            "-cp", _classpath(jars)]

    def prepare() -> None:
        render("kafka.server.properties", properties, kafka_host=config.kafka_host,
               kafka_port=config.kafka_port,
               kafka_controller_port=config.kafka_controller_port,
               data_dir=data, partitions=config.topic_partitions)
        render("kafka.log4j2.xml", conf / "log4j2.xml")
        if not (data / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            subprocess.run(java + ["kafka.tools.StorageTool", "format", "-t", cluster_id,
                                   "-c", str(properties)],
                           check=True, capture_output=True, text=True, timeout=120)

    return Service(
        name="kafka",
        command=java + ["kafka.Kafka", str(properties)],
        ports={"kafka": config.kafka_port, "kafka-controller": config.kafka_controller_port},
        ready=lambda: broker_ready(config),
        address=f"kafka://{config.bootstrap_servers}",
        prepare=prepare,
        start_timeout_s=min(config.start_timeout_s, 90.0),
    )


def cassandra(config: Config) -> Service:
    layout = Layout(config)
    conf = layout.conf / "cassandra"
    data = layout.data / "cassandra"
    jars = config.jars_dir / "cassandra"
    jamm = next(iter(sorted(jars.glob("jamm-*.jar"))), jars / "jamm.jar")
    host = config.cassandra_hosts[0]

    def prepare() -> None:
        render("cassandra.yaml", conf / "cassandra.yaml", data_dir=data,
               cassandra_host=host, cassandra_port=config.cassandra_port,
               cassandra_storage_port=config.cassandra_storage_port)
        render("cassandra.logback.xml", conf / "logback.xml")
        for sub in ("data", "commitlog", "saved_caches", "hints", "cdc_raw"):
            (data / sub).mkdir(parents=True, exist_ok=True)

    command = [
        "java", f"-Xms{config.cassandra_heap}", f"-Xmx{config.cassandra_heap}", "-Xss256k",
        "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=200",
        "-XX:MaxDirectMemorySize=512m", "-Djava.net.preferIPv4Stack=true",
        f"-javaagent:{jamm}", *CASSANDRA_JAVA17_OPTIONS,
        f"-Dcassandra.config=file://{conf / 'cassandra.yaml'}",
        f"-Dlogback.configurationFile={conf / 'logback.xml'}",
        f"-Dcassandra.logdir={layout.logs}", f"-Dcassandra.storagedir={data}",
        "-Dcassandra-foreground=yes", "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=1000",  # one local node: no peers to wait for
        marker(config),
        "-cp", f"{conf}:{_classpath(jars)}",
        "org.apache.cassandra.service.CassandraDaemon",
    ]
    return Service(
        name="cassandra",
        command=command,
        ports={"cql": config.cassandra_port, "storage": config.cassandra_storage_port},
        ready=lambda: node_ready(config),
        address=f"cql://{host}:{config.cassandra_port}",
        prepare=prepare,
        start_timeout_s=config.start_timeout_s,
        stop_wait_s=90,
    )


def http_answers(url: str, timeout: float = 5.0) -> bool:
    """True when an HTTP server answers at ``url`` (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _gunicorn(config: Config, launched: type[GunicornService], host: str,
              port: int) -> Service:
    """A service under gunicorn (its name, gunicorn config and app as the tests' launcher
    has them), ready when ``/healthz`` answers, the whole config in its environment."""
    base = f"http://{host}:{port}"
    return Service(
        name=launched.name,
        command=[sys.executable, "-m", "gunicorn", "-c", launched.conf, launched.app],
        ports={"http": port},
        ready=lambda: http_answers(f"{base}/healthz"),
        address=base,
        start_timeout_s=60.0,
        stop_wait_s=30,
        environment=config.to_env(),
        needs_schema=True,
    )


def write_api(config: Config) -> Service:
    return _gunicorn(config, WriteService, config.write_api_host, config.write_api_port)


def read_api(config: Config) -> Service:
    """The read service (api/read): reports, the Tableau connector page, extracts."""
    return _gunicorn(config, ReadService, config.read_api_host, config.read_api_port)


def speed_layer_ready(config: Config) -> bool:
    """The streaming job's status file is fresh and every query in it is active."""
    from streaming.progress import read_status

    status = read_status(config)
    return bool(status and status["queries"]
                and all(q["active"] for q in status["queries"].values()))


def speed_layer(config: Config) -> Service:
    """The Spark Structured Streaming job (streaming/job.py) under spark-submit."""
    command = submit_command(config, SPEED_LAYER.path(REPO_ROOT), SPEED_LAYER.name,
                             driver_java_options=[marker(config)], check_jars=False)
    return Service(
        name="speed-layer",
        command=command,
        ports={},
        ready=lambda: speed_layer_ready(config),
        address=f"spark {config.spark_master}",
        start_timeout_s=180.0,
        stop_signal="INT",
        stop_wait_s=60,
        environment=submit_env(config),
        needs_schema=True,
    )


def postgres(config: Config) -> Service:
    """PostgreSQL (Debian's server binaries), Airflow's metadata database: a cluster of
    the local run's own under ``<state>/data/postgres``, loopback only. Stopped with
    SIGINT (PostgreSQL's fast shutdown: clients are disconnected, nothing is lost)."""
    return Service(
        name="postgres",
        command=pg.server_command(config),
        ports={"sql": config.postgres_port},
        ready=lambda: pg.ready(config),
        address=f"postgresql://{config.postgres_host}:{config.postgres_port}",
        prepare=lambda: pg.init_cluster(config),
        start_timeout_s=60.0,
        stop_signal="INT",
        stop_wait_s=60,
        user=pg.run_as(),
    )


def airflow_part(config: Config, name: str) -> Service:
    """One part of Airflow (:data:`stack.airflow.PARTS`), started through
    ``python -m stack.airflow run <part>``, which adds ``airflow_env`` to the config and
    execs the Airflow command (same process: the supervisor's signals reach it). The API
    server's preparation creates and migrates the metadata
    database, so it runs before any part starts; ready when the API server's health report
    says the part is healthy. Parts stop on SIGTERM (the scheduler lets its running task
    processes finish first, up to ``stop_wait_s``)."""
    def prepare() -> None:
        prepare_home(config)
        if name == "airflow-api":
            migrate(config)

    return Service(
        name=name,
        command=[sys.executable, "-m", "stack.airflow", "run", name],
        ports={"http": config.airflow_port} if name == "airflow-api" else {},
        ready=lambda: part_ready(config, PARTS[name]),
        address=ui_url(config) if name == "airflow-api" else f"{PARTS[name]} heartbeat",
        prepare=prepare,
        start_timeout_s=max(config.start_timeout_s, 180.0),
        stop_signal="TERM",
        stop_wait_s=60,
        environment=config.to_env(),
        needs_stores=True,
    )


def demo_traffic(config: Config) -> Service:
    """The demo site's visits posted as they happen (:mod:`stack.demo_live`); ready while
    its progress file is fresh (it waits for the demo seed of ``make run`` first)."""
    from stack import demo_live

    return Service(
        name="demo-traffic",
        command=[sys.executable, "-m", "stack.demo_live", title_marker(config)],
        ports={},
        ready=lambda: demo_live.ready(config),
        address=f"posts to {config.collect_path} every {demo_live.INTERVAL_S:g} s",
        start_timeout_s=60.0,
        stop_signal="INT",
        stop_wait_s=10,
        environment=config.to_env(),
        needs_schema=True,
    )


def services(config: Config) -> dict[str, Service]:
    """Every service of the local run, in start order (the demo site's live traffic only
    when the demo is on: ``ANALYTICS_SERVE_DEMO``)."""
    chosen = (kafka(config), cassandra(config), postgres(config), write_api(config),
              read_api(config), speed_layer(config),
              *(airflow_part(config, name) for name in PARTS),
              *((demo_traffic(config),) if config.serve_demo else ()))
    return {s.name: s for s in chosen}
