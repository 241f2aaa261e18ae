"""Speed-layer benchmark on this machine (local[2], Kafka and Cassandra on the same box).

    .venv/bin/python bench/stream_bench.py [--events 2000000] [--rates 10000,15000,20000]
                                           [--seconds 60]

Prints three figures (targets from the speed-layer issue):

1. catch-up throughput: N enriched events put on a fresh topic, then the job started;
   events/s from the job being up to both queries having processed every offset
   (raw table + every realtime view written);
2. sustained load: events produced at a fixed rate (a separate process) while the job
   runs; the lag (records on the topic not yet processed, sampled every 5 s) must not grow.
   Each of ``--rates`` in turn, lowest first, until the job falls behind; the highest rate
   it kept up with is the figure (target: >= 20,000 events/s);
3. freshness: during that load, a probe pageview every 0.5 s through the write API
   (gunicorn); seconds from its 2xx to its row in ``realtime_views`` (target p95 <= 5 s);
   plus the same at idle before the load;

and the job's memory (RSS of the JVM and the Python driver, peak). Uses its own keyspace
(``analytics_bench``), topic and checkpoint folder; Kafka and Cassandra are started (or
reused) from the local run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import shutil
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

from analytics.config import REPO_ROOT, Config  # noqa: E402
from analytics.kafka_topics import end_offsets  # noqa: E402
from analytics.sites import Site, SiteRepository  # noqa: E402
from analytics.storage.session import connect  # noqa: E402
from stack import jars, lifecycle  # noqa: E402
from stack.launch import SpeedLayerJob, WriteService  # noqa: E402
from stack.schema import apply_schema  # noqa: E402
from streaming.progress import QUERIES, lag, processed_offsets  # noqa: E402

SITES = [f"s{i}.bench" for i in range(20)]
PROBE_SITE = "probe.bench"
SOURCES = [None, None, None, "newsletter", "twitter", "adwords", None, None]
REFERRERS = [None, "google.com", "news.ycombinator.com", "duckduckgo.com", "t.co", None]
NAMES = ["signup", "download", "play", "share", "purchase"]
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/141.0.0.0 Safari/537.36")


class EventMaker:
    """Enriched events as the write service publishes them (schema enriched_event/1-0-0),
    with a realistic mix: 20 sites, 300 paths, 200k visitors, 80 % pageviews, 10 % custom,
    10 % engagement pings, 2 % bots, 1 % duplicates (an event id sent again)."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        self.recent: list[tuple[str, str]] = []

    def event(self, at_ms: int) -> bytes:
        rng = self.rng
        if self.recent and rng.random() < 0.01:
            site, event_id = rng.choice(self.recent)
        else:
            site, event_id = rng.choice(SITES), str(uuid.uuid4())
            if len(self.recent) < 1000:
                self.recent.append((site, event_id))
            else:
                self.recent[rng.randrange(1000)] = (site, event_id)
        roll = rng.random()
        kind = "pageview" if roll < 0.8 else "custom" if roll < 0.9 else "engagement"
        path = f"/p{rng.randrange(300)}"
        source, referrer = rng.choice(SOURCES), rng.choice(REFERRERS)
        return orjson.dumps({
            "schema": "analytics/enriched_event/1-0-0", "event_id": event_id, "site_id": site,
            "kind": kind, "name": rng.choice(NAMES) if kind == "custom" else None,
            "url": f"https://{site}{path}", "host": site, "path": path,
            "referrer_host": referrer, "utm_source": source, "title": "Bench",
            "screen_width": 1440, "screen_height": 900, "language": "en-US",
            "engagement_ms": 12_000 if kind == "engagement" else None,
            "received_at": at_ms, "event_time": at_ms,
            "visitor_id": f"{rng.randrange(200_000):032x}", "id_source": "cookieless",
            "browser": "Chrome", "os": "Windows", "device_type": "desktop", "country": "DE",
            "is_bot": rng.random() < 0.02, "source_channel": "tracker",
        })


def _producer(config: Config) -> Producer:
    return Producer({"bootstrap.servers": config.bootstrap_servers, "linger.ms": 20,
                     "batch.size": 1_000_000, "compression.type": "none",
                     "queue.buffering.max.messages": 2_000_000})


