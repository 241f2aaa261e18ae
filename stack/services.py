"""The services of the local run: how each is started, where it listens, when it is ready.

A service is described once here; ``stack.supervisor`` runs it under supervisord and
``stack.lifecycle`` starts, checks and stops it. :func:`services` lists them in start
order: the stores (Kafka, Cassandra, PostgreSQL) first, then the write and read services,
the speed layer and Airflow's parts.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from analytics.config import REPO_ROOT, Config
from analytics.spark_apps import SPEED_LAYER
from analytics.spark_submit import submit_command, submit_env
from stack import postgres as pg
from stack.airflow import PARTS, migrate, part_ready, prepare_home, ui_url
from stack.launch import GunicornService, ReadService, WriteService
from stack.nodes import cassandra_nodes, kafka_nodes
from stack.service_spec import (  # noqa: F401  (re-exported: the stack's modules use them)
    Layout,
    Service,
    marker,
    render,
    title_marker,
)
from stack.spark_standalone import spark_cluster


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
    chosen = (*kafka_nodes(config), *cassandra_nodes(config), *spark_cluster(config),
              postgres(config), write_api(config), read_api(config), speed_layer(config),
              *(airflow_part(config, name) for name in PARTS),
              *((demo_traffic(config),) if config.serve_demo else ()))
    return {s.name: s for s in chosen}
