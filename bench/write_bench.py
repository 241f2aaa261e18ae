"""Write path load test on loopback: accepted events/s, p50/p99 latency, all in Kafka.

    .venv/bin/python bench/write_bench.py [--duration 15] [--connections 64]

Starts (or reuses) Kafka and Cassandra, runs the write service under gunicorn on its own
port with its own topics (rate limit off), drives it with wrk (Debian's, a Lua script for
the POST body), counts the new messages in Kafka, and runs the same load against a bare
Falcon endpoint that answers 204. Targets (issue 3) on the 2-core machine: >= 5,000
single-event requests/s, >= 20,000 events/s in batches of 20, p99 <= 50 ms, every accepted
event found in Kafka.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from analytics.config import REPO_ROOT, Config  # noqa: E402
from analytics.kafka_topics import end_offsets, ensure_topics  # noqa: E402
from analytics.sites import Site, SiteRepository  # noqa: E402
from analytics.storage.session import connect  # noqa: E402
from stack import jars, lifecycle  # noqa: E402
from stack.schema import apply_schema  # noqa: E402

LUA = Path(__file__).with_name("wrk") / "post.lua"
SITE = "bench.test"


def _event(i: int) -> dict:
    return {"site_id": SITE, "kind": "pageview", "url": f"https://bench.example/page/{i}",
            "referrer": "https://www.google.com/", "title": "Bench page",
            "screen_width": 1440, "screen_height": 900, "language": "en-US"}


def _start_gunicorn(config: Config, app: str, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
    env.update(config.to_env())
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "api/write/gunicorn_conf.py",
                             app], cwd=REPO_ROOT, env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{config.write_api_port}/metrics", timeout=5)
            return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"{app} did not start; see {log}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(30)


def _wrk(port: int, body: Path, duration: int, connections: int, threads: int, *,
         delay_ms: float | None = None, id_prefix: str | None = None) -> dict:
    """One wrk run; ``delay_ms`` paces each connection (a wait after each answer);
    ``id_prefix`` (8 hex digits) gives each request an event id of its own."""
    env = {**os.environ, "WRK_BODY": str(body), "WRK_PATH": "/api/event"}
    if delay_ms is not None:
        env["WRK_DELAY_MS"] = f"{delay_ms:.3f}"
    if id_prefix is not None:
        env["WRK_ID_PREFIX"] = id_prefix
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
         "-s", str(LUA), f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"requests": requests, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1) if errors else "none",
            "p50": pct("50"), "p99": pct("99")}


def _accepted_total(config: Config) -> int:
    """The service's own count of accepted events (all workers), from /metrics."""
    url = f"http://127.0.0.1:{config.write_api_port}/metrics"
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return int(sum(float(v) for v in re.findall(
        r'^analytics_write_events_accepted_total\{[^}]*\} ([\d.e+]+)$', text, re.M)))


def _topic_total(config: Config) -> int:
    return sum(end_offsets(config, config.topic_raw_events).values())


def _prepare(config: Config) -> None:
    jars.resolve_all(config)
    lifecycle.start(config, ["kafka", "cassandra"], log=lambda _: None)
    apply_schema(config, log=lambda _: None)
    ensure_topics(config)
    cluster, session = connect(config, config.cassandra_keyspace)
    SiteRepository(session).save(Site(site_id=SITE, domain="bench.example"))
    cluster.shutdown()


def run(args) -> int:
    base = Config.from_env()
    config = base.replace(
        write_api_port=18200, rate_limit_per_s=0.0, topic_raw_events="bench.events.raw",
        topic_invalid_events="bench.events.invalid", serve_demo=False,
        write_api_workers=args.workers,
        kafka_linger_ms=args.linger_ms,
        spool_dir=Path(tempfile.mkdtemp(prefix="bench-write-")))
    _prepare(config)
    bodies = Path(config.spool_dir)
    single, batch = bodies / "single.json", bodies / "batch20.json"
    single.write_text(json.dumps(_event(1)))
    batch.write_text(json.dumps([_event(i) for i in range(20)]))
    log = bodies / "gunicorn.log"
    results = {}
    try:
        proc = _start_gunicorn(config, "api.write.asgi:app", log)
        try:
            _wrk(config.write_api_port, single, 3, args.connections, args.wrk_threads)  # warm
            for name, body, per_request, connections in (
                    ("single", single, 1, args.connections),
                    ("batch20", batch, 20, args.batch_connections)):
                before, accepted_before = _topic_total(config), _accepted_total(config)
                result = _wrk(config.write_api_port, body, args.duration, connections,
                              args.wrk_threads)
                time.sleep(2)  # requests in flight when wrk stopped still finish
                result["accepted_events"] = _accepted_total(config) - accepted_before
                result["in_kafka"] = _topic_total(config) - before
                result["events_per_s"] = result["rps"] * per_request
                result["per_request"] = per_request
                results[name] = result
        finally:
            _stop(proc)
        proc = _start_gunicorn(config, "bench.bare_app:app", log)
        try:
            _wrk(config.write_api_port, single, 3, args.connections, args.wrk_threads)
            results["bare"] = _wrk(config.write_api_port, single, args.duration,
                                   args.connections, args.wrk_threads)
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(config.spool_dir, ignore_errors=True)
    _report(results, args)
    return 0


def _report(results: dict, args) -> None:
    print(f"== write path: {args.workers} gunicorn asyncio workers, "
          f"producer linger {args.linger_ms} ms, wrk {args.wrk_threads} thread(s), "
          f"{args.connections} connections ({args.batch_connections} for batches), "
          f"{args.duration} s per run, loopback")
    targets = {"single": (5000, "requests/s"), "batch20": (20000, "events/s")}
    for name in ("single", "batch20"):
        r = results[name]
        rate = r["rps"] if name == "single" else r["events_per_s"]
        target, unit = targets[name]
        print(f"{name:<8} {r['rps']:9.0f} req/s {r['events_per_s']:9.0f} events/s  "
              f"p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms  non-2xx {r['non2xx']}  "
              f"socket errors {r['socket_errors']}")
        print(f"         target >= {target} {unit}: {'OK' if rate >= target else 'MISSED'}; "
              f"p99 <= 50 ms: {'OK' if r['p99'] <= 50 else 'MISSED'}; accepted events "
              f"{r['accepted_events']}, found in Kafka {r['in_kafka']}: "
              f"{'OK' if r['in_kafka'] == r['accepted_events'] else 'MISMATCH'}")
    bare = results["bare"]
    print(f"bare     {bare['rps']:9.0f} req/s (Falcon endpoint answering 204)  "
          f"p50 {bare['p50']:6.2f} ms  p99 {bare['p99']:6.2f} ms")
    print(f"ratio    write service / bare Falcon = {results['single']['rps'] / bare['rps']:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64,
                        help="wrk connections for single events and the bare endpoint")
    parser.add_argument("--batch-connections", type=int, default=16,
                        help="wrk connections for batches of 20")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--linger-ms", type=int, default=Config().kafka_linger_ms)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
