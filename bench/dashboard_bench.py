"""Dashboard load time in headless Chromium over the read bench's month of data.

    .venv/bin/python bench/dashboard_bench.py [--events 1080000] [--runs 5] [--fresh]
        [--port 18402]

1. data: the read bench's site (``read-ber.bench``, Europe/Berlin, 30 batch-closed days up
   to 2026-11-10 in ``analytics_bench``), made by ``bench/read_bench.py``'s own setup
   (generated in Spark, closed by one ``batch/job.py`` run) or reused when ``batch_days``
   already holds every day with the expected raw events (``--fresh`` makes it again);
   ``--events`` is the total over the 30 days (``--events-per-day`` of the read bench);
2. the dashboard's build (``stack.frontend``, as ``make setup``): its JS + CSS gzipped,
   as ``npm run size`` counts them (target <= 150 KB);
3. a person of the accounts store with the viewer role on the site; the read service under
   gunicorn on its own port; Debian's Chromium (headless, a desktop user agent);
4. the time from navigation to "every number of the 30-day view is on screen": the page's
   own clock (``performance.now()``, 0 at navigation start) when, for the first time, every
   breakdown card says ``data-loaded="true"`` (its rows, its "no data", or its offer of a
   Spark job arrived for the current query), and so do the top stats (``.stats``) and the
   main chart (``.chart-area``). A MutationObserver installed before the page's scripts
   notes that moment. The view is ``/dashboard/read-ber.bench?period=custom&from=…&to=…``
   (the 30 days: default cards, by day).
   - cold (``--runs`` times): a read service started just before (its report caches
     empty), a new browser context (empty HTTP cache), signed in through the API, then
     the navigation;
   - warm (``--runs`` times): reloads of the page in the last cold run's context (assets
     from the browser's cache, the service's caches filled).
   Median and p90 of each (target: warm <= 1.5 s).

Kafka and Cassandra are started (or reused) from the local run. The browser, the read
service and Cassandra share the machine's cores with anything else running.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from argparse import Namespace
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.config import Config  # noqa: E402
from analytics.sites import SiteRepository  # noqa: E402
from analytics.storage.session import connect  # noqa: E402
from bench.batch_bench import KEYSPACE  # noqa: E402
from bench.read_bench import SITE, closed_days, day_specs, prepare_data  # noqa: E402
from stack import jars, lifecycle  # noqa: E402
from stack.frontend import DASHBOARD, build_dashboard  # noqa: E402
from stack.launch import ReadService  # noqa: E402
from stack.schema import apply_schema  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
DESKTOP_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
              "Gecko) Chrome/141.0.0.0 Safari/537.36")
USER = "bench-dashboard@example.com"
WARM_TARGET_S = 1.5
BUNDLE_TARGET = 150 * 1024
CARDS = 6  # breakdown cards of the overview (dashboard/src/components/cards.js)

# Installed before the page's own scripts: notes performance.now() the first time every
# card, the top stats and the chart say data-loaded="true".
READY_WATCH = """
(() => {
  const ready = () => {
    const cards = document.querySelectorAll('section.card')
    const parts = [...cards, document.querySelector('.stats'),
                   document.querySelector('.chart-area')]
    return cards.length >= CARDS && parts.every(e => e && e.dataset.loaded === 'true')
  }
  const watch = new MutationObserver(() => {
    if (window.__ready === undefined && ready()) {
      window.__ready = performance.now()
      watch.disconnect()
    }
  })
  document.addEventListener('DOMContentLoaded', () => watch.observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['data-loaded']}))
})()
""".replace("CARDS", str(CARDS))


def bundle_bytes() -> dict[str, int]:
    """Gzipped bytes of each built JS and CSS file, as ``npm run size`` counts them (its
    script's own lines: Node's zlib, best compression)."""
    done = subprocess.run(["node", str(DASHBOARD / "scripts" / "size.mjs")],
                          capture_output=True, text=True, check=False)
    found = {m[1]: int(m[2]) for m in re.finditer(r"^(\S+\.(?:js|css)): \d+ bytes raw, "
                                                  r"(\d+) bytes gzipped$", done.stdout, re.M)}
    if not found:
        raise SystemExit(f"npm run size: {done.stdout}{done.stderr}")
    return found


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]


def summary(name: str, seconds: list[float], target: float | None = None) -> str:
    line = (f"{name}: median {statistics.median(seconds):.2f} s, p90 "
            f"{percentile(seconds, 90):.2f} s (runs: "
            f"{', '.join(f'{s:.2f}' for s in seconds)})")
    if target is not None:
        met = percentile(seconds, 90) <= target and statistics.median(seconds) <= target
        line += f"; target <= {target} s: {'met' if met else 'MISSED'}"
    return line


def person(config: Config, session) -> str:
    """The bench's viewer of the site, with a new password each run."""
    from api.manage_users import accounts_of

    accounts = accounts_of(config, session)
    password = secrets.token_urlsafe(18)
    now = datetime.now(UTC)
    if any(u.email == USER for u in accounts.all_users()):
        accounts.set_password(USER, password, now)
    else:
        accounts.create_user(USER, password, now)
    accounts.grant(USER, SITE.site_id, "viewer", now)
    return password


