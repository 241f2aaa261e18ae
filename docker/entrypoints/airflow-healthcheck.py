"""Container health checks of the Airflow services. Exit status 0 healthy, 1 not.

    airflow-healthcheck.py api-server      # /api/v2/monitor/health answers, metadata DB healthy
    airflow-healthcheck.py scheduler       # the scheduler's health server (:8974/health)
    airflow-healthcheck.py dag-processor   # a live DagProcessorJob on this host
    airflow-healthcheck.py triggerer       # a live TriggererJob on this host
    airflow-healthcheck.py worker          # this host's Celery worker answers a ping

The HTTP checks are cheap; the last three start the airflow/celery CLI (a few seconds of
CPU), as Airflow's own docker-compose does, so their interval is 30 s or more.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request

CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"
JOB_TYPES = {"dag-processor": "DagProcessorJob", "triggerer": "TriggererJob"}


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=8) as response:
        return json.loads(response.read() or b"{}")


def run(argv: list[str]) -> bool:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=45)
    if done.returncode != 0:
        print((done.stdout + done.stderr)[-2000:], file=sys.stderr)
    return done.returncode == 0


def healthy(component: str) -> bool:
    if component == "api-server":
        port = os.environ.get("AIRFLOW__API__PORT", "8080")
        health = get_json(f"http://127.0.0.1:{port}/api/v2/monitor/health")
        return (health.get("metadatabase") or {}).get("status") == "healthy"
    if component == "scheduler":
        port = os.environ.get("AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT", "8974")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=8) as response:
            return response.status == 200
    if component in JOB_TYPES:
        return run(["airflow", "jobs", "check", "--job-type", JOB_TYPES[component], "--local"])
    if component == "worker":
        return run(["celery", "--app", CELERY_APP, "inspect", "ping",
                    "--destination", f"celery@{socket.gethostname()}", "--timeout", "10"])
    raise SystemExit(f"unknown component {component!r}; one of api-server, scheduler, "
                     f"{', '.join(JOB_TYPES)}, worker")


if __name__ == "__main__":
    try:
        ok = healthy(sys.argv[1] if len(sys.argv) > 1 else "")
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        ok = False
    sys.exit(0 if ok else 1)
