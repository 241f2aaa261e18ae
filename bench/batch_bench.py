"""Batch-layer benchmark on this machine (local[2], Cassandra on the same cores).

    .venv/bin/python bench/batch_bench.py [--events 1000000] [--reuse] [--runs 1]
        [--second-site] [--visitors 100000] [--day 2026-03-04] [--conf KEY=VALUE ...]

1. data: one day of synthetic enriched events, generated in Spark (this file under
   spark-submit with ``--generate``): Kafka-shaped records parsed by ``parse_enriched``,
   shaped by ``analytics.raw_events.to_chunks`` and written into ``raw_event_chunks`` of
   the bench keyspace, as the speed layer writes them. Visitors' sessions (a pageview,
   then pageviews, engagement pings and custom events with props, seconds to minutes
   apart, now and then a gap of over 30 minutes), 35 % bounces, ~1.5 % bot sessions, ~1 %
   of events sent twice, 300 paths, search/social/referral/campaign sources, 15 countries,
   three device types, busiest in the afternoon; one site in UTC (``--second-site``: 20 %
   of the events for one in Asia/Kathmandu). ``--reuse`` keeps a day already loaded;
2. recompute: ``batch/job.py`` for that day under spark-submit, as Airflow runs it:
   events/s over the spark-submit's wall time (target >= 50,000) and over the job's own
   ``compute_seconds``;
3. baseline: ``bench/read_count_job.py`` under spark-submit reads the same partitions and
   counts their events; ratio recompute / baseline, wall and in job (target <= 3);
4. CPU time and peak RSS of each spark-submit process tree.

Kafka and Cassandra are started (or reused) from the local run. ``--conf`` adds Spark
settings to both jobs, for experiments only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pyspark.sql import functions as F
from pyspark.sql.window import Window

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import raw_events  # noqa: E402
from analytics.config import REPO_ROOT, Config  # noqa: E402
from analytics.event_schema import enriched_schema, enriched_validator, spark_schema  # noqa: E402
from analytics.periods import day_bounds, read_window, utc_hours  # noqa: E402
from analytics.sites import Site, SiteRepository  # noqa: E402
from analytics.spark_submit import submit_command, submit_env  # noqa: E402
from analytics.storage.session import connect  # noqa: E402
from stack import jars, lifecycle  # noqa: E402
from stack.launch import tree_rss  # noqa: E402
from stack.schema import apply_schema  # noqa: E402

KEYSPACE = "analytics_bench"
SITES = (Site(site_id="batch-utc.bench", domain="shop.example", timezone="UTC",
              goals=frozenset({"signup", "/pricing"})),
         Site(site_id="batch-ktm.bench", domain="ktm.example", timezone="Asia/Kathmandu",
              goals=frozenset({"purchase"})))
SECOND_SITE_SHARE = 0.2
RECORDS_PER_SESSION = 4.3
"""Expected records per generated session (session lengths below, plus copies)."""
EVENTS_TARGET, RATIO_TARGET = 50_000, 3.0
_DAY_MS, _U = 86_400_000, 1 << 30

COUNTRIES = ["US", "DE", "GB", "IN", "FR", "BR", "CA", "NL", "JP", "NP", "ES", "IT", "AU",
             "PL", "SE"]
LANGUAGES = ["en-US", "de-DE", "en-GB", "en-IN", "fr-FR", "pt-BR", "en-CA", "nl-NL", "ja-JP",
             "ne-NP", "es-ES", "it-IT", "en-AU", "pl-PL", "sv-SE"]
ZONES = ["America/New_York", "Europe/Berlin", "Europe/London", "Asia/Kolkata", "Europe/Paris",
         "America/Sao_Paulo", "America/Toronto", "Europe/Amsterdam", "Asia/Tokyo",
         "Asia/Kathmandu", "Europe/Madrid", "Europe/Rome", "Australia/Sydney", "Europe/Warsaw",
         "Europe/Stockholm"]
SOURCE_FIELDS = ("referrer", "utm_source", "utm_medium", "utm_campaign")
SOURCES = [((None, None, None, None), 40), (("https://www.google.com/", None, None, None), 25),
           (("https://duckduckgo.com/", None, None, None), 5),
           (("https://www.bing.com/", None, None, None), 3),
           (("https://t.co/x1Yz", None, None, None), 6),
           (("https://www.facebook.com/", None, None, None), 3),
           (("https://news.ycombinator.com/item?id=1", None, None, None), 3),
           (("https://blog.example.org/review", None, None, None), 5),
           ((None, "newsletter", "email", "spring-sale"), 5),
           (("https://t.co/c4mp", "twitter", "social", "launch"), 2),
           (("https://www.google.com/", "adwords", "cpc", "brand"), 3)]
DEVICE_FIELDS = ("device_type", "browser", "browser_version", "os", "os_version",
                 "screen_width", "screen_height")
DEVICES = [(("desktop", "Chrome", "141.0.0", "Windows", "10", 1920, 1080), 30),
           (("desktop", "Chrome", "141.0.0", "Mac OS X", "10.15.7", 1440, 900), 8),
           (("desktop", "Safari", "18.2", "Mac OS X", "10.15.7", 1512, 982), 8),
           (("desktop", "Firefox", "144.0", "Linux", None, 1366, 768), 5),
           (("desktop", "Edge", "141.0.0", "Windows", "10", 1536, 864), 4),
           (("mobile", "Mobile Safari", "18.2", "iOS", "18.2", 390, 844), 20),
           (("mobile", "Chrome Mobile", "141.0.0", "Android", "15", 412, 915), 20),
           (("tablet", "Mobile Safari", "18.2", "iOS", "18.2", 820, 1180), 5)]
CUSTOM = [("signup", 15), ("download", 20), ("play", 15), ("share", 10), ("purchase", 10),
          ("add_to_cart", 15), ("newsletter", 15)]
SECTIONS = ["blog", "docs", "products", "help", "changelog"]


@dataclass(frozen=True)
class Spec:
    day: date
    events: int
    visitors: int
    paths: int
    second_site: bool
    partitions: int
    seed: int = 7
    site: Site = SITES[0]
    """The site of the events (the first site, with ``second_site``)."""
    visitor_seed: int | None = None
    """Seed of the visitor ids and of their devices and countries (default: ``seed``): one
    visitor seed for several days' specs (each with its own ``seed``) brings visitors back."""

    @property
    def both_sites(self) -> tuple[Site, Site]:
        return self.site, SITES[1]

    @property
    def visitors_seed(self) -> int:
        return self.seed if self.visitor_seed is None else self.visitor_seed

    def sites(self) -> tuple[Site, ...]:
        return self.both_sites if self.second_site else self.both_sites[:1]

    @property
    def topic(self) -> str:
        """The chunks' topic, one per day: (re)loading a day deletes only its own chunks,
        not a neighbouring day's in the margin hours that both days' recomputes read."""
        return f"bench.batch.{self.day.isoformat()}"

    def args(self) -> list[str]:
        return ["--day", self.day.isoformat(), "--events", str(self.events), "--visitors",
                str(self.visitors), "--paths", str(self.paths), "--partitions",
                str(self.partitions), *(["--second-site"] if self.second_site else [])]


