"""Settings of the local run persist and are applied by a restart, through the same
commands a person types (``python -m stack ...``), on a private state folder with one
cheap service (PostgreSQL): a setting given once in the environment survives a later
start without it; editing the settings file marks the running service stale in
``status``; ``restart`` applies the change."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid

import psutil
import pytest

from analytics.config import REPO_ROOT, read_settings_file
from stack import settings

pytestmark = [pytest.mark.integration, pytest.mark.lifecycle]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def state():
    # inside the repository: the PostgreSQL server runs as the `postgres` user when the
    # tests run as root, and pytest's own temporary folders are private to root
    folder = REPO_ROOT / f".state-settings-{uuid.uuid4().hex[:6]}"
    yield folder
    _stack(folder, "stop")
    shutil.rmtree(folder, ignore_errors=True)


def _stack(state, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
    environ.update({"ANALYTICS_STATE_DIR": str(state), **env})
    done = subprocess.run([sys.executable, "-m", "stack", *args], cwd=REPO_ROOT, env=environ,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 3), done.stdout + done.stderr  # 3: status, not all ready
    return done


def _postgres_pid(state) -> int:
    row = next(line for line in _stack(state, "status").stdout.splitlines()
               if line.startswith("postgres "))
    return int(row.split()[2])


def test_a_setting_survives_a_restart_and_a_changed_one_is_applied(state):
    first, second = _free_port(), _free_port()
    started = _stack(state, "start", "postgres", ANALYTICS_POSTGRES_PORT=str(first))
    assert "settings: created" in started.stdout
    assert "wrote ANALYTICS_POSTGRES_PORT from the environment" in started.stdout
    assert _listening(first)
    pid = _postgres_pid(state)

    # started again without the variable: same settings, nothing restarted
    again = _stack(state, "start", "postgres")
    assert "postgres: already running" in again.stdout
    assert _postgres_pid(state) == pid and _listening(first)
    assert "settings changed" not in _stack(state, "status").stdout

    # the file is edited: status says the running service is stale, restart applies it
    settings.write(state / "settings.env", {"ANALYTICS_POSTGRES_PORT": str(second)})
    assert read_settings_file(state / "settings.env")["ANALYTICS_POSTGRES_PORT"] == str(second)
    status = _stack(state, "status").stdout
    assert "settings changed since these started: postgres" in status
    shown = _stack(state, "settings", "postgres").stdout
    assert f"ANALYTICS_POSTGRES_PORT={second}" in shown
    assert "postgres: started with other settings" in shown
    restarted = _stack(state, "restart", "postgres")
    assert "postgres: ready" in restarted.stdout
    assert _listening(second) and not _listening(first)
    assert _postgres_pid(state) != pid and not psutil.pid_exists(pid)
    assert "settings changed" not in _stack(state, "status").stdout
