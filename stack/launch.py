"""Services started for one config, outside the local run's supervisor: the write service
under gunicorn and the speed layer under spark-submit. The integration tests and the
benchmarks use these to run services on their own topics, keyspaces and ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil

from analytics.config import REPO_ROOT, Config
from analytics.spark_apps import SPEED_LAYER
from analytics.spark_submit import submit_command, submit_env


def tree_rss(pid: int) -> int:
    """Resident memory (bytes) of a process and all its children; 0 once it is gone."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
    env.update(extra)
    return env


class GunicornService:
    """One gunicorn process tree (master + workers) of a service for a config."""

    name, conf, app = "", "", ""

    def __init__(self, config: Config, host: str, port: int):
        self.config = config
        self.port = port
        self.base = f"http://{host}:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0):
        from stack.lifecycle import port_taken_by

        who = port_taken_by(self.port)
        if who is not None:  # else a server left behind would answer the readiness check
            raise RuntimeError(f"cannot start {self.name}: port {self.port} is in use by {who}")
        env = _environment(self.config.to_env())
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.config.state_dir / f"{self.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", self.conf, self.app],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {log.name}")
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=5)
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


class WriteService(GunicornService):
    name, conf, app = "write-api", "api/write/gunicorn_conf.py", "api.write.asgi:app"

    def __init__(self, config: Config):
        super().__init__(config, config.write_api_host, config.write_api_port)


class ReadService(GunicornService):
    name, conf, app = "read-api", "api/read/gunicorn_conf.py", "api.read.wsgi:app"

    def __init__(self, config: Config):
        super().__init__(config, config.read_api_host, config.read_api_port)


class SpeedLayerJob:
    """The streaming job (streaming/job.py) under spark-submit, in its own process group so
    a test can kill every process of it at once, as a crash would."""

    def __init__(self, config: Config, name: str = "speed-layer"):
        self.config = config
        self.log_path = config.state_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180.0) -> SpeedLayerJob:
        from streaming.progress import read_status, status_file

        status_file(self.config).unlink(missing_ok=True)
        env = _environment(submit_env(self.config))
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            submit_command(self.config, SPEED_LAYER.path(REPO_ROOT), SPEED_LAYER.name),
            cwd=REPO_ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"speed layer exited: {self.tail()}")
            status = read_status(self.config)
            if status and status["queries"] and all(
                    q["active"] for q in status["queries"].values()):
                return self
            time.sleep(0.5)
        self.kill()
        raise RuntimeError(f"speed layer did not start: {self.tail()}")

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown hook, no clean stop."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout: float = 60.0) -> int | None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode if self.proc else None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def rss_bytes(self) -> int:
        """Resident memory of every process of the job (JVM and Python driver)."""
        if not self.proc or self.proc.poll() is not None:
            return 0
        return tree_rss(self.proc.pid)
