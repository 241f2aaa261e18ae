"""Faults for the cluster drills, injected the hard way: a node's whole process group
killed with SIGKILL (a machine lost, executors and all), brought back later by the same
lifecycle that started it; and a reader that keeps asking the read API during a drill,
counting its answers."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from analytics.config import Config
from analytics.kafka_topics import admin_client
from stack import lifecycle
from stack.services import services
from stack.supervisor import Supervisor
from tests.cluster.pipeline import Pipeline, Story


def kill(config: Config, name: str) -> int:
    """SIGKILL service ``name`` and every process of its group; its PID."""
    pid = int(Supervisor(config, services(config)).info(name)["pid"])
    assert pid, f"{name} is not running"
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    return pid


def bring_back(config: Config, name: str) -> float:
    """Start ``name`` again and wait until it is ready; seconds it took."""
    began = time.monotonic()
    lifecycle.start(config, [name], log=lambda _: None)
    return time.monotonic() - began


def wait_restarted(config: Config, name: str, old_pid: int, timeout: float = 300.0) -> float:
    """Until the supervisor has restarted ``name`` (a new PID) and it is ready again."""
    began = time.monotonic()
    sup = Supervisor(config, services(config))
    service = services(config)[name]
    while time.monotonic() - began < timeout:
        info = sup.info(name)
        if info["statename"] == "RUNNING" and info["pid"] != old_pid and service.ready():
            return time.monotonic() - began
        time.sleep(1)
    raise AssertionError(f"{name} not back after {timeout} s")


def isr_full(config: Config) -> bool:
    """Every partition of the raw-events topic has all its replicas in sync."""
    topic = admin_client(config).list_topics(timeout=10).topics[config.topic_raw_events]
    return all(len(p.isrs) == len(p.replicas) for p in topic.partitions.values())


def wait_until(check, timeout: float = 300.0, every: float = 1.0) -> float:
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not true after {timeout} s: {check}")
        time.sleep(every)
    return time.monotonic() - began


@dataclass
class Reader:
    """A thread asking the read API for a story site's day and its last 30 minutes, one
    request after the other, until stopped: every answer's status with when it came
    (:meth:`statuses` counts them, over a span of time if given)."""

    pipeline: Pipeline
    story: Story
    answers: list[tuple[float, int | str]] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Reader:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)

    def _loop(self) -> None:
        query = {"site_id": self.story.site_id, "date_range": "custom",
                 "start": self.story.d.isoformat(), "end": self.story.d.isoformat(),
                 "metrics": ["visitors", "pageviews"]}
        while not self._stop.is_set():
            try:
                status, _, _ = self.pipeline.get_raw("/api/v1/realtime",
                                                     {"site_id": self.story.site_id})
                self.answers.append((time.monotonic(), status))
                status = self.pipeline.report_status("aggregate", query)
            except OSError as exc:
                status = type(exc).__name__
            self.answers.append((time.monotonic(), status))
            time.sleep(0.2)

    def statuses(self, between: tuple[float, float] | None = None) -> Counter:
        start, end = between or (0.0, float("inf"))
        return Counter(status for at, status in self.answers if start <= at <= end)

    def errors(self) -> int:
        return sum(n for status, n in self.statuses().items() if status != 200)
