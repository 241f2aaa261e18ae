"""Read-path benchmark on loopback: report latency under concurrent clients over a month of
batch-closed days, and the time to write Tableau extracts.

    .venv/bin/python bench/read_bench.py [--reuse] [--clients 8] [--seconds 20]
        [--events-per-day 36000] [--end-day 2026-11-10] [--days 30] [--port 18401]
        [--extract-rows 1000000] [--http-extracts 3] [--conf KEY=VALUE ...]

1. data: one site in Europe/Berlin (``read-ber.bench``; the range holds the 25-hour day
   when clocks go back, 2026-10-25), ``--days`` days up to ``--end-day`` (fixed, so the
   query is a custom range whose every day is batch-closed), ``--events-per-day`` raw
   events a day (1,080,000 in all by default; visitors come back from day to day).
   Generated in Spark (this file under spark-submit with ``--generate``) with
   ``bench/batch_bench.py``'s generator into ``raw_event_chunks`` of ``analytics_bench``,
   as the speed layer writes them; then closed by ONE run of ``batch/job.py`` over all the
   days under spark-submit, as Airflow runs a backfill (its time is printed). ``--reuse``
   skips both when ``batch_days`` holds every day with the expected raw events, and the
   generation only when ``raw_event_chunks`` holds every day's events;
2. the read service under gunicorn (gthread, the config's default workers and threads) on
   its own port against ``analytics_bench``, with a token made for the bench site;
3. load: ``--clients`` threads, each with one keep-alive ``http.client`` connection,
   send one report after the other for ``--seconds`` s, (a) the daily time series of the
   range (visitors, pageviews, sessions, bounce_rate, visit_duration), then (b) its top-10
   pages (visitors, pageviews). First the cold request of each on a fresh service, then two
   untimed requests per client; then requests/s and p50/p95/p99/max latency (target
   p99 <= 50 ms). Every answer must be 200 with the numbers that ``batch_days`` and
   ``batch_breakdowns`` hold (read by CQL), or the bench fails: it never times errors;
4. extract: (a) ``api.read.extract.write_hyper`` of ``--extract-rows`` rows shaped like the
   ``pages`` table, made from the range's real rows (the JSON export) repeated with dates
   shifted by the range's length, so (date, page) stays unique; (b) the service's
   ``GET /api/v1/export/pages?format=hyper`` of the range (``--http-extracts`` times).
   Rows, seconds, rows/s and file size; each file's row count is read back with Hyper;
5. resident memory of the read service (master and workers) after the load and at the end.

Kafka and Cassandra are started (or reused) from the local run; ``--conf`` adds Spark
settings to the batch job, for experiments only. The service, the clients, Cassandra and
anything else running share the machine's cores (the load average is shown).
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.config import REPO_ROOT, Config  # noqa: E402
from analytics.periods import day_bounds, days  # noqa: E402
from analytics.sites import Site, SiteRepository  # noqa: E402
from analytics.storage.session import connect  # noqa: E402
from bench.batch_bench import (  # noqa: E402
    KEYSPACE,
    Spec,
    generate,
    read_partitions,
    stored,
    submit,
)
from stack import jars, lifecycle  # noqa: E402
from stack.launch import ReadService, tree_rss  # noqa: E402
from stack.schema import apply_schema  # noqa: E402

SITE = Site(site_id="read-ber.bench", domain="read.example", timezone="Europe/Berlin",
            goals=frozenset({"signup"}))
SEED = 1000
"""Day n's events use seed SEED + n; visitors use SEED on every day (they come back)."""
P99_TARGET_MS = 50.0
SERIES_METRICS = ("visitors", "pageviews", "sessions", "bounce_rate", "visit_duration")
TOP_METRICS = ("visitors", "pageviews")
WARMUP_REQUESTS = 2


def day_specs(args) -> list[Spec]:
    first = args.end_day - timedelta(days=args.days - 1)
    return [Spec(day=day, events=args.events_per_day, visitors=args.visitors, paths=args.paths,
                 second_site=False, partitions=args.partitions, seed=SEED + n, site=SITE,
                 visitor_seed=SEED)
            for n, day in enumerate(days(first, args.end_day))]


def spec_args(args) -> list[str]:
    return ["--end-day", args.end_day.isoformat(), "--days", str(args.days),
            "--events-per-day", str(args.events_per_day), "--visitors", str(args.visitors),
            "--paths", str(args.paths), "--partitions", str(args.partitions)]


# -- 1. data --------------------------------------------------------------------------------

