"""Start, stop and inspect the local run.

* start is a no-op for a service that is already running and ready;
* a service is ready only when it answers (a Kafka metadata request, a CQL query);
* a stale PID file, processes left behind by a supervisor that died, a port taken by
  someone else, or a service that dies while starting give a clear message, never a hang.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass

import psutil

from analytics.config import Config
from stack import process_groups, settings
from stack.airflow import PARTS, airflow_home, pgid_file
from stack.postgres import data_dir as postgres_data_dir
from stack.services import Layout, Service, marker, services, title_marker
from stack.supervisor import DOWN_STATES, RUNNING, Supervisor


class StackError(RuntimeError):
    """Something the person running the stack has to act on; the message says what."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str
    pid: int
    ready: bool
    address: str
    log: str
    stale_settings: tuple[str, ...] = ()
    """Settings that changed since the service started (restart it to apply them)."""


def start(config: Config, names: list[str] | None = None, log=print) -> None:
    """Start services (all by default): the stores first, then the services that need
    only the stores (Airflow), then — once the schema they need is applied — the services
    that use it. A chosen service that runs with other settings than ``config``'s is
    restarted with them."""
    svcs = services(config)
    chosen = _chosen(svcs, names)
    sup = Supervisor(config, svcs)
    Layout(config).make()
    if sup.pid() is None:
        for note in sup.clear_stale():
            log(note)
        for note in stop_leftovers(config):
            log(note)
        sup.launch()
    else:
        for name in sup.reload(restart=frozenset(chosen)):
            log(f"{name}: restarting with changed settings")
    stores = [n for n in chosen if not (svcs[n].needs_schema or svcs[n].needs_stores)]
    after_stores = [n for n in chosen if svcs[n].needs_stores]
    users = [n for n in chosen if svcs[n].needs_schema]
    for wave in _waves([svcs[n] for n in stores]):
        _start_and_wait(sup, wave, log)
    _start_and_wait(sup, [svcs[n] for n in after_stores], log)
    if users:
        from stack.schema import apply_schema, ensure_demo_site

        apply_schema(config, log=log)
        ensure_demo_site(config, log=log)
        _start_and_wait(sup, [svcs[n] for n in users], log)


def restart(config: Config, names: list[str] | None = None, log=print) -> None:
    """Stop and start services (all by default) with the current settings."""
    svcs = services(config)
    chosen = _chosen(svcs, names)
    sup = Supervisor(config, svcs)
    if sup.pid() is not None:
        for name in reversed(chosen):
            if sup.state(name) not in DOWN_STATES:
                log(f"{name}: stopping")
                sup.stop(name)
    start(config, chosen, log=log)


def started_with(config: Config, name: str) -> dict | None:
    """The command line and environment a running service was started with (None: not
    known), as ``{"command": [...], "environment": {...}}``."""
    try:
        return json.loads(_settings_record(config, name).read_text())
    except (FileNotFoundError, ValueError):
        return None


def stale_settings(config: Config, service: Service) -> list[str]:
    """What changed since ``service`` started: its settings (names) and/or ``command``."""
    before = started_with(config, service.name)
    if before is None:
        return []
    changed = settings.diff(before.get("environment", {}), service.environment)
    if before.get("command") != service.command:
        changed.append("command")
    return changed


def _settings_record(config: Config, name: str):
    return Layout(config).run / f"{name}.settings.json"


def _record_settings(service: Service, config: Config) -> None:
    record = {"command": service.command, "environment": service.environment}
    _settings_record(config, service.name).write_text(json.dumps(record, indent=1))


def _waves(chosen: list[Service]) -> list[list[Service]]:
    """``chosen`` in groups started one after the other: a service comes in a group after
    those it starts after (``Service.after``) that are chosen too."""
    names = {s.name for s in chosen}
    placed: set[str] = set()
    waves, left = [], list(chosen)
    while left:
        wave = [s for s in left if all(d in placed or d not in names for d in s.after)]
        if not wave:
            raise StackError(f"services wait for each other: {[s.name for s in left]}")
        waves.append(wave)
        placed |= {s.name for s in wave}
        left = [s for s in left if s.name not in placed]
    return waves


def _start_and_wait(sup: Supervisor, chosen: list[Service], log) -> None:
    began = time.monotonic()
    waiting = []
    for service in chosen:  # launch everything first, then wait: start-up runs in parallel
        state = sup.state(service.name)
        if state == RUNNING and service.ready():
            log(f"{service.name}: already running at {service.address}")
            continue
        if state in DOWN_STATES:
            _check_ports(service)
            _prepare(service)
            sup.start(service.name)
            _record_settings(service, sup.config)
        waiting.append(service)
    for service in waiting:
        _wait_ready(service, sup, began)
        log(f"{service.name}: ready at {service.address} ({time.monotonic() - began:.1f} s)")


def stop(config: Config, names: list[str] | None = None, log=print) -> None:
    """Stop services (all by default); with all stopped, supervisord exits too."""
    svcs = services(config)
    sup = Supervisor(config, svcs)
    if sup.pid() is not None:
        for name in reversed(_chosen(svcs, names)):
            if sup.state(name) not in DOWN_STATES:
                log(f"{name}: stopping")
                sup.stop(name)
        if names is None or all(sup.state(n) in DOWN_STATES for n in svcs):
            sup.shutdown()
    if names is None:
        for note in sup.clear_stale():
            log(note)
        for note in stop_leftovers(config):
            log(note)
    log("stopped")


