"""supervisord as the process supervisor of the local run.

One supervisord per state folder, talking XML-RPC over a unix socket in ``<state>/run``.
Programs are rendered from :mod:`stack.services`; none starts on its own, the lifecycle
starts the ones asked for and checks their readiness itself.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

import psutil

from analytics.config import REPO_ROOT, Config
from stack.services import Layout, Service, render

RUNNING, STARTING = "RUNNING", "STARTING"
DOWN_STATES = {"STOPPED", "EXITED", "FATAL", "BACKOFF", "UNKNOWN", "ABSENT"}


class SupervisorError(RuntimeError):
    pass


def _program(service: Service, log_file: Path) -> str:
    command = " ".join(shlex.quote(part) for part in service.command).replace("%", "%%")
    lines = [
        f"[program:{service.name}]",
        f"command={command}",
        "autostart=false",
        f"autorestart={'unexpected' if service.restart_on_crash else 'false'}",
        "startsecs=1",
        "startretries=0",
        f"stopsignal={service.stop_signal}",
        f"stopwaitsecs={service.stop_wait_s}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={log_file}",
        "stdout_logfile_maxbytes=50MB",
        "stdout_logfile_backups=2",
    ]
    if service.user:
        lines.append(f"user={service.user}")
    if service.environment:
        env = ",".join(f'{k}="{v}"' for k, v in service.environment.items())
        lines.append(f"environment={env.replace('%', '%%')}")
    return "\n".join(lines) + "\n"


class Supervisor:
    def __init__(self, config: Config, services: dict[str, Service]):
        self.config = config
        self.services = services
        self.layout = Layout(config)
        self.conf_file = self.layout.conf / "supervisord.conf"
        self.pid_file = self.layout.run / "supervisord.pid"
        self.socket = self.layout.run / "supervisor.sock"

    # -- the supervisord process ----------------------------------------------------------
    def write_conf(self) -> None:
        programs = "\n".join(_program(s, self.layout.log_file(s.name))
                             for s in self.services.values())
        render("supervisord.conf", self.conf_file, run_dir=self.layout.run,
               log_dir=self.layout.logs, repo_root=REPO_ROOT,
               identifier=f"analytics:{self.config.state_dir}", programs=programs)
        self.conf_file.chmod(0o600)  # programs' environments hold the local run's secrets

    def recorded_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def pid(self) -> int | None:
        """The PID of this state folder's live supervisord, or None."""
        pid = self.recorded_pid()
        if pid is None:
            return None
        try:
            proc = psutil.Process(pid)
            cmdline = " ".join(proc.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if "supervisord" in cmdline and str(self.conf_file) in cmdline:
            return pid
        return None

    def clear_stale(self) -> list[str]:
        """Remove a PID file or socket left by a supervisord that is gone."""
        notes = []
        if self.pid_file.exists() and self.pid() is None:
            notes.append(f"removed stale PID file {self.pid_file} "
                         f"(pid {self.pid_file.read_text().strip() or '?'} is not running)")
            self.pid_file.unlink()
        if self.socket.exists() and self.pid() is None:
            self.socket.unlink()
        return notes

    def launch(self) -> int:
        self.layout.make()
        self.write_conf()
        done = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf_file)],
            capture_output=True, text=True, timeout=30, preexec_fn=_default_signals)
        if done.returncode != 0:
            raise SupervisorError(f"supervisord did not start: {done.stderr or done.stdout}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            pid = self.pid()
            if pid and self._answers():
                return pid
            time.sleep(0.2)
        raise SupervisorError(
            f"supervisord did not answer within 15 s; see {self.layout.logs}/supervisord.log")

    def shutdown(self, timeout: float = 30.0) -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            self.rpc().supervisor.shutdown()
        except Exception:
            os.kill(pid, signal.SIGTERM)
        try:
            psutil.Process(pid).wait(timeout)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    # -- programs ----------------------------------------------------------------------------
    def rpc(self):
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def _answers(self) -> bool:
        try:
            return self.rpc().supervisor.getState()["statename"] == "RUNNING"
        except Exception:
            return False

    def info(self, name: str) -> dict:
        if self.pid() is None:
            return {"statename": "ABSENT", "pid": 0}
        try:
            return self.rpc().supervisor.getProcessInfo(name)
        except xmlrpc.client.Fault:
            return {"statename": "ABSENT", "pid": 0}

    def state(self, name: str) -> str:
        return self.info(name)["statename"]

    def reload(self, restart: frozenset[str] = frozenset()) -> list[str]:
        """Apply a changed config to a running supervisord (new, changed and removed
        programs). A changed program that is stopped takes its new command and settings
        at once; one that is running only when it is in ``restart`` (it is stopped here
        and its name returned, for the caller to start it again); others keep running
        with what they were started with."""
        self.write_conf()
        rpc = self.rpc()
        added, changed, removed = rpc.supervisor.reloadConfig()[0]
        for name in removed:
            rpc.supervisor.stopProcessGroup(name)
            rpc.supervisor.removeProcessGroup(name)
        restarted = []
        for name in changed:
            if self.state(name) not in DOWN_STATES:
                if name not in restart:
                    continue
                restarted.append(name)
                self.stop(name)
            rpc.supervisor.removeProcessGroup(name)
            rpc.supervisor.addProcessGroup(name)
        for name in added:
            rpc.supervisor.addProcessGroup(name)
        return restarted

    def start(self, name: str) -> None:
        try:
            self.rpc().supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise SupervisorError(
                    f"supervisord could not start {name}: {fault.faultString}") from None

    def stop(self, name: str) -> None:
        try:
            self.rpc().supervisor.stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString and "BAD_NAME" not in fault.faultString:
                raise SupervisorError(
                    f"supervisord could not stop {name}: {fault.faultString}") from None


def _default_signals() -> None:
    """Undo SIGINT/SIGTERM being ignored by a background shell (inherited across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
