"""The ad-hoc job tables (migration 0007), shared by the read API, which submits and
polls jobs (``api/read/jobs.py``), and the Spark job that computes them
(``batch/adhoc.py``). No Spark, no Falcon: Cassandra driver calls only.

Status moves queued -> running -> succeeded | failed. Each move is a lightweight
transaction conditioned on the status it leaves, so whichever process moves a job first
wins: a job the read API reported as timed out stays failed even if its Spark process
finishes later, and a job launched twice starts once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
FINAL = frozenset({SUCCEEDED, FAILED})
ERROR_MAX_CHARS = 2000

_JOB_COLUMNS = ("job_id, site_id, kind, spec, spec_key, status, slot, submitted_at, "
                "started_at, finished_at, error, events_read, log_path, owner")


@dataclass(frozen=True)
class JobRow:
    """A job as stored, without its result (which may be large)."""

    job_id: str
    site_id: str
    kind: str
    spec: dict
    spec_key: str
    status: str
    slot: int | None = None
    submitted_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    events_read: int | None = None
    log_path: str | None = None
    owner: str | None = None
    """Who submitted it (``token:<token_id>``, ``user:<email>``; migration 0009), for the
    read API's per-caller limit."""


def utc(value: datetime | None) -> datetime | None:
    """The driver returns naive UTC timestamps; make them aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def iso(instant: datetime | None) -> str | None:
    """An instant as ISO 8601 UTC with milliseconds (``2026-11-26T18:20:27.123Z``)."""
    if instant is None:
        return None
    return utc(instant).astimezone(UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class AdhocJobStore:
    """The tables of one keyspace, through a driver session."""

    def __init__(self, session, keyspace: str):
        self.session = session
        self.ks = keyspace

    # -- jobs -----------------------------------------------------------------------------

    def insert(self, job: JobRow) -> None:
        self.session.execute(
            f"INSERT INTO {self.ks}.adhoc_jobs (job_id, site_id, kind, spec, spec_key, "
            "status, submitted_at, log_path, owner) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (job.job_id, job.site_id, job.kind, json.dumps(job.spec, sort_keys=True),
             job.spec_key, job.status, job.submitted_at, job.log_path, job.owner))

    def delete(self, job_id: str) -> None:
        """Forget a job that was never launched (a submit that lost a race or found no
        free slot)."""
        self.session.execute(f"DELETE FROM {self.ks}.adhoc_jobs WHERE job_id = %s", (job_id,))

    def get(self, job_id: str) -> JobRow | None:
        row = self.session.execute(
            f"SELECT {_JOB_COLUMNS} FROM {self.ks}.adhoc_jobs WHERE job_id = %s",
            (job_id,)).one()
        if row is None or row.status is None:
            return None
        return JobRow(
            job_id=row.job_id, site_id=row.site_id, kind=row.kind,
            spec=json.loads(row.spec), spec_key=row.spec_key, status=row.status,
            slot=row.slot, submitted_at=utc(row.submitted_at),
            started_at=utc(row.started_at), finished_at=utc(row.finished_at),
            error=row.error, events_read=row.events_read, log_path=row.log_path,
            owner=row.owner)

    def result(self, job_id: str) -> dict | None:
        row = self.session.execute(
            f"SELECT result FROM {self.ks}.adhoc_jobs WHERE job_id = %s", (job_id,)).one()
        return json.loads(row.result) if row is not None and row.result else None

    def set_slot(self, job_id: str, slot: int) -> None:
        self.session.execute(f"UPDATE {self.ks}.adhoc_jobs SET slot = %s WHERE job_id = %s",
                             (slot, job_id))

    def start(self, job_id: str, now: datetime) -> bool:
        """queued -> running; False when the job is not queued (any more)."""
        return self._move(job_id, QUEUED, "status = %s, started_at = %s", (RUNNING, now))

    def succeed(self, job_id: str, now: datetime, result: dict, events_read: int) -> bool:
        """running -> succeeded with the result; False when it was no longer running."""
        return self._move(job_id, RUNNING,
                          "status = %s, finished_at = %s, result = %s, events_read = %s",
                          (SUCCEEDED, now, json.dumps(result), events_read))

    def fail(self, job_id: str, now: datetime, error: str, was: str) -> bool:
        """``was`` (queued or running) -> failed with the reason."""
        return self._move(job_id, was, "status = %s, finished_at = %s, error = %s",
                          (FAILED, now, error[:ERROR_MAX_CHARS]))

    def _move(self, job_id: str, was: str, assignments: str, values: tuple) -> bool:
        done = self.session.execute(
            f"UPDATE {self.ks}.adhoc_jobs SET {assignments} WHERE job_id = %s "
            "IF status = %s", (*values, job_id, was))
        return done.was_applied

    # -- the jobs of one question ---------------------------------------------------------

    def index(self, job: JobRow) -> None:
        self.session.execute(
            f"INSERT INTO {self.ks}.adhoc_jobs_by_spec (site_id, spec_key, submitted_at, "
            "job_id) VALUES (%s, %s, %s, %s)",
            (job.site_id, job.spec_key, job.submitted_at, job.job_id))

    def recent(self, site_id: str, spec_key: str, limit: int = 10) -> list[str]:
        """Job ids of the question, newest first."""
        rows = self.session.execute(
            f"SELECT job_id FROM {self.ks}.adhoc_jobs_by_spec WHERE site_id = %s AND "
            "spec_key = %s LIMIT %s", (site_id, spec_key, limit))
        return [r.job_id for r in rows]

    def claim_active(self, site_id: str, spec_key: str, job_id: str, ttl_s: int,
                     ) -> str | None:
        """Make ``job_id`` the question's one unfinished job: None when it now is, else
        the id of the job that already holds it."""
        done = self.session.execute(
            f"INSERT INTO {self.ks}.adhoc_active (site_id, spec_key, job_id) "
            "VALUES (%s, %s, %s) IF NOT EXISTS USING TTL %s",
            (site_id, spec_key, job_id, ttl_s))
        return None if done.was_applied else done.one().job_id

    def release_active(self, site_id: str, spec_key: str, job_id: str) -> None:
        self.session.execute(
            f"DELETE FROM {self.ks}.adhoc_active WHERE site_id = %s AND spec_key = %s "
            "IF job_id = %s", (site_id, spec_key, job_id))

    # -- run slots ------------------------------------------------------------------------

    def claim_slot(self, job_id: str, slots: int, ttl_s: int, now: datetime) -> int | None:
        """The first free slot below ``slots``, now held by ``job_id``; None if all are
        taken."""
        for slot in range(slots):
            done = self.session.execute(
                f"INSERT INTO {self.ks}.adhoc_slots (slot, job_id, claimed_at) "
                "VALUES (%s, %s, %s) IF NOT EXISTS USING TTL %s", (slot, job_id, now, ttl_s))
            if done.was_applied:
                return slot
        return None

    def slot_holders(self, slots: int) -> dict[int, str]:
        if slots <= 0:
            return {}
        numbers = ", ".join(str(n) for n in range(slots))  # ints: safe to inline
        rows = self.session.execute(
            f"SELECT slot, job_id FROM {self.ks}.adhoc_slots WHERE slot IN ({numbers})")
        return {r.slot: r.job_id for r in rows}

    def release_slot(self, slot: int, job_id: str) -> None:
        self.session.execute(
            f"DELETE FROM {self.ks}.adhoc_slots WHERE slot = %s IF job_id = %s",
            (slot, job_id))

    def release(self, job: JobRow) -> None:
        """Give back what an unfinished job holds (its slot, the question's claim)."""
        if job.slot is not None:
            self.release_slot(job.slot, job.job_id)
        self.release_active(job.site_id, job.spec_key, job.job_id)
