"""The ad-hoc job: one question that no view answers, computed from the master dataset.

    spark-submit batch/adhoc.py --job-id 3f2a...

The read API (``api/read/jobs.py``) stores the question in ``adhoc_jobs`` (migration
0007) and launches this with ``analytics.spark_submit.submit_command``; the job reads its
spec by id, marks itself running, and ends succeeded with its result or failed with the
reason: any error, SIGTERM, or running longer than ``ANALYTICS_ADHOC_TIMEOUT_S`` (a
watchdog stops the process), so no job is left "running" behind a dead process. It then
gives back its run slot.

What it computes (semantics in ``analytics.metrics.adhoc``): the raw events of the
range's local days plus ``ANALYTICS_BATCH_SESSION_MARGIN_MINUTES`` either side are read
exactly as the nightly batch job reads them (``batch.raw``), deduplicated, bots dropped,
sessionized (``batch.views.unique_events``, ``analytics.metrics.sessions``); the
breakdown or funnel runs on that. The result is JSON::

    {"columns": ["prop:plan", "visitors", ...], "rows": [["pro", 2, ...], ...],
     "meta": {"site_id", "kind", "start", "end", "timezone", "events_read",
              "events_in_range", "computed_at", "compute_seconds", and "rows_total"
              (breakdown: values before the limit) or "sessions" (funnel: sessions that
              started in the range)}}

``events_read``: raw records read (copies and bots included, the margin too);
``events_in_range``: counted events (deduplicated, no bots) of the range's days;
``computed_at``: when the job started, so the events stored by then are in the answer
(the read API's cache compares it with the batch layer's recompute times).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from analytics.config import Config
from analytics.sites import Site, SiteRepository
from analytics.spark_apps import ADHOC
from analytics.spark_session import spark_session, stop_spark
from analytics.storage.adhoc_jobs import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    AdhocJobStore,
    JobRow,
    iso,
)
from analytics.storage.session import connect


class JobFailed(RuntimeError):
    """A reason the job cannot answer, reported as it is."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=ADHOC.script, description=__doc__.split("\n")[0])
    parser.add_argument("--job-id", required=True, help="a job of the adhoc_jobs table")
    return parser.parse_args(argv)