def load_once(browser, base: str, view: str, password: str, context=None):
    """(seconds to ready, the context): a new signed-in context unless one is given (then
    a reload of the page it shows)."""
    if context is None:
        context = browser.new_context(user_agent=DESKTOP_UA, locale="en-GB",
                                      viewport={"width": 1280, "height": 900})
        context.add_init_script(READY_WATCH)
        signed = context.request.post(f"{base}/api/v1/auth/login",
                                      data={"email": USER, "password": password})
        if signed.status != 200:
            raise SystemExit(f"sign-in failed: {signed.status} {signed.text()[:300]}")
        page = context.new_page()
        page.goto(base + view, wait_until="commit")
    else:
        page = context.pages[0]
        page.reload(wait_until="commit")
    page.wait_for_function("() => window.__ready !== undefined", timeout=120_000)
    ready_ms = page.evaluate("window.__ready")
    rows = page.locator("section[data-card='pages'] .list-row").count()
    visitors = page.locator(".stat", has_text="Unique visitors").locator(
        ".stat-value").inner_text()
    if rows == 0 or visitors in ("0", "—"):
        raise SystemExit(f"the view shows no data (pages rows {rows}, visitors {visitors!r})")
    return ready_ms / 1000, context


def prepare(args, config: Config, logs: Path) -> tuple[date, date, str]:
    """Steps 1-3 before the browser: data, build, person; (first day, last day, password)."""
    read_args = Namespace(end_day=args.end_day, days=args.days,
                          events_per_day=args.events // args.days, visitors=args.visitors,
                          paths=args.paths, partitions=args.partitions,
                          reuse=not args.fresh, conf=[])
    specs = day_specs(read_args)
    first, last = specs[0].day, specs[-1].day
    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        SiteRepository(session).save(SITE)
        began = time.monotonic()
        done = prepare_data(config, session, specs, read_args, logs)
        rows = closed_days(session, first, last)
        print(f"== dashboard load time: headless Chromium, read service (gunicorn), "
              f"Cassandra on this box's {os.cpu_count()} cores")
        print(f"1. data: {SITE.site_id}, {first}..{last} ({len(specs)} days, closed: "
              f"{len(rows)}), {sum(r.raw_events for r in rows):,} raw events "
              f"({read_args.events_per_day:,} a day); setup {time.monotonic() - began:.0f} s")
        for line in done:
            print(f"   {line}")
        built = build_dashboard()
        sizes = bundle_bytes()
        total = sum(sizes.values())
        print(f"2. {built}; JS + CSS gzipped: {total:,} bytes ({total / 1024:.1f} KB: "
              + ", ".join(f"{n} {b:,}" for n, b in sizes.items())
              + f"); target <= {BUNDLE_TARGET // 1024} KB: "
              f"{'met' if total <= BUNDLE_TARGET else 'MISSED'}")
        return first, last, person(config, session)
    finally:
        cluster.shutdown()


def measure(service_config: Config, view: str, password: str, runs: int, shot: Path,
            ) -> tuple[list[float], list[float]]:
    """(cold seconds, warm seconds), ``runs`` of each; a screenshot of the view to
    ``shot``."""
    from playwright.sync_api import sync_playwright

    cold, warm = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            context = None
            for _ in range(runs):
                if context is not None:
                    context.close()
                service = ReadService(service_config).start()
                try:
                    seconds, context = load_once(browser, service.base, view, password)
                    cold.append(seconds)
                finally:
                    service.stop()
            service = ReadService(service_config).start()
            try:
                # the last cold context against a new service: its first reload fills the
                # service's caches (not timed), then the timed reloads
                load_once(browser, service.base, view, password, context)
                for _ in range(runs):
                    warm.append(load_once(browser, service.base, view, password, context)[0])
                context.pages[0].screenshot(path=str(shot), full_page=True)
            finally:
                service.stop()
        finally:
            browser.close()
    return cold, warm


def run(args) -> int:
    started = time.monotonic()
    base_config = Config.from_env()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    logs = base_config.state_dir / "bench" / f"dashboard-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    config = base_config.replace(cassandra_keyspace=KEYSPACE)
    jars.resolve_all(config)
    lifecycle.start(base_config, ["kafka", "cassandra"], log=lambda _: None)
    apply_schema(config, log=lambda _: None)
    first, last, password = prepare(args, config, logs)
    view = f"/dashboard/{SITE.site_id}?period=custom&from={first}&to={last}"
    print(f"3. {USER} (viewer of the site); {view}")
    cold, warm = measure(config.replace(read_api_port=args.port, state_dir=logs), view,
                         password, args.runs, logs / "dashboard-30-days.png")
    print(f"4. navigation -> every card, the top stats and the chart loaded "
          f"(data-loaded), {args.runs} runs each:")
    print(f"   {summary('cold (service just started, empty browser cache)', cold)}")
    print(f"   {summary('warm (reload)', warm, WARM_TARGET_S)}")
    print(f"machine load (1-minute average, {os.cpu_count()} cores): "
          f"{os.getloadavg()[0]:.1f} at the end; other work on the box slows every figure")
    print(f"logs and a screenshot of the view: {logs}; whole run "
          f"{time.monotonic() - started:.0f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_080_000,
                        help="raw events over the whole range (the read bench's 36,000 a day)")
    parser.add_argument("--end-day", type=date.fromisoformat, default=date(2026, 11, 10))
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--visitors", type=int, default=100_000)
    parser.add_argument("--paths", type=int, default=300)
    parser.add_argument("--partitions", type=int, default=Config().topic_partitions)
    parser.add_argument("--fresh", action="store_true",
                        help="make the data again even if batch_days holds it")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=18402)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