def closed_days(session, first: date, last: date) -> list:
    return list(session.execute(
        "SELECT day, version, raw_events, duplicates, bot_events, visitors, pageviews, "
        "custom_events, sessions FROM batch_days WHERE site_id = %s AND day >= %s "
        "AND day <= %s", (SITE.site_id, first, last)))


def prepare_data(config: Config, session, specs: list[Spec], args, logs: Path) -> list[str]:
    """Make the range hold the expected events and be closed by the batch layer; returns
    what was done, one line each."""
    first, last, expected = specs[0].day, specs[-1].day, sum(s.events for s in specs)
    if args.reuse:
        rows = closed_days(session, first, last)
        if len(rows) == len(specs) and sum(r.raw_events for r in rows) == expected:
            return [f"reused: batch_days holds the {len(rows)} days with {expected:,} raw "
                    "events (--reuse)"]
        print(f"--reuse: batch_days holds {len(rows)} of {len(specs)} days, "
              f"{sum(r.raw_events for r in rows):,} raw events; recomputing")
    if args.reuse and all(_raw_events(config, session, s) == s.events for s in specs):
        made = f"reused the {expected:,} raw events in raw_event_chunks (--reuse)"
    else:
        made = _generate(config, session, specs, args, logs)
    job = submit(config, REPO_ROOT / "batch" / "job.py", "sitelens-batch",
                 ["--start-day", first.isoformat(), "--end-day", last.isoformat(),
                  "--sites", SITE.site_id, "--run-id", f"read-bench-{logs.name}"],
                 log=logs / "batch.log", conf=args.conf)
    counted = job.summary["raw_events"]
    return [made,
            f"closed by ONE batch/job.py run over the {len(specs)} days (spark-submit, as "
            f"an Airflow backfill): wall {job.wall_s:.1f} s, in job "
            f"{job.summary['seconds']:.1f} s, compute {job.summary['compute_seconds']:.1f} s"
            f" = {expected / job.wall_s:,.0f} raw events/s over the wall time; CPU "
            f"{job.cpu_s:.0f} s, peak RSS {job.peak_rss / 2**30:.2f} GiB; it counted "
            f"{counted:,} raw events" + ("" if counted == expected else " (NOT every event)")
            + (f"; extra Spark settings (NOT as Airflow runs the job): {' '.join(args.conf)}"
               if args.conf else "")]


def _raw_events(config: Config, session, spec: Spec) -> int:
    return stored(session, spec, read_partitions(config, spec))


def _generate(config: Config, session, specs: list[Spec], args, logs: Path) -> str:
    delete = session.prepare("DELETE FROM raw_event_chunks WHERE site_id = ? AND hour = ? "
                             "AND kafka_topic = ?")
    for spec in specs:
        for key in read_partitions(config, spec):
            session.execute(delete, (*key, spec.topic))
    loaded = submit(config.replace(spark_driver_memory="2g"), Path(__file__).resolve(),
                    "sitelens-read-bench-load", ["--generate", *spec_args(args)],
                    log=logs / "load.log")
    for spec in specs:
        if (found := _raw_events(config, session, spec)) != spec.events:
            raise RuntimeError(f"{spec.day}: generated {found:,} events, expected "
                               f"{spec.events:,}")
    return (f"generated in Spark and written to raw_event_chunks in {loaded.wall_s:.1f} s "
            f"(CPU {loaded.cpu_s:.0f} s; {sum(s.events for s in specs):,} raw events, one "
            "spark-submit)")


@dataclass
class Expected:
    """What the answers must say, from the batch tables (CQL)."""

    days: list[date]
    pageviews: list[int]
    visitors: list[int]
    sessions: list[int]
    page_views: dict[str, int] = field(default_factory=dict)
    """page -> pageviews summed over the range (batch_breakdowns)."""


def expected_answers(session, first: date, last: date, count: int) -> tuple[Expected, list]:
    rows = sorted(closed_days(session, first, last), key=lambda r: r.day.date())
    if len(rows) != count:
        raise RuntimeError(f"batch_days holds {len(rows)} of the {count} days")
    found = Expected([r.day.date() for r in rows], [r.pageviews for r in rows],
                     [r.visitors for r in rows], [r.sessions for r in rows])
    select = session.prepare("SELECT value, pageviews FROM batch_breakdowns WHERE "
                             "site_id = ? AND day = ? AND version = ? AND dimension = 'page'")
    for r in rows:
        for page in session.execute(select, (SITE.site_id, r.day.date(), r.version)):
            found.page_views[page.value] = found.page_views.get(page.value, 0) + page.pageviews
    return found, rows


# -- 3. load --------------------------------------------------------------------------------

