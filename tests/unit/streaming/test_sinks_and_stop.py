"""The speed layer riding out a Cassandra node going away: a micro-batch's write is tried
again, and a job that cannot stop exits anyway (found by the cluster drills)."""

from __future__ import annotations

import threading

import pytest

from analytics.config import Config
from streaming.job import stop_within
from streaming.sinks import CassandraTables
from streaming.stall import StallWatch


class FlakyWrite:
    def __init__(self, failures: int):
        self.failures, self.calls = failures, []

    def __call__(self, rows, keyspace, table, ttl_s=None):
        self.calls.append((rows, keyspace, table, ttl_s))
        if len(self.calls) <= self.failures:
            raise RuntimeError("Control channel not available, aborting schema refresh")


def test_a_failed_write_is_tried_again_after_each_wait(capsys):
    write, slept = FlakyWrite(failures=2), []
    tables = CassandraTables(Config(cassandra_keyspace="ks"), write=write,
                             sleep=slept.append, waits=(2.0, 5.0, 10.0))
    tables.write("rows", "realtime_views", ttl_s=60)
    assert write.calls == [("rows", "ks", "realtime_views", 60)] * 3
    assert slept == [2.0, 5.0]
    assert "writing realtime_views failed (attempt 2), again in 5 s" in capsys.readouterr().err


def test_the_last_failure_is_raised():
    write, slept = FlakyWrite(failures=9), []
    tables = CassandraTables(Config(), write=write, sleep=slept.append, waits=(1.0, 1.0))
    with pytest.raises(RuntimeError, match="Control channel"):
        tables.write("rows", "raw_event_chunks")
    assert len(write.calls) == 3 and slept == [1.0, 1.0]


def test_a_stop_that_returns_does_not_exit():
    exits, done = [], []
    stop_within(5.0, lambda: done.append(True), exit=exits.append)
    assert done == [True] and exits == []


def test_a_stop_that_hangs_exits_with_status_1():
    exits, hang = [], threading.Event()
    stop_within(0.2, hang.wait, exit=exits.append)
    hang.set()
    assert exits == [1]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_micro_batch_running_too_long_is_a_stall():
    clock = Clock()
    watch = StallWatch(120.0, clock)
    assert not watch.stalled("q", 7, active=True)      # batch 8 starts
    clock.now = 120.0
    assert not watch.stalled("q", 7, active=True)      # 120 s: not over the limit
    clock.now = 120.5
    assert watch.stalled("q", 7, active=True)          # still batch 8, 120.5 s on


def test_batches_that_finish_or_idle_time_are_no_stall():
    clock = Clock()
    watch = StallWatch(120.0, clock)
    for second in range(0, 1000, 100):  # a new batch finished at every look
        clock.now = float(second)
        assert not watch.stalled("q", second, active=True)
    watch.stalled("q", 5, active=True)
    clock.now = 5000.0
    assert not watch.stalled("q", 5, active=False)     # no data: no trigger running
    assert not watch.stalled("q", 5, active=True)      # a new trigger starts its clock
    clock.now = 5100.0
    assert not watch.stalled("q", 5, active=True)
    assert not watch.stalled("other", 1, active=True)  # queries are watched apart
