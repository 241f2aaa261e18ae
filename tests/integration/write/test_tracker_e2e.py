"""End to end: the demo page served by the write service, in real headless Chromium, with
the built tracker; pageview, custom event, SPA navigation and leave pings arrive in Kafka,
enriched, and the page logs no console error."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from analytics.sites import Site, SiteRepository
from tests.integration.write.conftest import WriteService, read_topic

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


@pytest.fixture
def demo_service(write_config, test_sites, cql):
    config = write_config.replace(write_api_port=18300, rate_limit_per_s=0.0, serve_demo=True)
    base = f"http://127.0.0.1:{config.write_api_port}"
    SiteRepository(cql).save(Site(site_id="demo.local", domain="localhost",
                                  allowed_origins=frozenset({base})))
    service = WriteService(config).start()
    yield service
    service.stop()


def test_demo_page_events_reach_kafka(demo_service):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    run = uuid.uuid4().hex
    user_agent = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  f"Chrome/141.0.0.0 Safari/537.36 e2e/{run}")  # one visitor per test run
    errors: list[str] = []
    with sync_playwright() as playwright:
        # also the browser-wide user agent: a beacon sent while a page unloads leaves
        # with the browser's default agent, not the context's override (HeadlessChrome)
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=[*LAUNCH_ARGS, f"--user-agent={user_agent}"])
        context = browser.new_context(user_agent=user_agent, locale="en-GB",
                                      timezone_id="Europe/Berlin",
                                      screen={"width": 1280, "height": 800})
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{demo_service.base}/demo?utm_source=e2e&utm_campaign={run}")
        page.wait_for_function("() => window.sitelens && !window.sitelens.q")
        time.sleep(0.3)
        page.click("#signup")
        time.sleep(0.3)
        page.click("text=Pricing")
        time.sleep(0.3)
        errors_on_demo = list(errors)  # the next page is not ours (its favicon is a 404)
        page.goto(f"{demo_service.base}/healthz")  # leave: the last engagement ping
        time.sleep(1.0)
        context.close()
        browser.close()
    assert errors_on_demo == []

    config = demo_service.config
    records = read_topic(config, config.topic_raw_events,
                         lambda r: r.get("site_id") == "demo.local" and
                         f"utm_campaign={run}" in (r.get("url") or ""), expected=1)
    visitor = records[0]["visitor_id"]
    events = read_topic(config, config.topic_raw_events,
                        lambda r: r.get("visitor_id") == visitor, expected=5)
    # the order the page made them in: the ping closing a page and the next pageview are
    # sent in the same millisecond and may reach different workers in either order
    events.sort(key=lambda r: (r["created_at"], r["kind"] != "engagement"))
    summary = [(r["kind"], r["path"], r["name"]) for r in events]
    assert summary == [("pageview", "/demo", None), ("custom", "/demo", "Signup"),
                       ("engagement", "/demo", None), ("pageview", "/pricing", None),
                       ("engagement", "/pricing", None)]
    pageview, custom, left_demo, _, left_pricing = events
    assert (pageview["utm_source"], pageview["utm_campaign"]) == ("e2e", run)
    assert (pageview["browser"], pageview["os"], pageview["device_type"]) == (
        "Chrome", "Linux", "desktop")
    assert (pageview["screen_width"], pageview["language"], pageview["time_zone"]) == (
        1280, "en-GB", "Europe/Berlin")
    assert custom["props"] == {"plan": "pro", "seats": "3", "trial": "true"}
    assert all(r["is_bot"] is False and r["source_channel"] == "tracker" for r in events)
    assert left_demo["engagement_ms"] > 0 and left_pricing["engagement_ms"] > 0
    assert len({r["event_id"] for r in events}) == 5