class Client:
    """One keep-alive HTTP connection; reconnects (and counts it) if the server closed it."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.reconnects = 0

    def call(self, method: str, path: str, body: bytes | None = None,
             ) -> tuple[int, bytes, float]:
        """(status, body, seconds from sending the request to the last byte)."""
        for attempt in range(2):
            began = time.perf_counter()
            try:
                self.conn.request(method, path, body, self.headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, data, time.perf_counter() - began
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


@dataclass
class Load:
    latencies: list[float]
    wall_s: float
    wrong: list[str]
    reconnects: int
    client_cpu_s: float
    """CPU time of this process (the client threads) during the timed part."""

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000


def hammer(port: int, token: str, path: str, body: bytes, *, check, clients: int,
           seconds: float) -> Load:
    """``clients`` threads post ``body`` to ``path`` one request after the other."""
    per_client: list[list[float]] = [[] for _ in range(clients)]
    wrong: list[str] = []
    reconnects = [0] * clients
    ready = threading.Barrier(clients + 1)

    def work(n: int) -> None:
        client = Client(port, token)
        try:
            for _ in range(WARMUP_REQUESTS):
                status, data, _ = client.call("POST", path, body)
                if problem := check(status, data):
                    wrong.append(problem)
            ready.wait()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                status, data, took = client.call("POST", path, body)
                per_client[n].append(took)
                if problem := check(status, data):
                    wrong.append(problem)
        except Exception as exc:  # noqa: BLE001 - reported as a wrong answer
            wrong.append(f"client {n}: {exc!r}")
            ready.abort()
        finally:
            reconnects[n] = client.reconnects
            client.close()

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait(timeout=300)
    except threading.BrokenBarrierError:
        pass  # a client failed before the timed part: its error is in ``wrong``
    began, cpu = time.monotonic(), time.process_time()
    for thread in threads:
        thread.join()
    return Load([t for c in per_client for t in c], time.monotonic() - began, wrong,
                sum(reconnects), time.process_time() - cpu)


def series_check(expected: Expected):
    periods = [d.isoformat() for d in expected.days]

    def check(status: int, data: bytes) -> str | None:
        if status != 200:
            return f"status {status}: {data[:300]!r}"
        answer = orjson.loads(data)
        rows = answer["rows"]
        if [r["period"] for r in rows] != periods:
            return f"periods {[r['period'] for r in rows]}"
        for name in ("pageviews", "visitors", "sessions"):
            if [r[name] for r in rows] != getattr(expected, name):
                return f"{name} {[r[name] for r in rows]} != {getattr(expected, name)}"
        if answer["meta"]["layers"]["speed"]:
            return f"days from the speed layer: {answer['meta']['layers']['speed']}"
        return None
    return check


def top_check(expected: Expected):
    def check(status: int, data: bytes) -> str | None:
        if status != 200:
            return f"status {status}: {data[:300]!r}"
        answer = orjson.loads(data)
        rows = answer["rows"]
        if len(rows) != 10 or answer["meta"]["total_rows"] != len(expected.page_views):
            return f"{len(rows)} rows of {answer['meta']['total_rows']}"
        for r in rows:
            if r["pageviews"] != expected.page_views.get(r["page"]):
                return (f"{r['page']}: {r['pageviews']} pageviews, batch tables say "
                        f"{expected.page_views.get(r['page'])}")
        visitors = [r["visitors"] for r in rows]
        if visitors != sorted(visitors, reverse=True):
            return f"not ordered by visitors: {visitors}"
        return None
    return check


def measure(name: str, port: int, token: str, path: str, *, query: dict, check,
            args) -> Load:
    body = orjson.dumps(query)
    client = Client(port, token)
    try:
        status, data, cold = client.call("POST", path, body)
    finally:
        client.close()
    if problem := check(status, data):
        raise SystemExit(f"{name}: wrong answer to the cold request: {problem}")
    load = hammer(port, token, path, body, check=check, clients=args.clients,
                  seconds=args.seconds)
    if load.wrong:
        raise SystemExit(f"{name}: {len(load.wrong)} wrong answers, e.g. {load.wrong[0]}")
    p99 = load.percentile(0.99)
    print(f"{name}: cold (first request) {cold * 1000:.1f} ms; {args.clients} clients x "
          f"{args.seconds:g} s: {len(load.latencies):,} requests = "
          f"{len(load.latencies) / load.wall_s:,.1f} req/s; p50 {load.percentile(0.5):.1f}, "
          f"p95 {load.percentile(0.95):.1f}, p99 {p99:.1f}, max "
          f"{max(load.latencies) * 1000:.1f} ms (target p99 <= {P99_TARGET_MS:.0f} ms: "
          f"{'PASS' if p99 <= P99_TARGET_MS else 'MISS'}); the clients used "
          f"{load.client_cpu_s / load.wall_s:.0%} of a core"
          + (f"; {load.reconnects} reconnects" if load.reconnects else ""))
    return load


# -- 4. extracts ----------------------------------------------------------------------------

def hyper_rows(path: Path, table_id: str) -> int:
    from tableauhyperapi import Connection, TableName

    from api.read.extract import SCHEMA, hyper_process

    with hyper_process() as hyper, Connection(hyper.endpoint, str(path)) as connection:
        return connection.execute_scalar_query(
            f"SELECT COUNT(*) FROM {TableName(SCHEMA, table_id)}")


def repeated_rows(real: list[dict], count: int, span_days: int) -> list[dict]:
    """``count`` rows: ``real`` again and again, each round's dates ``span_days`` later."""
    rows: list[dict] = []
    rounds = 0
    while len(rows) < count:
        shift = timedelta(days=span_days * rounds)
        for row in real[:count - len(rows)]:
            rows.append({**row, "date": (date.fromisoformat(row["date"]) + shift).isoformat()})
        rounds += 1
    return rows


