"""The ad-hoc job's bookkeeping (batch/adhoc.py main) without Spark or Cassandra: every
way it ends is recorded, and its run slot is given back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

import batch.adhoc as job_module
from analytics.config import Config
from analytics.storage.adhoc_jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, JobRow

JOB = JobRow(job_id="j1", site_id="s.example", kind="funnel", spec={}, spec_key="k",
             status=QUEUED, slot=1, submitted_at=datetime(2026, 11, 26, tzinfo=UTC))


class Store:
    def __init__(self, job: JobRow, flaky_writes: int = 0):
        self.job, self.flaky_writes = job, flaky_writes
        self.released: list[str] = []

    def get(self, job_id):
        return self.job

    def start(self, job_id, now):
        if self.job.status != QUEUED:
            return False
        self.job = replace(self.job, status=RUNNING, started_at=now)
        return True

    def _move(self, was, status, **fields):
        applied = self.job.status == was
        if applied:
            self.job = replace(self.job, status=status, **fields)
        if self.flaky_writes:  # applied, but the answer is lost (a client timeout)
            self.flaky_writes -= 1
            raise TimeoutError("client request timeout")
        return applied

    def succeed(self, job_id, now, result, events_read):
        return self._move(RUNNING, SUCCEEDED, events_read=events_read)

    def fail(self, job_id, now, error, was):
        return self._move(was, FAILED, error=error)

    def release(self, job):
        self.released.append(job.job_id)


@pytest.fixture
def run(monkeypatch):
    class Cluster:
        def shutdown(self):
            pass

    monkeypatch.setattr(job_module.Config, "from_env", classmethod(lambda cls: Config()))
    monkeypatch.setattr(job_module, "connect", lambda config, keyspace: (Cluster(), None))
    monkeypatch.setattr(job_module.time, "sleep", lambda s: None)

    def run_with(store: Store, compute) -> int:
        monkeypatch.setattr(job_module, "AdhocJobStore", lambda session, keyspace: store)
        monkeypatch.setattr(job_module, "compute", compute)
        return job_module.main(["--job-id", "j1"])

    return run_with


def answer(config, session, job):
    return {"columns": [], "rows": [], "meta": {"compute_seconds": 1.0}}, 17


def test_a_job_that_succeeds(run):
    store = Store(JOB)
    assert run(store, answer) == 0
    assert (store.job.status, store.job.events_read, store.released) == (SUCCEEDED, 17, ["j1"])


def test_a_result_write_that_timed_out_but_was_applied_counts(run):
    store = Store(JOB, flaky_writes=1)
    assert run(store, answer) == 0
    assert store.job.status == SUCCEEDED


@pytest.mark.parametrize(("error", "reason"), [
    (RuntimeError("boom\n  at org.apache.spark..."), "RuntimeError: boom"),
    (job_module.JobFailed("site 's.example' no longer exists"),
     "site 's.example' no longer exists"),
    (SystemExit("stopped by signal SIGTERM"), "SystemExit: stopped by signal SIGTERM"),
    (KeyboardInterrupt(), "KeyboardInterrupt: (no message)"),
])
def test_every_failure_is_recorded_with_its_reason(run, error, reason):
    def broken(config, session, job):
        raise error

    store = Store(JOB)
    assert run(store, broken) == 1
    assert (store.job.status, store.job.error, store.released) == (FAILED, reason, ["j1"])


def test_a_job_that_is_not_queued_does_nothing(run):
    store = Store(replace(JOB, status=FAILED, error="did not start within 300 s"))
    assert run(store, answer) == 1
    assert (store.job.status, store.released) == (FAILED, [])
