"""The batch layer's Spark job: recompute closed site-local days from the master dataset
and replace their views.

    spark-submit batch/job.py --start-day 2026-11-24 --end-day 2026-11-25 \\
        [--sites shop,blog] [--run-id manual__2026-11-26] [--open-from 2026-11-25]

(``analytics.spark_submit.submit_command`` builds the full command; Airflow's nightly DAG
runs it for the day of its data interval.) The period always comes from the arguments,
never from the clock. For every chosen site (default: all) and every day from start to end,
both included, in the site's own time zone:

1. read the raw events of the UTC hours that cover those days plus a margin
   (``ANALYTICS_BATCH_SESSION_MARGIN_MINUTES``) from ``raw_event_chunks`` (``batch.raw``);
2. dedup, split off bots, sessionize and compute every batch view (``batch.views``, built
   on ``analytics.metrics``);
3. write them under a new version and switch each site-day to it (``batch.store``).

Days from ``--open-from`` on have not ended yet (the caller knows the clock; this job
does not): they are computed and reported (``"open": true``) but not written, so the speed
layer keeps serving them and nothing closes early.

It prints one JSON line per site-day (what the day now holds) and a summary line
(``compute_seconds``: read, compute and write; ``seconds``: with the Spark session's
start), and exits 1 when anything fails (the previous version of every day stays).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from analytics.config import Config
from analytics.metrics.sessions import DEFAULT_GAP_MINUTES
from analytics.periods import day_bounds, days, read_window, utc_hours
from analytics.sites import Site, SiteRepository, UnknownSitesError, choose_sites
from analytics.spark_apps import BATCH_RECOMPUTE
from analytics.spark_session import spark_session, stop_spark
from analytics.storage.session import connect
from batch.raw import chunks_of, events_of
from batch.store import VIEW_TABLES, BatchStore
from batch.views import SITE_DAY_SCHEMA, SITE_SCHEMA, recompute, unique_events


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=BATCH_RECOMPUTE.script,
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--start-day", type=date.fromisoformat, required=True,
                        help="first site-local day to recompute (YYYY-MM-DD)")
    parser.add_argument("--end-day", type=date.fromisoformat,
                        help="last day, included (default: the start day)")
    parser.add_argument("--sites", default="",
                        help="comma-separated site ids (default: every site)")
    parser.add_argument("--run-id", default="", help="recorded with the views (e.g. "
                        "Airflow's run id)")
    parser.add_argument("--open-from", type=date.fromisoformat, default=None,
                        help="days from this one on are still going on: computed and "
                        "reported, not written (they stay open)")
    args = parser.parse_args(argv)
    args.end_day = args.end_day or args.start_day
    if args.end_day < args.start_day:
        parser.error(f"--end-day {args.end_day} is before --start-day {args.start_day}")
    args.sites = [s for s in (p.strip() for p in args.sites.split(",")) if s]
    return args


def site_days(sites: list[Site], start: date, end: date) -> list[tuple]:
    """Rows of :data:`batch.views.SITE_DAY_SCHEMA` for every site and day."""
    return [(site.site_id, day, site.timezone, *day_bounds(day, site.timezone))
            for site in sites for day in days(start, end)]


def partitions(sites: list[Site], start: date, end: date, margin: timedelta) -> list[tuple]:
    """The (site_id, UTC hour) partitions of ``raw_event_chunks`` the recompute reads."""
    return [(site.site_id, hour) for site in sites
            for hour in utc_hours(*read_window(start, end, site.timezone, margin))]


def new_version(now: datetime) -> str:
    """Versions sort by when they were made; the suffix keeps concurrent runs apart."""
    return f"{now:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}"


def tune(spark, config: Config) -> None:
    """SQL settings of a batch-layer job (this one and ``batch/adhoc.py``)."""
    spark.conf.set("spark.sql.shuffle.partitions", str(config.batch_shuffle_partitions))
    # Cached intermediates are read a few times within minutes: compressing their columns
    # cost more (about a third of the time to cache them) than it saved.
    spark.conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")


def run(spark, config: Config, store: BatchStore, sites: list[Site], *, start: date,
        end: date, run_id: str, open_from: date | None = None) -> list[dict]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    now = datetime.now(UTC)
    version = new_version(now)
    keys = [(site.site_id, day) for site in sites for day in days(start, end)
            if open_from is None or day < open_from]
    sites_df = spark.createDataFrame(
        [(s.site_id, s.timezone, sorted(s.goals)) for s in sites], SITE_SCHEMA)
    site_days_df = spark.createDataFrame(site_days(sites, start, end), SITE_DAY_SCHEMA)
    margin = timedelta(minutes=config.batch_session_margin_minutes)
    chunks = chunks_of(spark, config.cassandra_keyspace, partitions(sites, start, end, margin))

    keep = StorageLevel.MEMORY_AND_DISK
    unique = unique_events(events_of(chunks), sites_df).persist(keep)
    frames = recompute(unique, site_days_df, config.visitor_sketch_lg_k, DEFAULT_GAP_MINUTES)
    frames["sessionized"].persist(keep)
    frames["sessions"].persist(keep)
    day_rows = frames["days"].persist(keep)

    if keys:
        closed = (lambda frame: frame) if open_from is None else (
            lambda frame: frame.where(F.col("day") < F.lit(open_from)))
        store.begin(keys, version, run_id, now)
        store.write_views({name: closed(frames[name]) for name in VIEW_TABLES}, version)
        store.switch(closed(day_rows), version, run_id, now)
        store.delete_versions(store.superseded(keys, version))
    result = [_summary(row.asDict(), version, open_from) for row in
              day_rows.drop("visitors_sketch").orderBy("site_id", "day").collect()]
    spark.catalog.clearCache()
    return result


def _summary(row: dict, version: str, open_from: date | None = None) -> dict:
    still_open = open_from is not None and row["day"] >= open_from
    return {**{k: (v.isoformat() if isinstance(v, date | datetime) else v)
               for k, v in row.items()},
            **({"open": True, "version": None} if still_open else {"version": version})}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = Config.from_env()
    began = time.monotonic()
    cluster, session = connect(config, config.cassandra_keyspace)
    spark = None
    try:
        try:
            sites = choose_sites(SiteRepository(session).all(), args.sites)
        except UnknownSitesError as error:
            raise SystemExit(str(error)) from None
        if not sites:
            print(json.dumps({"days": 0, "note": "no sites to recompute"}))
            return 0
        spark = spark_session(config, BATCH_RECOMPUTE.name)
        tune(spark, config)
        store = BatchStore(session, config.cassandra_keyspace)
        computing = time.monotonic()
        result = run(spark, config, store, sites, start=args.start_day, end=args.end_day,
                     run_id=args.run_id, open_from=args.open_from)
        compute_s = time.monotonic() - computing
    finally:
        if spark is not None:
            stop_spark(spark)
        cluster.shutdown()
    for line in result:
        print(json.dumps(line, sort_keys=True))
    print(json.dumps({"days": len(result), "sites": len(sites),
                      "raw_events": sum(r["raw_events"] for r in result),
                      "compute_seconds": round(compute_s, 2),
                      "seconds": round(time.monotonic() - began, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
