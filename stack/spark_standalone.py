"""A Spark standalone cluster of the local run: a master at ``spark_master``
(spark://host:port) and ``local_spark_workers`` workers, from pyspark's own distribution
(``bin/spark-class``, the jars the jobs are built against). None when ``spark_master`` is
local[N].

The master's web UI (and its JSON status) is at the master port + 1, worker i's at the
master port + 1 + i; worker i listens on 127.0.0.(i + 1). The workers share this machine's
disk, so the speed layer's checkpoints under the state folder are on a path every worker
sees, as a cluster needs them to be (HDFS, S3 or NFS elsewhere).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from analytics.config import REPO_ROOT, Config
from analytics.spark_session import is_local_master
from stack.service_spec import Layout, Service, marker

DAEMON_MEMORY = "256m"
"""Heap of the master and worker daemons (they only schedule; executors get their own)."""


def master_address(config: Config) -> tuple[str, int]:
    parts = urlsplit(config.spark_master)
    if parts.scheme != "spark" or not parts.hostname or not parts.port:
        raise ValueError(f"not a standalone master URL: {config.spark_master!r}")
    return parts.hostname, parts.port


def master_ui(config: Config) -> str:
    host, port = master_address(config)
    return f"http://{host}:{port + 1}"


def master_status(config: Config, timeout: float = 2.0) -> dict | None:
    """The master's JSON status (its workers and applications), None when it is down."""
    try:
        with urllib.request.urlopen(f"{master_ui(config)}/json/", timeout=timeout) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError):
        return None


def worker_host(i: int) -> str:
    return f"127.0.0.{i + 1}"


def _worker_alive(config: Config, i: int) -> bool:
    status = master_status(config) or {}
    return any(w.get("host") == worker_host(i) and w.get("state") == "ALIVE"
               for w in status.get("workers", []))


def _spark_class() -> str:
    from pyspark.find_spark_home import _find_spark_home

    return str(Path(_find_spark_home()) / "bin" / "spark-class")


def _environment(config: Config) -> dict[str, str]:
    """What the daemons and the executors they start run with: the venv's Python for
    the Python workers and the repo on their path (``analytics``, as the driver has it)."""
    return {"SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
            "SPARK_DAEMON_JAVA_OPTS": marker(config),
            "SPARK_LOG_DIR": str(Layout(config).logs),
            "SPARK_LOCAL_DIRS": str(config.spark_local_path),
            "PYSPARK_PYTHON": sys.executable,
            "PYTHONPATH": str(REPO_ROOT)}


def spark_cluster(config: Config) -> list[Service]:
    if is_local_master(config.spark_master) or not config.local_spark_workers:
        return []
    host, port = master_address(config)
    master = Service(
        name="spark-master",
        command=[_spark_class(), "org.apache.spark.deploy.master.Master",
                 "--host", host, "--port", str(port), "--webui-port", str(port + 1)],
        ports={"spark": port, "ui": port + 1},
        bind_host=host,
        ready=lambda: master_status(config) is not None,
        address=config.spark_master,
        prepare=lambda: config.spark_local_path.mkdir(parents=True, exist_ok=True),
        start_timeout_s=60.0,
        # cores an application gets (none of ours sets spark.cores.max): 2 of the
        # workers' 4, so the always-running speed layer leaves room for a batch job
        environment={**_environment(config),
                     "SPARK_MASTER_OPTS": "-Dspark.deploy.defaultCores=2"},
    )
    return [master, *(_worker(config, i) for i in range(1, config.local_spark_workers + 1))]


def _worker(config: Config, i: int) -> Service:
    _, port = master_address(config)
    work = config.state_dir / "spark" / f"worker-{i}"
    return Service(
        name=f"spark-worker-{i}",
        command=[_spark_class(), "org.apache.spark.deploy.worker.Worker",
                 "--host", worker_host(i), "--cores", str(config.spark_worker_cores),
                 "--memory", config.spark_worker_memory, "--work-dir", str(work),
                 "--webui-port", str(port + 1 + i), config.spark_master],
        ports={"ui": port + 1 + i},
        bind_host=worker_host(i),
        ready=lambda: _worker_alive(config, i),
        address=f"{worker_host(i)} ({config.spark_worker_cores} cores, "
                f"{config.spark_worker_memory})",
        prepare=lambda: work.mkdir(parents=True, exist_ok=True),
        start_timeout_s=60.0,
        environment=_environment(config),
        after=("spark-master",),
        restart_on_crash=False,
    )
