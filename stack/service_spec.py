"""What a service of the local run is (:class:`Service`), where its files live
(:class:`Layout`), how its processes are tagged and its config files rendered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from analytics.config import Config

TEMPLATES = Path(__file__).with_name("templates")


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
    bind_host: str = "0.0.0.0"
    """The address its ports are on (a local cluster's node has its own loopback
    address); the ports must be free there before it starts."""
    after: tuple[str, ...] = ()
    """Started only once these services (when started in the same call) are ready: the
    nodes of a new Cassandra cluster join one at a time."""
    restart_on_crash: bool = True
    """The supervisor restarts the process when it dies unexpectedly. Off for the nodes
    of a local cluster: a node killed in a fault drill stays down, like a lost machine,
    until it is started again."""


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


def classpath(*folders: Path) -> str:
    return ":".join(str(f) if f.suffix == ".jar" or f.name.endswith("*") else f"{f}/*"
                    for f in folders)