def status(config: Config) -> list[ServiceStatus]:
    svcs = services(config)
    sup = Supervisor(config, svcs)
    layout = Layout(config)
    rows = []
    for name, service in svcs.items():
        info = sup.info(name)
        state = info["statename"]
        stale = stale_settings(config, service) if state == RUNNING else []
        rows.append(ServiceStatus(
            name=name, state=state, pid=int(info.get("pid") or 0),
            ready=state == RUNNING and service.ready(), address=service.address,
            log=str(layout.log_file(name)), stale_settings=tuple(stale)))
    return rows


def leftovers(config: Config) -> list[psutil.Process]:
    """Processes of this state folder that run without their supervisord: tagged on
    their command line (JVMs, gunicorn), or Airflow processes of this state's
    AIRFLOW_HOME (including task processes a killed scheduler left behind)."""
    tag = marker(config)
    title = re.compile(re.escape(title_marker(config)) + r"(\]|\s|$)")
    home = str(airflow_home(config))
    cluster = str(postgres_data_dir(config))  # PostgreSQL's command line names its folder
    groups = set()
    for part in PARTS:  # Airflow's parts record their process groups
        try:
            groups.add(int(pgid_file(config, part).read_text().strip()))
        except (FileNotFoundError, ValueError):
            pass
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if (tag in cmdline or cluster in cmdline
                or any(title.search(part) for part in cmdline)):
            found.append(proc)
            continue
        try:
            if os.getpgid(proc.pid) in groups:
                found.append(proc)
                continue
        except (ProcessLookupError, PermissionError):
            continue
        try:
            if proc.environ().get("AIRFLOW_HOME") == home:
                found.append(proc)
        except (psutil.Error, OSError):
            pass
    return found


def stop_leftovers(config: Config, timeout: float = 90.0) -> list[str]:
    procs = leftovers(config)
    notes = [f"stopping pid {p.pid} ({_describe(p)}), left running by an earlier run "
             "whose supervisor is gone" for p in procs]
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        proc.kill()
    psutil.wait_procs(alive, timeout=10)
    for part in PARTS:  # what is left of a killed Airflow part's process group
        notes += process_groups.end_recorded(pgid_file(config, part))
    return notes


def _chosen(svcs: dict[str, Service], names: list[str] | None) -> list[str]:
    if not names:
        return list(svcs)
    unknown = [n for n in names if n not in svcs]
    if unknown:
        raise StackError(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(svcs)}")
    return [n for n in svcs if n in names]


def port_taken_by(port: int, host: str = "0.0.0.0") -> str | None:
    """None when ``port`` is free on ``host`` (every address by default); else who holds
    it (pid and program)."""
    if _port_free(port, host):
        return None
    owner = _port_owner(port, host)
    return f"pid {owner.pid} ({_describe(owner)})" if owner else "another process"


def _check_ports(service: Service) -> None:
    for purpose, port in service.ports.items():
        who = port_taken_by(port, service.bind_host)
        if who is None:
            continue
        raise StackError(
            f"cannot start {service.name}: port {port} ({purpose}) is already in use by "
            f"{who}. Stop that process, or choose another port with the "
            f"ANALYTICS_* port settings (see README, Configuration).")


def _prepare(service: Service) -> None:
    try:
        service.prepare()
    except subprocess.CalledProcessError as exc:
        output = (exc.stdout or "") + (exc.stderr or "")
        raise StackError(f"preparing {service.name} failed ({' '.join(exc.cmd[-4:])}):\n"
                         f"{output[-2000:]}") from None
    except RuntimeError as exc:  # e.g. `airflow db migrate` failed, PostgreSQL not up
        raise StackError(f"preparing {service.name} failed: {exc}") from None


def _port_free(port: int, host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _port_owner(port: int, host: str) -> psutil.Process | None:
    wildcard = ("0.0.0.0", "::")
    try:
        for conn in psutil.net_connections(kind="inet"):
            if not conn.laddr or conn.laddr.port != port or conn.status != psutil.CONN_LISTEN:
                continue
            if host in wildcard or conn.laddr.ip in (host, *wildcard):
                return psutil.Process(conn.pid) if conn.pid else None
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        return None
    return None


def _describe(proc: psutil.Process) -> str:
    try:
        cmd = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?"
    main = next((part for part in reversed(cmd) if not part.startswith("-")), "")
    return f"{cmd[0] if cmd else '?'} ... {main}"[:160]


def _wait_ready(service: Service, sup: Supervisor, began: float) -> None:
    deadline = began + service.start_timeout_s
    log_file = Layout(sup.config).log_file(service.name)
    while True:
        state = sup.state(service.name)
        if state == RUNNING and service.ready():  # RUNNING: up for supervisord's startsecs
            return
        if state in DOWN_STATES:
            raise StackError(
                f"{service.name} stopped while starting (state {state}). "
                f"Last lines of {log_file}:\n{_tail(log_file)}")
        if time.monotonic() > deadline:
            raise StackError(
                f"{service.name} did not become ready within {service.start_timeout_s:.0f} s "
                f"(state {state}). Last lines of {log_file}:\n{_tail(log_file)}")
        time.sleep(1.0)


def _tail(path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log yet)"