def _extract_line(label: str, rows: int, seconds: float, path: Path) -> str:
    return (f"{label}: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s, "
            f"{path.stat().st_size / 2**20:.1f} MiB")


def extracts(port: int, token: str, first: date, last: date, *, args, logs: Path) -> None:
    from api.read.extract import write_hyper
    from api.read.tables import TABLES

    scope = urlencode({"site_id": SITE.site_id, "start": first.isoformat(),
                       "end": last.isoformat()})
    client = Client(port, token)
    try:
        status, data, _ = client.call("GET", f"/api/v1/export/pages?{scope}")
        if status != 200:
            raise SystemExit(f"JSON export: status {status}: {data[:300]!r}")
        real = orjson.loads(data)["rows"]
        span = (last - first).days + 1
        rows = repeated_rows(real, args.extract_rows, span)
        path = logs / "pages-direct.hyper"
        began = time.perf_counter()
        written = write_hyper(path, [(TABLES["pages"], rows)], log_dir=logs / "hyper")
        took = time.perf_counter() - began
        del rows
        if written["pages"] != args.extract_rows or hyper_rows(path, "pages") != args.extract_rows:
            raise SystemExit(f"extract: {written} rows written, expected {args.extract_rows:,}")
        rounds = math.ceil(args.extract_rows / len(real))
        print(_extract_line("4a. write_hyper, table pages", args.extract_rows, took, path)
              + f" (the {len(real):,} real rows of the range, {rounds} times with dates "
              f"shifted by {span} days; a private hyperd started and stopped inside)")
        for n in range(args.http_extracts):
            status, data, took = client.call("GET",
                                             f"/api/v1/export/pages?{scope}&format=hyper")
            if status != 200:
                raise SystemExit(f"hyper export: status {status}: {data[:300]!r}")
            path = logs / f"pages-http-{n}.hyper"
            path.write_bytes(data)
            if (found := hyper_rows(path, "pages")) != len(real):
                raise SystemExit(f"hyper export: {found:,} rows, the JSON export has "
                                 f"{len(real):,}")
            print(_extract_line(f"4b. GET /api/v1/export/pages?format=hyper, {span} days "
                                f"(run {n + 1})", len(real), took, path))
    finally:
        client.close()


# -- the bench ------------------------------------------------------------------------------

