"""Ad-hoc jobs for the read API (no Falcon in here): submit a question no view answers,
get a job id, poll it, fetch the result.

A question is a JSON object validated by ``api/read/schemas/job-1-0-0.json``
(:func:`parse_spec`: a :class:`JobError` says why one is refused, the responder's 400).
:class:`AdhocJobs` stores it in ``adhoc_jobs`` (migration 0007, through
``analytics.storage.adhoc_jobs``) and starts ``batch/adhoc.py``
(``analytics.spark_apps.ADHOC``) with spark-submit, detached (its own session; output in
``<state_dir>/logs/adhoc/<job_id>.log``). Every state lives in Cassandra, so any worker
process answers for any job.

- Cache: the same question about the same site (same canonical spec, zone and goals:
  :func:`spec_key`) reuses the newest succeeded result while it is valid
  (:func:`reusable`), and a queued or running job of it instead of starting a second.
- At most ``ANALYTICS_ADHOC_MAX_RUNNING`` jobs are queued or running at once, across
  processes (run slots claimed with lightweight transactions); one more is
  :class:`JobsBusy` (the responder's 429 with Retry-After).
- A caller (an API token or a person: the principal's ``key``, stored as the job's
  ``owner``) may have at most ``ANALYTICS_ADHOC_MAX_JOBS_PER_PRINCIPAL`` of those jobs at
  once; one more is :class:`TooManyJobs` (429 ``too_many_jobs``), so one caller cannot
  hold every slot. Its count is checked before a slot is taken and again after (two
  submits racing past the first check are both refused rather than both let through).
- A job still running ``ANALYTICS_ADHOC_TIMEOUT_S`` after it started, or still queued
  :data:`START_TIMEOUT_S` after it was submitted (spark-submit died before the job
  began), is reported failed, recorded as such, and its slot is freed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from analytics.config import PREFIX, REPO_ROOT, Config
from analytics.periods import MAX_RANGE_DAYS, days, range_days
from analytics.sites import Site
from analytics.spark_apps import ADHOC, adhoc_args
from analytics.storage.adhoc_jobs import (
    FINAL,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    AdhocJobStore,
    JobRow,
    iso,
)
from api.read import validation
from api.read.query import QueryError, parse_day

SCHEMA_VERSION = "1-0-0"
SCHEMA_PATH = Path(__file__).with_name("schemas") / f"job-{SCHEMA_VERSION}.json"
START_TIMEOUT_S = 300
"""A job not running this long after it was submitted never started (its spark-submit
died: see the job's log). Capped at ``adhoc_timeout_s``."""
RETRY_AFTER_S = 30
"""What a refused client is told to wait: a small job takes about half a minute."""
JOBS_PATH = "/api/v1/jobs"

Launcher = Callable[[Config, str, Path], None]
"""Starts the job ``job_id`` with its output in the given log file, without waiting."""


class JobError(ValueError):
    """The question is not valid; the message says why."""


class JobsBusy(Exception):
    """Every run slot is taken; try again after ``retry_after_s``. ``code``: the
    responder's error title."""

    code = "jobs_busy"

    def __init__(self, running: int, retry_after_s: int = RETRY_AFTER_S,
                 message: str | None = None):
        super().__init__(message or f"{running} ad-hoc jobs are running already; try again "
                                    "later")
        self.retry_after_s = retry_after_s


class TooManyJobs(JobsBusy):
    """The caller already has ``held`` jobs queued or running, its ``limit``."""

    code = "too_many_jobs"

    def __init__(self, held: int, limit: int, retry_after_s: int = RETRY_AFTER_S):
        jobs = "job of yours is" if held == 1 else "jobs of yours are"
        super().__init__(held, retry_after_s, (
            f"{held} ad-hoc {jobs} queued or running (at most {limit} at once); try "
            "again when one has finished"))
        self.held = held
        self.limit = limit


class JobNotReady(Exception):
    """The job has no result (yet, or ever: it failed); ``job`` is its status."""

    def __init__(self, job: dict):
        super().__init__(f"job {job['job_id']} is {job['status']}")
        self.job = job


def schema() -> dict:
    return validation.load(SCHEMA_PATH)


def _reason(error, payload: dict) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "job"
    if error.schema is False:
        # A field the other kind has ("properties": {name: false}); jsonschema does not
        # say which, so look it up where the error points.
        declared = schema()
        for part in error.schema_path:
            declared = declared[part]
        names = sorted(n for n, allowed in declared.items() if allowed is False and n in payload)
        return "; ".join(f"{n}: not part of a {payload.get('kind')} job" for n in names)
    return f"{where}: {error.message}"


def parse_spec(payload: object, site: Site, today: date) -> dict:
    """A request body (decoded JSON) -> the canonical spec: defaults filled in, filter
    values deduplicated and sorted, filters sorted (the same question always gives the
    same spec); or :class:`JobError`. ``today``: the site-local date now."""
    errors = validation.errors(SCHEMA_PATH, payload)
    if errors:
        # dict.fromkeys: one reason per field (jsonschema repeats the misplaced-field one)
        raise JobError("; ".join(dict.fromkeys(_reason(e, payload) for e in errors[:5])))
    if payload["site_id"] != site.site_id:
        raise JobError(f"site_id: {payload['site_id']!r} is not the site {site.site_id!r} "
                       "of this request")
    try:
        start, end = parse_day("start", payload["start"]), parse_day("end", payload["end"])
    except QueryError as exc:
        raise JobError(str(exc)) from None
    if end < start:
        raise JobError(f"end: {end} is before start {start}")
    if range_days(start, end) > MAX_RANGE_DAYS:
        raise JobError(f"end: a job covers {MAX_RANGE_DAYS} days at most")
    if end > today:
        raise JobError(f"end: {end} is after today ({today} in {site.timezone})")
    spec = {"site_id": site.site_id, "kind": payload["kind"], "start": start.isoformat(),
            "end": end.isoformat()}
    if payload["kind"] == "funnel":
        return {**spec, "steps": [{"type": s["type"], "value": s["value"]}
                                  for s in payload["steps"]]}
    defaults = {k: v.get("default") for k, v in schema()["properties"].items()}
    filters = {(f["dimension"], f["op"],
                tuple(sorted(set([f["value"]] if isinstance(f["value"], str) else f["value"]))))
               for f in payload.get("filters", defaults["filters"])}
    return {**spec, "dimension": payload["dimension"],
            "metrics": list(payload.get("metrics", defaults["metrics"])),
            "filters": [{"dimension": d, "op": op, "value": list(values)}
                        for d, op, values in sorted(filters)],
            "limit": int(payload.get("limit", defaults["limit"]))}  # 10.0 is 10


def spec_key(spec: dict, site: Site) -> str:
    """The cache key of a canonical spec: the site's zone and goals change the answer
    (local days, engagement, the goal dimension), so they are part of the question."""
    text = json.dumps({"schema": SCHEMA_VERSION, "timezone": site.timezone,
                       "goals": sorted(site.goals), "spec": spec},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def reusable(job: JobRow, range_days: list[date], closed: Mapping[date, datetime],
             now: datetime, cache_minutes: int) -> bool:
    """Whether a succeeded job's result still answers its question at ``now``: every day
    of the range is closed by the batch layer (``closed``: day -> batch_days.computed_at)
    and none was recomputed after the job read the events (its start; late events make
    the batch layer recompute a day); or else the result is younger than
    ``cache_minutes``."""
    if job.status != SUCCEEDED or job.started_at is None:
        return False
    if all(day in closed and closed[day] < job.started_at for day in range_days):
        return True
    return now - job.started_at < timedelta(minutes=cache_minutes)


def launch_spark_submit(config: Config, job_id: str, log_path: Path) -> None:
    """spark-submit of ``batch/adhoc.py`` in its own session (a worker restart does not
    stop it); a thread reaps it when it exits, so no zombie is left behind."""
    from analytics.spark_submit import submit_command, submit_env

    log_path.parent.mkdir(parents=True, exist_ok=True)
    # PATH, JAVA_HOME and the like pass through; the config comes from submit_env alone.
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.update(submit_env(config))
    command = submit_command(config.for_batch(), ADHOC.path(REPO_ROOT), ADHOC.name,
                             adhoc_args(job_id))
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    threading.Thread(target=proc.wait, name=f"adhoc-{job_id[:8]}", daemon=True).start()


class AdhocJobs:
    """Submit, poll and fetch ad-hoc jobs; ``session``: a Cassandra driver session."""

    def __init__(self, config: Config, session, launcher: Launcher | None = None):
        self.config = config
        self.session = session
        self.store = AdhocJobStore(session, config.cassandra_keyspace)
        self.launcher = launcher or launch_spark_submit
        self.start_timeout_s = min(START_TIMEOUT_S, config.adhoc_timeout_s)
        # Claims outlive the longest a job may wait and run, then expire on their own.
        self.claim_ttl_s = config.adhoc_timeout_s + self.start_timeout_s + 60

    # -- the responders' calls ------------------------------------------------------------

    def submit(self, site: Site, payload: object, now: datetime,
               owner: str | None = None) -> dict:
        """Validate, reuse or start; the job's status with ``cached`` (True when an
        earlier job answers). ``owner``: who asks (the principal's ``key``; None: no
        per-caller limit). :class:`JobError`, :class:`JobsBusy`, :class:`TooManyJobs`."""
        spec = parse_spec(payload, site, now.astimezone(ZoneInfo(site.timezone)).date())
        key = spec_key(spec, site)
        found = self._reuse(site, spec, key, now)
        if found is not None:
            return {**self._describe(found), "cached": True}
        self._check_owner(owner, now)
        job_id = uuid.uuid4().hex
        log_path = self.config.state_dir / "logs" / "adhoc" / f"{job_id}.log"
        job = JobRow(job_id=job_id, site_id=site.site_id, kind=spec["kind"], spec=spec,
                     spec_key=key, status=QUEUED, submitted_at=now, log_path=str(log_path),
                     owner=owner)
        self.store.insert(job)
        holder = self._claim_question(job, now)
        if holder is not None:
            self.store.delete(job_id)
            return {**self._describe(holder), "cached": True}
        slot = self._claim_slot(job_id, now)
        if slot is None:
            self.store.release_active(site.site_id, key, job_id)
            self.store.delete(job_id)
            raise JobsBusy(self.config.adhoc_max_running)
        job = replace(job, slot=slot)
        try:
            self._check_owner(owner, now, besides=job_id)
        except TooManyJobs:
            self.store.release(job)
            self.store.delete(job_id)
            raise
        self.store.set_slot(job_id, slot)
        self.store.index(job)
        try:
            self.launcher(self.config, job_id, log_path)
        except Exception as error:
            self.store.fail(job_id, now, f"could not start: {error}", was=QUEUED)
            self.store.release(job)
            raise
        return {**self._describe(job), "cached": False}

    def status(self, job_id: str, now: datetime | None = None) -> dict | None:
        """The job's status (None for an unknown id): job_id, site_id, kind, status,
        submitted_at, started_at, finished_at, error, events_read, spec, links."""
        job = self.store.get(job_id)
        if job is None:
            return None
        return self._describe(self._settle(job, now or datetime.now(UTC)))

    def result(self, job_id: str, now: datetime | None = None) -> dict | None:
        """``{"job_id", "status", "columns", "rows", "meta"}`` of a succeeded job; None
        for an unknown id; :class:`JobNotReady` (with the status) otherwise."""
        job = self.store.get(job_id)
        if job is None:
            return None
        job = self._settle(job, now or datetime.now(UTC))
        if job.status != SUCCEEDED:
            raise JobNotReady(self._describe(job))
        return {"job_id": job_id, "status": SUCCEEDED, **(self.store.result(job_id) or {})}

    # -- the rules ------------------------------------------------------------------------

    def _settle(self, job: JobRow, now: datetime) -> JobRow:
        """The job as it stands at ``now``: one that ran or waited too long is recorded
        failed and its claims are freed."""
        timeout = self.config.adhoc_timeout_s
        if (job.status == RUNNING and job.started_at
                and now - job.started_at > timedelta(seconds=timeout)):
            error = f"timed out after {timeout} s"
        elif (job.status == QUEUED and job.submitted_at
              and now - job.submitted_at > timedelta(seconds=self.start_timeout_s)):
            error = f"did not start within {self.start_timeout_s} s"
        else:
            return job
        self.store.fail(job.job_id, now, error, was=job.status)
        self.store.release(job)
        return self.store.get(job.job_id) or job

    def _reuse(self, site: Site, spec: dict, key: str, now: datetime) -> JobRow | None:
        """The newest job of the question if it is unfinished or its result is valid."""
        for job_id in self.store.recent(site.site_id, key):
            job = self.store.get(job_id)
            if job is None:
                continue
            job = self._settle(job, now)
            if job.status in (QUEUED, RUNNING):
                return job
            if job.status == SUCCEEDED:
                # Older results were read earlier still: the newest decides.
                range_days = days(date.fromisoformat(spec["start"]),
                                  date.fromisoformat(spec["end"]))
                closed = self._closed_days(site.site_id, range_days[0], range_days[-1])
                valid = reusable(job, range_days, closed, now, self.config.adhoc_cache_minutes)
                return job if valid else None
        return None

    def _closed_days(self, site_id: str, first: date, last: date) -> dict[date, datetime]:
        rows = self.session.execute(
            f"SELECT day, computed_at FROM {self.config.cassandra_keyspace}.batch_days "
            "WHERE site_id = %s AND day >= %s AND day <= %s", (site_id, first, last))
        return {_date(r.day): r.computed_at.replace(tzinfo=UTC) for r in rows
                if r.computed_at is not None}

    def _claim_question(self, job: JobRow, now: datetime) -> JobRow | None:
        """Make ``job`` the question's one unfinished job; None when it now is, else the
        unfinished job that was there first (a claim left by a job that has ended since
        is freed and taken over)."""
        for _ in range(3):
            holder_id = self.store.claim_active(job.site_id, job.spec_key, job.job_id,
                                                self.claim_ttl_s)
            if holder_id is None:
                return None
            holder = self.store.get(holder_id)
            if holder is not None and self._settle(holder, now).status not in FINAL:
                return holder
            self.store.release_active(job.site_id, job.spec_key, holder_id)
        return None  # the claim keeps changing hands: run this one without it

    def _claim_slot(self, job_id: str, now: datetime) -> int | None:
        """A free run slot, after freeing slots still held by jobs that have ended
        (a process killed before it could give its slot back)."""
        slots = self.config.adhoc_max_running
        slot = self.store.claim_slot(job_id, slots, self.claim_ttl_s, now)
        if slot is not None:
            return slot
        for held, holder_id in self.store.slot_holders(slots).items():
            holder = self.store.get(holder_id)
            if holder is None or self._settle(holder, now).status in FINAL:
                self.store.release_slot(held, holder_id)
        return self.store.claim_slot(job_id, slots, self.claim_ttl_s, now)

    def _check_owner(self, owner: str | None, now: datetime, besides: str | None = None,
                     ) -> None:
        """:class:`TooManyJobs` when ``owner`` already has its limit of unfinished jobs
        holding run slots (not counting the job ``besides``)."""
        if owner is None:
            return
        limit = self.config.adhoc_max_jobs_per_principal
        held = 0
        for holder_id in self.store.slot_holders(self.config.adhoc_max_running).values():
            holder = self.store.get(holder_id) if holder_id != besides else None
            if (holder is not None and holder.owner == owner
                    and self._settle(holder, now).status not in FINAL):
                held += 1
        if held >= limit:
            raise TooManyJobs(held, limit)

    def _describe(self, job: JobRow) -> dict:
        links = {"self": f"{JOBS_PATH}/{job.job_id}"}
        if job.status == SUCCEEDED:
            links["result"] = f"{JOBS_PATH}/{job.job_id}/result"
        return {"job_id": job.job_id, "site_id": job.site_id, "kind": job.kind,
                "status": job.status, "submitted_at": iso(job.submitted_at),
                "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
                "error": job.error, "events_read": job.events_read, "spec": job.spec,
                "links": links}


def _date(value) -> date:
    """The driver returns ``cassandra.util.Date`` for a date column."""
    return value if isinstance(value, date) else value.date()