# -- synthetic data (inside spark-submit) ---------------------------------------------------

def _u(seed: int, salt: str, *cols):
    """A number in [0, 1) that depends only on the seed, the salt and the columns."""
    return F.pmod(F.xxhash64(F.lit(seed), F.lit(salt), *cols), F.lit(_U)) / F.lit(float(_U))


def _pick(u, weighted: list[tuple]):
    """The value in whose cumulative weight band ``u`` (in [0, 1)) falls."""
    total, bound = sum(w for _, w in weighted), 0.0
    picked = F.when(F.lit(False), F.lit(None))
    for value, weight in weighted[:-1]:
        bound += weight / total
        picked = picked.when(u < bound, F.lit(value))
    return picked.otherwise(F.lit(weighted[-1][0]))


def _field(u, options: list[tuple], index: int):
    """Field ``index`` of the (tuple, weight) option that ``u`` picks."""
    return _pick(u, [(option[index], weight) for option, weight in options])


def _at(values: list, index):
    """``values[index]`` for a 0-based integer column."""
    return F.element_at(F.array(*[F.lit(v) for v in values]), (index + 1).cast("int"))


def _hex_id(seed: int, salt: str, *cols, uuid: bool = False):
    """32 hex characters from two hashes; with ``uuid``, dashed like a UUID."""
    text = F.lower(F.concat(*[F.lpad(F.hex(F.xxhash64(F.lit(seed), F.lit(salt + half), *cols)),
                                     16, "0") for half in "ab"]))
    if not uuid:
        return text
    return F.concat_ws("-", *[F.substring(text, start, n)
                              for start, n in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))])