def preload(config: Config, count: int, rate: int) -> float:
    """``count`` events whose event times are spread as if they came at ``rate``/s,
    ending now; returns the produce rate reached."""
    producer, maker = _producer(config), EventMaker()
    now = int(time.time() * 1000)
    began = time.monotonic()
    for i in range(count):
        producer.produce(config.topic_raw_events, maker.event(now - (count - i) * 1000 // rate))
        if i % 50_000 == 0:
            producer.poll(0)
    producer.flush(120)
    return count / (time.monotonic() - began)


def paced_producer(env: dict, rate: int, seconds: float, produced) -> None:
    """Process body: produce ``rate`` events/s for ``seconds`` (event time = now)."""
    config = Config.from_env(env)
    producer, maker = _producer(config), EventMaker(seed=int(time.time()))
    began = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - began) < seconds:
        due = int(elapsed * rate)
        now = int(time.time() * 1000)
        while sent < due:
            producer.produce(config.topic_raw_events, maker.event(now))
            sent += 1
        producer.poll(0)
        time.sleep(0.005)
    producer.flush(60)
    produced.value = sent


class MemorySampler(threading.Thread):
    def __init__(self, job: SpeedLayerJob):
        super().__init__(daemon=True)
        self.job, self.peak, self.stopped = job, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            self.peak = max(self.peak, self.job.rss_bytes())


class Probes:
    """Pageviews with unique paths through the write API; when each shows up in
    ``realtime_views`` (view ``pages``)."""

    def __init__(self, write: WriteService, session, config: Config):
        self.write, self.session, self.config = write, session, config
        self.acked: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.run_id = uuid.uuid4().hex[:6]

    def run(self, count: int, interval: float) -> list[float]:
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(done,), daemon=True)
        watcher.start()
        paths = []
        for i in range(count):
            path = f"/probe/{self.run_id}/{i}"
            body = orjson.dumps({"site_id": PROBE_SITE, "kind": "pageview",
                                 "url": f"https://probe.bench{path}"})
            request = urllib.request.Request(self.write.base + "/api/event", data=body,
                                             headers={"User-Agent": CHROME,
                                                      "Content-Type": "text/plain"})
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
            if status == 202:
                self.acked[path] = time.monotonic()
                paths.append(path)
            time.sleep(interval)
        deadline = time.monotonic() + 60
        while any(p not in self.seen for p in paths) and time.monotonic() < deadline:
            time.sleep(0.1)
        done.set()
        watcher.join()
        return [self.seen[p] - self.acked[p] for p in paths if p in self.seen] + \
            [float("inf")] * sum(p not in self.seen for p in paths)

    def _watch(self, done: threading.Event) -> None:
        query = self.session.prepare(
            "SELECT key FROM realtime_views WHERE site_id = ? AND view_name = 'pages' AND hour = ?")
        while not done.is_set():
            now = datetime.now(UTC).replace(tzinfo=None)
            for hour in {now.replace(minute=0, second=0, microsecond=0),
                         (now - timedelta(minutes=1)).replace(minute=0, second=0,
                                                              microsecond=0)}:
                for row in self.session.execute(query, (PROBE_SITE, hour)):
                    if row.key in self.acked and row.key not in self.seen:
                        self.seen[row.key] = time.monotonic()
            time.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sustained(config: Config, session, write: WriteService, rate: int, seconds: int) -> bool:
    """Phase 2 and 3b at one rate: a paced load from another process, lag samples, probes.
    Prints the figures; returns whether the job kept up."""
    produced = multiprocessing.Value("l", 0)
    load = multiprocessing.Process(
        target=paced_producer, args=(config.to_env(), rate, seconds, produced))
    load.start()
    lags: list[tuple[float, int]] = []
    stop_lag = threading.Event()

    def sample_lag() -> None:
        start = time.monotonic()
        while not stop_lag.wait(5.0):
            lags.append((time.monotonic() - start, lag(config, session)))

    lag_thread = threading.Thread(target=sample_lag, daemon=True)
    lag_thread.start()
    time.sleep(5)
    loaded = Probes(write, session, config).run(int((seconds - 10) / 0.5), 0.5)
    load.join()
    stop_lag.set()
    lag_thread.join()
    drained_from = time.monotonic()
    while lag(config, session) > 0 and time.monotonic() - drained_from < 600:
        time.sleep(0.5)
    drain = time.monotonic() - drained_from
    achieved = produced.value / seconds
    during = [n for t, n in lags if t <= seconds]
    samples = ", ".join(f"{t:.0f}s:{n:,}" for t, n in lags if t <= seconds)
    # Keeping up: the lag does not grow while the load runs. Its level is the input of the
    # batch in flight (and of the last 2 s poll); the mean of the last third of the samples
    # may exceed the first third's by at most one second of input.
    third = max(1, len(during) // 3)
    growth = (sum(during[-third:]) - sum(during[:third])) / third if during else float("inf")
    keeps_up = growth <= rate and achieved >= 0.98 * rate
    print(f"2. sustained: {produced.value:,} events at {achieved:,.0f}/s for {seconds} s; "
          f"lag (records not yet processed) {samples}; grew {growth:,.0f} from the first "
          f"third to the last; drained {drain:.1f} s after the load stopped: "
          f"{'keeps up' if keeps_up else 'FALLS BEHIND'} at {achieved:,.0f} events/s")
    p95 = percentile(loaded, 0.95)
    print(f"3b. freshness under that load ({len(loaded)} probes): "
          f"p50 {percentile(loaded, 0.5):.2f} s, p95 {p95:.2f} s, max {max(loaded):.2f} s "
          f"(target p95 <= 5 s: {'OK' if p95 <= 5 else 'MISSED'})", flush=True)
    return keeps_up


def highest_kept_up(config: Config, session, write: WriteService, rates: list[int],
                    seconds: int) -> None:
    """Phase 2 at each rate, lowest first, until the job falls behind; prints the highest
    rate it kept up with."""
    kept = 0
    for rate in sorted(rates):
        if not sustained(config, session, write, rate, seconds):
            break
        kept = rate
    verdict = "OK" if kept >= 20_000 else "MISSED"
    print(f"2. sustained: keeps up with {kept:,} events/s of the rates tried "
          f"({', '.join(f'{r:,}' for r in sorted(rates))}) (target >= 20,000: {verdict})")


def run(args) -> int:
    run_id = uuid.uuid4().hex[:8]
    state = REPO_ROOT / ".state" / "bench" / f"stream-{run_id}"
    config = Config.from_env().replace(
        cassandra_keyspace="analytics_bench", topic_raw_events=f"bench.stream.{run_id}.raw",
        topic_invalid_events=f"bench.stream.{run_id}.invalid", state_dir=state,
        write_api_port=18300, rate_limit_per_s=0.0, serve_demo=False)
    jars.resolve_all(config)
    lifecycle.start(Config.from_env(), ["kafka", "cassandra"], log=lambda _: None)
    apply_schema(config, log=lambda _: None)
    cluster, session = connect(config, config.cassandra_keyspace)
    for site in [*SITES, PROBE_SITE]:
        SiteRepository(session).save(Site(site_id=site, domain=site))
    print(f"== speed layer on {config.spark_master}, trigger {config.streaming_trigger}, "
          f"{config.topic_partitions} partitions, max {config.streaming_max_offsets_per_trigger} "
          f"records per micro-batch; Kafka, Cassandra, the job, the load generator and the "
          f"write service share this machine's cores")
    produce_rate = preload(config, args.events, max(args.rates))
    print(f"preloaded {args.events:,} events ({produce_rate:,.0f}/s into Kafka)")
    write = WriteService(config).start()
    job = SpeedLayerJob(config, name="bench-speed-layer")
    sampler = MemorySampler(job)
    try:
        began = time.monotonic()
        job.start()
        sampler.start()
        ready = time.monotonic()
        target = end_offsets(config, config.topic_raw_events)
        while any(processed_offsets(config, session, q) != target for q in QUERIES):
            if job.proc.poll() is not None:
                raise RuntimeError(job.tail())
            time.sleep(0.25)
        caught_up = time.monotonic()
        rate = args.events / (caught_up - ready)
        print(f"1. catch-up: job up in {ready - began:.1f} s, then {args.events:,} events "
              f"in {caught_up - ready:.1f} s = {rate:,.0f} events/s "
              f"(target >= 20,000: {'OK' if rate >= 20_000 else 'MISSED'})")

        idle = Probes(write, session, config).run(args.idle_probes, 0.5)
        print(f"3a. freshness at idle ({len(idle)} probes): p50 {percentile(idle, 0.5):.2f} s, "
              f"p95 {percentile(idle, 0.95):.2f} s, max {max(idle):.2f} s")

        highest_kept_up(config, session, write, args.rates, args.seconds)
        print(f"4. memory: job peak RSS {sampler.peak / 2**30:.2f} GiB (JVM with "
              f"{config.spark_driver_memory} heap + Python driver), now "
              f"{job.rss_bytes() / 2**30:.2f} GiB")
    finally:
        sampler.stopped.set()
        job.stop()
        write.stop()
        cluster.shutdown()
        shutil.rmtree(state, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rates", type=lambda text: [int(r) for r in text.split(",")],
                        default=[10_000, 15_000, 20_000],
                        help="paced loads to try, lowest first, until one falls behind")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--idle-probes", type=int, default=20)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