def answer(spark, config: Config, site: Site, spec: dict) -> tuple[dict, int]:
    """The result of ``spec`` about ``site`` and the raw records read."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from analytics.metrics import adhoc
    from analytics.metrics.batch_views import LOCAL_DAY, with_local_time
    from analytics.metrics.events import counted, is_counted
    from analytics.metrics.sessions import DEFAULT_GAP_MINUTES, sessionize
    from analytics.metrics.sessions import sessions as sessions_of
    from batch.job import partitions
    from batch.raw import chunks_of, events_of
    from batch.views import COPIES, SITE_SCHEMA, unique_events

    start, end = date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"])
    margin = timedelta(minutes=config.batch_session_margin_minutes)
    keep = StorageLevel.MEMORY_AND_DISK
    sites = spark.createDataFrame([(site.site_id, site.timezone, sorted(site.goals))],
                                  SITE_SCHEMA)
    chunks = chunks_of(spark, config.cassandra_keyspace, partitions([site], start, end, margin))
    unique = unique_events(events_of(chunks), sites).persist(keep)
    # One pass for both counts (every Spark action costs seconds on a busy machine).
    in_range = is_counted() & F.col(LOCAL_DAY).between(F.lit(start), F.lit(end))
    events_read, events_in_range = with_local_time(unique).agg(
        F.coalesce(F.sum(COPIES), F.lit(0)), F.count_if(in_range)).first()
    events = sessionize(counted(unique), DEFAULT_GAP_MINUTES).persist(keep)
    sessions = sessions_of(events).persist(keep)
    meta = {"site_id": site.site_id, "kind": spec["kind"], "start": spec["start"],
            "end": spec["end"], "timezone": site.timezone, "events_read": events_read,
            "events_in_range": events_in_range}
    if spec["kind"] == "breakdown":
        filters = [(f["dimension"], f["op"], f["value"]) for f in spec["filters"]]
        table = adhoc.breakdown(events, sessions, spec["dimension"], start, end,
                                filters=filters).persist(keep)
        meta["rows_total"] = table.count()
        columns = [spec["dimension"], *spec["metrics"]]
        rows = table.select("value", *spec["metrics"]).limit(spec["limit"]).collect()
    else:
        steps = [(s["type"], s["value"]) for s in spec["steps"]]
        meta["sessions"] = adhoc.sessions_in_days(sessions, start, end).count()
        columns = list(adhoc.FUNNEL_COLUMNS)
        rows = adhoc.funnel(events, sessions, steps, start, end).collect()
    spark.catalog.clearCache()
    return {"columns": columns, "rows": [list(r) for r in rows], "meta": meta}, events_read


def compute(config: Config, session, job: JobRow) -> tuple[dict, int]:
    site = SiteRepository(session).get(job.site_id)
    if site is None:
        raise JobFailed(f"site {job.site_id!r} no longer exists")
    began = time.monotonic()
    spark = spark_session(config, ADHOC.name)
    try:
        from batch.job import tune

        tune(spark, config)
        result, events_read = answer(spark, config, site, job.spec)
    finally:
        stop_spark(spark)
    result["meta"]["computed_at"] = iso(job.started_at)
    result["meta"]["compute_seconds"] = round(time.monotonic() - began, 1)
    return result, events_read


def reason(error: BaseException) -> str:
    """What a client is told: the message of our own errors, type and message otherwise
    (a Spark error's first line; its JVM stack trace is in the job's log)."""
    if isinstance(error, JobFailed):
        return str(error)
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else '(no message)'}"


def _terminated(signum, _frame):
    raise SystemExit(f"stopped by signal {signal.Signals(signum).name}")


def _watchdog(store: AdhocJobStore, job: JobRow, timeout_s: int) -> threading.Timer:
    """After ``timeout_s``: record the job failed and end the process (the JVM that
    spark-submit started goes with its Python driver)."""
    def expire():
        store.fail(job.job_id, _now(), f"timed out after {timeout_s} s", was=RUNNING)
        store.release(job)
        os._exit(3)

    timer = threading.Timer(timeout_s, expire)
    timer.daemon = True
    timer.start()
    return timer


def _with_retries(call, attempts: int = 3, pause_s: float = 5.0):
    """``call()``, again after a pause when it raises: Cassandra may be briefly
    overloaded when a job ends, and the bookkeeping writes are safe to repeat (each is
    conditional). A job whose end could not be recorded at all is reported failed by the
    read API once ``ANALYTICS_ADHOC_TIMEOUT_S`` has passed."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception:
            if attempt == attempts:
                raise
            time.sleep(pause_s * attempt)
    return None


def _now() -> datetime:
    return datetime.now(UTC)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = Config.from_env()
    cluster, session = connect(config, config.cassandra_keyspace)
    store = AdhocJobStore(session, config.cassandra_keyspace)
    job = None
    try:
        job = store.get(args.job_id)
        if job is None:
            print(f"no job {args.job_id}", file=sys.stderr)
            return 1
        started = _now()
        if not store.start(job.job_id, started):
            print(f"job {job.job_id} is not queued (it is {job.status}, or was reported "
                  "failed before it started)", file=sys.stderr)
            return 1
        job = replace(job, status=RUNNING, started_at=started)
        previous_handler = signal.signal(signal.SIGTERM, _terminated)
        timer = _watchdog(store, job, config.adhoc_timeout_s)
        try:
            result, events_read = compute(config, session, job)
        except BaseException as error:  # noqa: BLE001 - every failure must be recorded
            why = reason(error)
            print(f"job {job.job_id} {FAILED}: {why}", file=sys.stderr)
            _with_retries(lambda: store.fail(job.job_id, _now(), why, was=RUNNING))
            return 1
        finally:
            timer.cancel()
            signal.signal(signal.SIGTERM, previous_handler)
        # A write that timed out may have been applied: then the job is succeeded already.
        if not _with_retries(lambda: store.succeed(job.job_id, _now(), result, events_read)
                             or store.get(job.job_id).status == SUCCEEDED):
            print(f"job {job.job_id} was reported failed meanwhile; result dropped",
                  file=sys.stderr)
            return 1
        print(f"job {job.job_id} succeeded: {len(result['rows'])} rows, "
              f"{events_read} events read, {result['meta']['compute_seconds']} s")
        return 0
    finally:
        if job is not None and job.status == RUNNING:
            try:
                _with_retries(lambda: store.release(job))
            except Exception as error:  # noqa: BLE001 - the claims expire on their own
                print(f"could not give back the run slot: {reason(error)}", file=sys.stderr)
        cluster.shutdown()


if __name__ == "__main__":
    sys.exit(main())