def _path(u, paths: int):
    """One of ``paths`` paths, the first few much more often (Zipf-like)."""
    index = F.floor(u ** 3 * paths).cast("int")
    deep = F.concat(F.lit("/"), _at(SECTIONS, F.pmod(index, F.lit(len(SECTIONS)))), F.lit("/"),
                    index.cast("string"))
    return (F.when(index == 0, F.lit("/")).when(index == 1, F.lit("/pricing"))
            .when(index == 2, F.lit("/signup")).otherwise(deep))


def synthetic_sessions(spark, spec: Spec):
    """One row per session: site, visitor, bot or not, start within the day, acquisition
    and device draws, and per step its offset from the start (ms, ``offsets``), whether it
    is sent twice (``dups``) and how many copies precede it (``before``); ``first`` is the
    session's first record number (records run 0 .. events - 1 over all sessions)."""
    def u(salt: str, *more):
        return _u(spec.seed, salt, F.col("session"), *more)

    def gap_ms(k):
        short = 5_000 + F.least(F.floor(-F.log(1.0 - u("gap", k)) * 50_000), F.lit(1_200_000))
        long = 31 * 60_000 + F.floor(u("gap", k) * 89 * 60_000)  # a new session
        return (F.when(k == 0, F.lit(0)).when(u("long_gap", k) < 0.04, long)
                .otherwise(short).cast("long"))

    count = int(spec.events / RECORDS_PER_SESSION * 1.2) + 1000
    length = F.when(u("bounce") < 0.35, F.lit(1)).otherwise(
        F.least(F.lit(40), 2 + F.floor(-F.log(1.0 - u("length")) * 4.5).cast("int")))
    sessions = (spark.range(count, numPartitions=4).withColumnRenamed("id", "session")
                .withColumn("steps", F.sequence(F.lit(0), length - 1)))
    sessions = sessions.withColumns({
        "gaps": F.transform("steps", gap_ms),
        "dups": F.transform("steps", lambda k: u("dup", k) < 0.01),
    }).withColumns({
        "offsets": F.transform("gaps", lambda _, i: F.aggregate(
            F.slice("gaps", 1, i + 1), F.lit(0).cast("long"), lambda acc, x: acc + x)),
        "before": F.transform("dups", lambda _, i: F.size(F.filter(
            F.slice("dups", 1, i), lambda d: d))),
        "records": F.size("steps") + F.size(F.filter("dups", lambda d: d)),
    })
    so_far = Window.orderBy("session").rowsBetween(Window.unboundedPreceding, -1)
    sessions = sessions.withColumn("first", F.coalesce(F.sum("records").over(so_far), F.lit(0)))
    site = (u("site") < SECOND_SITE_SHARE).cast("int") if spec.second_site else F.lit(0)
    bot = u("bot") < 0.015
    visitor = F.when(bot, spec.visitors + F.floor(u("visitor") * 50)).otherwise(
        F.floor(u("visitor") * spec.visitors))
    starts = [int(day_bounds(spec.day, s.timezone)[0].timestamp() * 1000) for s in spec.both_sites]
    sessions = sessions.where(F.col("first") < spec.events).withColumns({
        "site": site, "is_bot": bot, "visitor": visitor.cast("long"),
        "day_start": F.when(site == 1, F.lit(starts[1])).otherwise(F.lit(starts[0])),
        # two uniforms averaged: most sessions in the afternoon, some at any hour
        "start_ms": F.floor(F.pmod((u("t1") + u("t2")) / 2 + 0.08, F.lit(1.0))
                            * (_DAY_MS - 60_000)),
        "source_u": u("source"), "landing_u": u("landing"),
    })
    by_visitor = (F.col("site"), F.col("visitor"))  # one device and country per visitor
    return sessions.withColumns({
        "country_i": F.floor(_u(spec.visitors_seed, "country", *by_visitor) ** 2 * len(COUNTRIES)),
        "device_u": _u(spec.visitors_seed, "device", *by_visitor),
    })