def run(args) -> int:
    started = time.monotonic()
    specs = day_specs(args)
    first, last = specs[0].day, specs[-1].day
    if args.generate:
        generate(Config.from_env().replace(cassandra_keyspace=KEYSPACE), *specs,
                 app_name="sitelens-read-bench-load")
        return 0
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    base = Config.from_env()
    logs = base.state_dir / "bench" / f"read-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    config = base.replace(cassandra_keyspace=KEYSPACE)
    jars.resolve_all(config)
    lifecycle.start(base, ["kafka", "cassandra"], log=lambda _: None)
    apply_schema(config, log=lambda _: None)
    load_before = os.getloadavg()[0]
    cluster, session = connect(config, config.cassandra_keyspace)
    service, token_id = None, None
    try:
        SiteRepository(session).save(SITE)
        done = prepare_data(config, session, specs, args, logs)
        expected, rows = expected_answers(session, first, last, len(specs))
        raw, duplicates, bots = (sum(getattr(r, n) for r in rows)
                                 for n in ("raw_events", "duplicates", "bot_events"))
        counted = raw - duplicates - bots
        hours = {round((e - s).total_seconds() / 3600)
                 for s, e in (day_bounds(d, SITE.timezone) for d in expected.days)}
        print(f"== read path on loopback: read service (gunicorn gthread, "
              f"{config.read_api_workers} workers x {config.read_api_threads} threads), "
              f"{args.clients} client threads, Cassandra and everything else on this box's "
              f"{os.cpu_count()} cores")
        print(f"1. data: {SITE.site_id} ({SITE.timezone}; days of {sorted(hours)} hours), "
              f"{first}..{last} ({len(specs)} days), {args.events_per_day:,} raw events a "
              f"day from {args.visitors:,} visitors, {args.paths} paths")
        for line in done:
            print(f"   {line}")
        print(f"   batch_days (CQL): {len(rows)} days closed; raw {raw:,}, duplicates "
              f"{duplicates:,}, bot events {bots:,}, counted events {counted:,} (>= 1,000,000:"
              f" {'yes' if counted >= 1_000_000 else 'NO'}); pageviews "
              f"{sum(expected.pageviews):,}, custom events "
              f"{sum(r.custom_events for r in rows):,}, sessions {sum(expected.sessions):,}; "
              f"{len(expected.page_views)} pages")

        service = ReadService(config.replace(read_api_port=args.port, state_dir=logs)).start()
        token, secret = _token(session)
        token_id = token.token_id
        print(f"2. read service on 127.0.0.1:{args.port} (keyspace {KEYSPACE}), pid "
              f"{service.proc.pid}, RSS {tree_rss(service.proc.pid) / 2**20:.0f} MiB at start")
        scope = {"site_id": SITE.site_id, "date_range": "custom", "start": first.isoformat(),
                 "end": last.isoformat()}
        print(f"3. load (each client: {WARMUP_REQUESTS} untimed requests, then timed; every "
              f"answer checked against the batch tables)")
        measure(f"3a. time series, {len(specs)} days by day ({', '.join(SERIES_METRICS)})",
                args.port, secret, "/api/v1/reports/timeseries",
                query={**scope, "interval": "day", "metrics": list(SERIES_METRICS)},
                check=series_check(expected), args=args)
        measure(f"3b. top-10 pages of the {len(specs)} days ({', '.join(TOP_METRICS)})",
                args.port, secret, "/api/v1/reports/breakdown",
                query={**scope, "dimensions": ["page"], "metrics": list(TOP_METRICS),
                       "limit": 10},
                check=top_check(expected), args=args)
        after_load = tree_rss(service.proc.pid)
        extracts(args.port, secret, first, last, args=args, logs=logs)
        print(f"5. read service RSS (master + {config.read_api_workers} workers): "
              f"{after_load / 2**20:.0f} MiB after the load, "
              f"{tree_rss(service.proc.pid) / 2**20:.0f} MiB after the extracts")
    finally:
        if service is not None:
            service.stop()
        if token_id is not None:
            _revoke(session, token_id)
        cluster.shutdown()
    print(f"machine load (1-minute average, {os.cpu_count()} cores): {load_before:.1f} before "
          f"the service started, {os.getloadavg()[0]:.1f} at the end; other work on the box "
          "slows every figure")
    print(f"logs and extracts: {logs}; whole run {time.monotonic() - started:.0f} s")
    return 0


def _token(session):
    from api.read.tokens import TokenStore

    return TokenStore(session).create([SITE.site_id], "read-bench")


def _revoke(session, token_id: str) -> None:
    from api.read.tokens import TokenStore

    TokenStore(session).revoke(token_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--end-day", type=date.fromisoformat, default=date(2026, 11, 10),
                        help="last day of the range (site-local)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events-per-day", type=int, default=36_000,
                        help="raw events a day, copies and bots included")
    parser.add_argument("--visitors", type=int, default=100_000,
                        help="visitor ids the sessions draw from (the same every day)")
    parser.add_argument("--paths", type=int, default=300)
    parser.add_argument("--partitions", type=int, default=Config().topic_partitions,
                        help="Kafka partitions the records are spread over (chunk keys)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the data if batch_days already holds the whole range")
    parser.add_argument("--port", type=int, default=18401)
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed load per report")
    parser.add_argument("--extract-rows", type=int, default=1_000_000)
    parser.add_argument("--http-extracts", type=int, default=3,
                        help="times the service's .hyper export is fetched")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Spark setting for the batch job (experiments only)")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
