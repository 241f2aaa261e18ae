"""The published clients of Plausible and Umami against the write service under gunicorn,
with the real Kafka behind it:

- ``@plausible-analytics/tracker`` (npm: the official script's code as a module) in
  headless Chromium, pointed at ``Config.plausible_path`` with ``init({endpoint})``: the
  pageview, a custom event with props and revenue, and the engagement ping sent when the
  page is left arrive enriched on the raw-events topic; the script logs no error.
- ``@umami/node`` (npm) run by Node, pointed at ``Config.umami_path`` without the
  ``/api/send`` it appends: a pageview and a custom event arrive; each call is answered
  200 with Umami's ``cache`` field.

The clients are pinned in ``compat_clients/package-lock.json`` and installed with
``npm ci`` when ``compat_clients/node_modules`` is missing (npm's public registry).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from analytics.sites import Site, SiteRepository
from tests.integration.write.conftest import WriteService, compat_clients, read_topic

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
UMAMI_WEBSITE_ID = "6a0f3e1c-2b4d-4e8f-9a1b-3c5d7e9f0a2b"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Compat</title><link rel="icon" href="data:,"></head>
<body><p>A short page.</p><button id="signup">Sign up</button>
<script type="module">
  import { init, track } from '/plausible.js'
  init({ domain: 'compat.test', endpoint: '%(endpoint)s', captureOnLocalhost: true })
  document.getElementById('signup').addEventListener('click', () =>
    track('Signup', { props: { plan: 'pro' }, revenue: { amount: 9.5, currency: 'EUR' } }))
  window.compatReady = true
</script></body></html>
"""


class _PageServer:
    """The test page and Plausible's module from ``root``, on a loopback port of its own
    (a page of another origin than the write service, as on a real site)."""

    def __init__(self, root: Path, modules: Path, endpoint: str):
        (root / "index.html").write_text(PAGE % {"endpoint": endpoint})
        (root / "favicon.ico").write_bytes(b"")  # asked for by every page Chromium opens
        shutil.copy(modules / "@plausible-analytics" / "tracker" / "plausible.js",
                    root / "plausible.js")

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0),
                                          partial(Quiet, directory=str(root)))
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def compat(write_config, test_sites, cql, tmp_path):
    """The write service (no rate limit, client addresses as they connect) and the page
    server; the site ``compat.test`` takes events from the page's origin, by its domain
    (Plausible) and by its Umami website id."""
    modules = compat_clients() / "node_modules"
    config = write_config.replace(write_api_port=18400, rate_limit_per_s=0.0,
                                  trust_forwarded_for=False)
    base = f"http://127.0.0.1:{config.write_api_port}"
    pages = _PageServer(tmp_path, modules, base + config.plausible_path)
    SiteRepository(cql).save(Site(
        site_id="compat.test", domain="compat.test", umami_website_id=UMAMI_WEBSITE_ID,
        allowed_origins=frozenset({pages.origin})))
    service = WriteService(config).start()
    yield service, pages, base
    service.stop()
    pages.close()


def _records(config, run: str, expected: int) -> list[dict]:
    return read_topic(config, config.topic_raw_events,
                      lambda r: r.get("site_id") == "compat.test" and run in json.dumps(r),
                      expected)


def test_plausibles_npm_tracker_in_chromium(compat):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    service, pages, _base = compat
    run = uuid.uuid4().hex
    agent = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             f"Chrome/141.0.0.0 Safari/537.36 compat/{run}")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=[*LAUNCH_ARGS, f"--user-agent={agent}"])
        context = browser.new_context(user_agent=agent)
        # Plausible's script sends nothing while navigator.webdriver is set (automation),
        # unless the page sets window.__plausible
        context.add_init_script("window.__plausible = true")
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        with page.expect_response(lambda r: service.config.plausible_path in r.url) as sent:
            page.goto(f"{pages.origin}/index.html?run={run}&utm_source=compat")
        pageview = sent.value
        assert (pageview.status, pageview.text()) == (202, "ok")
        assert pageview.headers["access-control-allow-origin"] == pages.origin
        page.wait_for_function("() => window.compatReady === true")
        time.sleep(0.5)
        page.click("#signup")
        time.sleep(0.5)
        page.goto(f"{pages.origin}/plausible.js")  # leave: the engagement ping
        time.sleep(1.0)
        context.close()
        browser.close()
    assert errors == []

    records = _records(service.config, run, expected=3)
    records.sort(key=lambda r: ["pageview", "custom", "engagement"].index(r["kind"]))
    assert [(r["kind"], r["name"], r["path"], r["utm_source"], r["props"]) for r in records] \
        == [("pageview", None, "/index.html", "compat", None),
            ("custom", "Signup", "/index.html", "compat",
             {"plan": "pro", "revenue_amount": "9.5", "revenue_currency": "EUR"}),
            ("engagement", None, "/index.html", "compat", {"scroll_depth": "100"})]
    assert {r["source_channel"] for r in records} == {"tracker"}
    assert {r["is_bot"] for r in records} == {False}
    assert len({r["visitor_id"] for r in records}) == 1
    assert records[2]["engagement_ms"] > 0


def test_umamis_node_client(compat):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (bash stack/install_system.sh installs it)")
    service, _pages, base = compat
    run = uuid.uuid4().hex
    host_url = base + service.config.umami_path.removesuffix("/api/send")
    done = subprocess.run([node, "umami_send.mjs", host_url, UMAMI_WEBSITE_ID, run],
                          cwd=compat_clients(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(a["status"], a["body"]["cache"], a["body"]["accepted"]) for a in answers] == [
        (200, "", 1), (200, "", 1)]

    records = _records(service.config, run, expected=2)
    records.sort(key=lambda r: r["kind"] != "pageview")
    assert [(r["kind"], r["name"], r["url"], r["title"], r["referrer_host"], r["props"])
            for r in records] == [
        ("pageview", None, f"https://compat.test/node/{run}?utm_source=server", "From Node",
         "referrer.example", None),
        ("custom", "signup", "https://compat.test/", None, None,
         {"plan": "pro", "seats": "3", "run": run})]
    assert records[0]["utm_source"] == "server"
    assert {r["is_bot"] for r in records} == {False}  # "Mozilla/5.0 Umami/<node version>"