def synthetic_events(spark, spec: Spec):
    """Exactly ``spec.events`` Kafka-shaped records: ``value`` (an enriched event as JSON,
    every field of the schema in its order), ``topic``, ``partition`` (by visitor id, the
    write service's key), ``offset`` (in receive order), ``timestamp``."""
    steps = synthetic_sessions(spark, spec).select(
        "*", F.posexplode("offsets").alias("step", "offset_ms"))
    copies = F.when(F.element_at("dups", F.col("step") + 1), F.array(F.lit(0), F.lit(1)))
    records = steps.select("*", F.explode(copies.otherwise(F.array(F.lit(0)))).alias("copy"))
    number = (F.col("first") + F.col("step") + F.element_at("before", F.col("step") + 1)
              + F.col("copy"))
    records = records.where(number < spec.events)

    def u(salt: str):  # the same for every copy of an event
        return _u(spec.seed, salt, F.col("session"), F.col("step"))

    bot, first, site, country = (F.col("is_bot"), F.col("step") == 0, F.col("site"),
                                 F.col("country_i"))
    kind = (F.when(first | bot, F.lit("pageview")).when(u("kind") < 0.70, F.lit("pageview"))
            .when(u("kind") < 0.88, F.lit("engagement")).otherwise(F.lit("custom")))
    custom = kind == "custom"
    first_site, second_site = spec.both_sites
    host = F.when(site == 1, F.lit(second_site.domain)).otherwise(F.lit(first_site.domain))
    path = F.when(first, _path(F.col("landing_u"), spec.paths)).otherwise(
        _path(u("path"), spec.paths))
    source = {name: F.when(first & ~bot, _field(F.col("source_u"), SOURCES, i))
              for i, name in enumerate(SOURCE_FIELDS)}
    query = F.when(source["utm_source"].isNotNull(), F.concat(
        F.lit("?utm_source="), source["utm_source"], F.lit("&utm_medium="),
        source["utm_medium"], F.lit("&utm_campaign="), source["utm_campaign"])).otherwise("")
    device = {name: F.when(~bot, _field(F.col("device_u"), DEVICES, i))
              for i, name in enumerate(DEVICE_FIELDS)}
    referrer_host = F.regexp_extract(source["referrer"], r"^https://(?:www\.)?([^/]+)", 1)
    created = F.col("day_start") + F.pmod(F.col("start_ms") + F.col("offset_ms"),
                                          F.lit(_DAY_MS - 60_000))
    buffered = F.when(u("buffered") < 0.03, F.floor(u("delay") * 600_000)).otherwise(
        F.floor(u("delay") * 300))
    sent = created + buffered.cast("long") + F.col("copy") * 1500  # a copy is a retry
    received = sent + 30 + F.floor(u("latency") * 60).cast("long")
    fields = {
        **source, **device,
        "schema": F.lit("analytics/enriched_event/1-0-0"),
        "event_id": _hex_id(spec.seed, "event", F.col("session"), F.col("step"), uuid=True),
        "site_id": F.when(site == 1, F.lit(second_site.site_id)).otherwise(
            first_site.site_id),
        "kind": kind, "name": F.when(custom, _pick(u("name"), CUSTOM)),
        "url": F.concat(F.lit("https://"), host, path, query), "host": host, "path": path,
        "referrer": F.when(first, source["referrer"]).otherwise(
            F.concat(F.lit("https://"), host, F.lit("/"))),
        "referrer_host": F.when(first & (referrer_host != ""), referrer_host),
        "title": F.concat(F.lit("Example shop | "), path),
        "language": F.when(~bot, _at(LANGUAGES, country)),
        "time_zone": F.when(~bot, _at(ZONES, country)),
        "utm_term": F.lit(None), "utm_content": F.lit(None),
        "props": F.when(custom & (u("props") < 0.7), F.create_map(
            F.lit("plan"), _pick(u("plan"), [("free", 5), ("pro", 3), ("team", 1)]),
            F.lit("variant"), _pick(u("variant"), [("a", 1), ("b", 1)]))),
        "engagement_ms": F.when(kind == "engagement", 1000 + F.least(
            F.floor(-F.log(1.0 - u("engaged")) * 45_000), F.lit(1_800_000))),
        "created_at": F.when(~bot, created), "sent_at": F.when(~bot, sent),
        "received_at": received, "event_time": received - (sent - created),
        "visitor_id": _hex_id(spec.visitors_seed, "visitor", site, F.col("visitor")),
        "id_source": F.lit("cookieless"),
        "browser": F.when(bot, F.lit("Googlebot")).otherwise(device["browser"]),
        "device_type": F.when(bot, F.lit("other")).otherwise(device["device_type"]),
        "country": F.when(bot, F.lit("US")).when(u("no_country") >= 0.01,
                                                 _at(COUNTRIES, country)),
        "is_bot": bot, "source_channel": F.lit("tracker"),
    }
    schema, order = spark_schema(), list(enriched_schema()["properties"])
    if set(fields) != set(order):
        raise RuntimeError(f"generator and schema differ: {set(fields) ^ set(order)}")
    event = F.struct(*[fields[key].cast(schema[key].dataType).alias(key) for key in order])
    shaped = records.select(
        F.to_json(event, {"ignoreNullFields": "false"}).alias("value"),
        F.pmod(F.xxhash64(fields["visitor_id"]), F.lit(spec.partitions)).cast("int")
        .alias("partition"), received.alias("received_at"), fields["event_id"].alias("id"),
        "copy")
    in_order = Window.partitionBy("partition").orderBy("received_at", "id", "copy")
    return shaped.select(
        F.col("value").cast("binary").alias("value"), F.lit(spec.topic).alias("topic"),
        "partition", (F.row_number().over(in_order) - 1).cast("long").alias("offset"),
        F.timestamp_millis("received_at").alias("timestamp"))


