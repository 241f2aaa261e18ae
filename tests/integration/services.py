"""Services the integration tests start themselves: the write service under gunicorn and
the speed layer under spark-submit, each for a config of the test's own; and HTTP helpers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from analytics.config import REPO_ROOT, Config
from analytics.spark_submit import submit_command, submit_env

CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/141.0.0.0 Safari/537.36")


class Gunicorn:
    """One write service process tree (gunicorn master + workers) for a config."""

    def __init__(self, config: Config):
        self.config = config
        self.base = f"http://{config.write_api_host}:{config.write_api_port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Gunicorn:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
        env.update(self.config.to_env())
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.config.state_dir / "write-api.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "api/write/gunicorn_conf.py",
             "api.write.asgi:app"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
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
        raise RuntimeError("write service did not answer")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def http(method: str, url: str, body: bytes | str | None = None, headers: dict | None = None):
    """(status, headers with lower-case names, body bytes); 4xx/5xx do not raise."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"User-Agent": CHROME_UA, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read()


def _lower(headers) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def post_json(url: str, payload, headers: dict | None = None):
    status, resp_headers, body = http("POST", url, json.dumps(payload),
                                      {"Content-Type": "text/plain", **(headers or {})})
    return status, resp_headers, json.loads(body) if body else None


class SpeedLayer:
    """The streaming job (streaming/job.py) under spark-submit, in its own process group so
    a test can kill every process of it at once, as a crash would."""

    def __init__(self, config: Config, name: str = "speed-layer"):
        self.config = config
        self.log_path = config.state_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180.0) -> SpeedLayer:
        from streaming.progress import read_status, status_file

        status_file(self.config).unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
        env.update(submit_env(self.config))
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            submit_command(self.config, REPO_ROOT / "streaming" / "job.py", "test-speed-layer"),
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