def generate(config: Config, spec: Spec, *more: Spec,
             app_name: str = "sitelens-batch-bench-load") -> None:
    """Check a sample of the first spec's events against the enriched schema, then write
    the day's chunks; ``more``: further days (specs), written one after the other by the
    same Spark session."""
    from analytics.spark_session import parse_enriched, spark_session, stop_spark, write_cassandra

    spark = spark_session(config, app_name)
    try:
        records = synthetic_events(spark, spec)
        sample = [json.loads(r.value) for r in records.select(
            F.col("value").cast("string").alias("value")).limit(2000).collect()]
        validator = enriched_validator()
        invalid = [e for e in sample if not validator.is_valid(e)]
        if invalid:
            errors = [e.message for e in validator.iter_errors(invalid[0])]
            raise SystemExit(f"{len(invalid)} of {len(sample)} sampled events are not "
                             f"enriched events: {errors}")
        for day in (spec, *more):
            records = records if day is spec else synthetic_events(spark, day)
            chunks = raw_events.to_chunks(parse_enriched(records))
            write_cassandra(chunks, config.cassandra_keyspace, raw_events.TABLE)
    finally:
        stop_spark(spark)


# -- the bench ------------------------------------------------------------------------------

class TreeMemory(threading.Thread):
    """Peak resident memory of a process and all its children, sampled."""

    def __init__(self, pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.peak = max(self.peak, tree_rss(self.pid))


@dataclass
class Submitted:
    wall_s: float
    cpu_s: float
    """User + system time of the process tree: steadier than wall time on a busy box."""
    peak_rss: int
    lines: list[dict]

    @property
    def summary(self) -> dict:
        return self.lines[-1]


def submit(config: Config, app: Path, name: str, app_args: list[str], *, log: Path,
           conf: list[str] = (), timeout: float = 1800) -> Submitted:
    """Run ``app`` under spark-submit (``conf``: extra ``KEY=VALUE`` Spark settings)."""
    argv = submit_command(config, app, name, app_args)
    at = argv.index(str(app))
    argv[at:at] = [arg for setting in conf for arg in ("--conf", setting)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
    env.update(submit_env(config))
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as err:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.monotonic()
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=err)
        memory = TreeMemory(proc.pid)
        memory.start()
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:
            memory.stopped.set()
        wall = time.monotonic() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"{app.name} exited {proc.returncode}:\n{out.decode()}\n{tail}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    return Submitted(wall, cpu, memory.peak, lines)


def read_partitions(config: Config, spec: Spec) -> list[tuple[str, datetime]]:
    """Every (site, UTC hour) a recompute of the day reads (the day plus the margin)."""
    margin = timedelta(minutes=config.batch_session_margin_minutes)
    return [(site.site_id, hour) for site in spec.sites()
            for hour in utc_hours(*read_window(spec.day, spec.day, site.timezone, margin))]


def stored(session, spec: Spec, keys: list[tuple[str, datetime]],
           what: str = "sum(events)") -> int:
    """``what`` summed over the day's chunks (its topic) in the partitions ``keys``."""
    query = session.prepare(f"SELECT {what} AS n FROM {raw_events.TABLE} "
                            "WHERE site_id = ? AND hour = ? AND kafka_topic = ?")
    return sum(session.execute(query, (*key, spec.topic)).one().n or 0 for key in keys)


def load(config: Config, session, spec: Spec, reuse: bool, log: Path) -> str:
    """Make the bench sites' day hold exactly ``spec.events`` events."""
    keys = read_partitions(config, spec)
    if reuse and stored(session, spec, keys) == spec.events:
        return "reused"
    delete = session.prepare(f"DELETE FROM {raw_events.TABLE} WHERE site_id = ? AND hour = ? "
                             "AND kafka_topic = ?")
    for key in keys:
        session.execute(delete, (*key, spec.topic))
    began = time.monotonic()
    submit(config.replace(spark_driver_memory="2g"), Path(__file__).resolve(),
           "sitelens-batch-bench-load", ["--generate", *spec.args()], log=log)
    took = time.monotonic() - began
    if (found := stored(session, spec, keys)) != spec.events:
        raise RuntimeError(f"generated {found:,} events, expected {spec.events:,}")
    return (f"generated in Spark and written in {took:.1f} s "
            f"({stored(session, spec, keys, 'count(*)'):,} chunks)")


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def report(spec: Spec, config: Config, loaded: str, batch: list[Submitted],
           baseline: list[Submitted]) -> None:
    def median(runs: list[Submitted], figure) -> float:
        return statistics.median(figure(r) for r in runs)

    events = spec.events
    wall, base_wall = median(batch, lambda r: r.wall_s), median(baseline, lambda r: r.wall_s)
    job, base_job = (median(batch, lambda r: r.summary["seconds"]),
                     median(baseline, lambda r: r.summary["seconds"]))
    base_compute = median(baseline, lambda r: r.summary["compute_seconds"])
    compute = (median(batch, lambda r: r.summary["compute_seconds"])
               if all("compute_seconds" in r.summary for r in batch) else None)
    sites = ", ".join(f"{s.site_id} ({s.timezone})" for s in spec.sites())
    print(f"== batch layer on {config.spark_master}, driver {config.spark_driver_memory}, "
          f"{config.batch_shuffle_partitions} shuffle partitions, Cassandra on the same "
          f"cores; {len(batch)} run(s) of each job, medians")
    print(f"data: {events:,} raw events of {spec.day} for {sites}; {spec.visitors:,} "
          f"visitors; {loaded}")
    for line in batch[-1].lines[:-1]:
        print(f"   {line['site_id']} {line['day']}: raw {line['raw_events']:,}, duplicates "
              f"{line['duplicates']:,}, bots {line['bot_events']:,}, visitors "
              f"{line['visitors']:,}, sessions {line['sessions']:,}, pageviews "
              f"{line['pageviews']:,}, bounces {line['bounces']:,}")
    counted = batch[-1].summary.get("raw_events")
    rate = events / wall
    print(f"1. recompute (batch/job.py): wall {wall:.1f} s = {rate:,.0f} events/s (target >= "
          f"{EVENTS_TARGET:,}: {_verdict(rate >= EVENTS_TARGET)}); in job {job:.1f} s"
          + (f"; compute {compute:.1f} s = {events / compute:,.0f} events/s" if compute else "")
          + f"; the job counted {counted:,} raw events"
          + ("" if counted == events else " (NOT every event)"))
    print(f"2. read-and-count (bench/read_count_job.py): wall {base_wall:.1f} s = "
          f"{events / base_wall:,.0f} events/s; in job {base_job:.1f} s; compute "
          f"{base_compute:.1f} s ({baseline[-1].summary['raw_events']:,} events in "
          f"{baseline[-1].summary['partitions']} partitions)")
    ratios = {"wall": wall / base_wall, "in job": job / base_job}
    if compute:
        ratios["compute"] = compute / base_compute
    print("3. ratio recompute / read-and-count: "
          + ", ".join(f"{name} {value:.2f}" for name, value in ratios.items())
          + f" (target <= {RATIO_TARGET:.0f}: wall {_verdict(ratios['wall'] <= RATIO_TARGET)}"
          + (f", compute {_verdict(ratios['compute'] <= RATIO_TARGET)})" if compute else ")"))
    print(f"4. CPU time (process tree, user + system): recompute "
          f"{median(batch, lambda r: r.cpu_s):.0f} s, read-and-count "
          f"{median(baseline, lambda r: r.cpu_s):.0f} s; peak RSS: recompute "
          f"{max(r.peak_rss for r in batch) / 2**30:.2f} GiB, read-and-count "
          f"{max(r.peak_rss for r in baseline) / 2**30:.2f} GiB")
    if len(batch) > 1:
        best, best_base = min(r.wall_s for r in batch), min(r.wall_s for r in baseline)
        print("   every run, wall s: recompute " + ", ".join(f"{r.wall_s:.1f}" for r in batch)
              + "; read-and-count " + ", ".join(f"{r.wall_s:.1f}" for r in baseline)
              + f"; best: {events / best:,.0f} events/s, ratio {best / best_base:.2f}")


def run(args) -> int:
    spec = Spec(day=args.day, events=args.events, visitors=args.visitors, paths=args.paths,
                second_site=args.second_site, partitions=args.partitions)
    config = Config.from_env().replace(cassandra_keyspace=args.keyspace)
    if args.generate:
        generate(config, spec)
        return 0
    jars.resolve_all(config)
    lifecycle.start(Config.from_env(), ["kafka", "cassandra"], log=lambda _: None)
    apply_schema(config, log=lambda _: None)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    logs = config.state_dir / "bench" / f"batch-{stamp}"
    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        for site in spec.sites():
            SiteRepository(session).save(site)
        loaded = load(config, session, spec, args.reuse, logs / "load.log")
    finally:
        cluster.shutdown()
    job_args = ["--start-day", spec.day.isoformat(), "--end-day", spec.day.isoformat(),
                "--sites", ",".join(s.site_id for s in spec.sites())]
    batch, baseline, load_before = [], [], os.getloadavg()[0]
    config = config.for_batch()  # both jobs run with the batch layer's driver memory
    for i in range(args.runs):
        batch.append(submit(config, REPO_ROOT / "batch" / "job.py", "sitelens-batch-bench",
                            [*job_args, "--run-id", f"bench-{stamp}-{i}"],
                            log=logs / f"batch-{i}.log", conf=args.conf))
        baseline.append(submit(config, Path(__file__).with_name("read_count_job.py"),
                               "sitelens-read-count-bench", job_args,
                               log=logs / f"read-count-{i}.log", conf=args.conf))
    report(spec, config, loaded, batch, baseline)
    print(f"machine load (1-minute average, 2 cores): {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; other work on the box slows every figure")
    if args.conf:
        print(f"extra Spark settings (NOT as Airflow runs the job): {' '.join(args.conf)}")
    print(f"logs: {logs}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="raw events of the day, copies included")
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 3, 4))
    parser.add_argument("--visitors", type=int, default=100_000,
                        help="visitor ids the sessions draw from (per site)")
    parser.add_argument("--paths", type=int, default=300)
    parser.add_argument("--partitions", type=int, default=Config().topic_partitions,
                        help="Kafka partitions the records are spread over (chunk keys)")
    parser.add_argument("--second-site", action="store_true",
                        help="20 %% of the events for a second site, in Asia/Kathmandu")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the data if the day already holds --events events")
    parser.add_argument("--runs", type=int, default=1, help="runs of each job (medians)")
    parser.add_argument("--keyspace", default=KEYSPACE)
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Spark setting for both jobs (experiments only)")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
