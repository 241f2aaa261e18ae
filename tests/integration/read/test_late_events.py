"""Late events in the read API's provisional days, on events that went through the whole
pipeline (the read fixture's topic, speed layer checkpoint and read service, conftest.py).

Site L (Asia/Kolkata; goal ``signup``) gets events posted now, through the write service,
with ``created_at`` in its local yesterday Y (a client that buffered them): they reach the
speed layer hours after their event time, far more than its 10-minute watermark, so it
counts them only in its ``late`` view. Nothing closes Y, so the read API serves it from
the speed layer: its on-time minutes (none) plus the late events that belong to it.

  Y 10:00 v1 pageview /, 10:05 v1 pageview /pricing, 10:06 v1 custom signup
  Y 10:20 v2 pageview /
  Y 10:30 Googlebot pageview /            (a bot event)
  Y 20:00 v3 pageview /docs
  today T, on time (posted now): v4 pageview /, v4 custom download

  Y: pageviews 4, events 1, bot events 1, visitors 0 (late events have no visitor sketch:
     meta says so for 5 late events); hours 10:00 -> 3 pageviews 1 event, 20:00 -> 1.
  T: pageviews 1, events 1, visitors 1.  Y..T: pageviews 5, events 2, bot events 1,
     visitors 1; a page breakdown has T's / only and says it leaves 5 late events out.

The read fixture's site O (UTC) has late events too (tests/integration/batch's site N
events, posted with old times): its day D is not closed, so it shows 2 pageviews and 1
custom event that it used to answer as 0.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.sites import Site, SiteRepository
from api.read.tokens import TokenStore
from tests.integration.batch.test_batch_job import post
from tests.integration.read.conftest import sent, utc_at
from tests.integration.read.test_reports import custom, report
from tests.integration.services import CHROME_UA, SpeedLayerJob, WriteService
from tests.integration.streaming.conftest import (
    FIREFOX_UA,
    GOOGLEBOT_UA,
    SAFARI_IPHONE_UA,
    wait_caught_up,
)

pytestmark = pytest.mark.integration

ZONE = "Asia/Kolkata"
LURL = "https://late.example"


@dataclass
class LateSite:
    site_id: str
    token: str
    y: date
    t: date


def post_late_and_now_events(base: str, site: str, y: date) -> None:
    now = int(time.time() * 1000)

    def ev(kind: str, path: str, hh: int, mm: int, **rest) -> dict:
        return {"site_id": site, "kind": kind, "url": LURL + path,
                **sent(utc_at(y, hh, mm, ZONE), now), **rest}

    post(base, [ev("pageview", "/", 10, 0), ev("pageview", "/pricing", 10, 5),
                ev("custom", "/pricing", 10, 6, name="signup")],
         ("198.51.100.21", CHROME_UA))
    post(base, [ev("pageview", "/", 10, 20)], ("198.51.100.22", FIREFOX_UA))
    post(base, [ev("pageview", "/", 10, 30)], ("198.51.100.23", GOOGLEBOT_UA))
    post(base, [ev("pageview", "/docs", 20, 0)], ("198.51.100.24", SAFARI_IPHONE_UA))
    post(base, [{"site_id": site, "kind": "pageview", "url": LURL + "/"},
                {"site_id": site, "kind": "custom", "name": "download", "url": LURL + "/"}],
         ("198.51.100.25", CHROME_UA))


@pytest.fixture(scope="module")
def late_site(read_api, cql) -> LateSite:
    """The read fixture's pipeline once more (its topic, checkpoints and read service):
    the write service and the speed layer for as long as site L's events take."""
    config = read_api.config
    site = Site(site_id=f"rl-{uuid.uuid4().hex[:6]}.test", domain="late.example",
                timezone=ZONE, goals=frozenset({"signup"}))
    SiteRepository(cql).save(site)
    today = datetime.now(ZoneInfo(ZONE)).date()
    y = today - timedelta(days=1)
    write = WriteService(config).start()
    job = SpeedLayerJob(config)
    try:
        job.start()
        post_late_and_now_events(write.base, site.site_id, y)
        t = datetime.now(ZoneInfo(ZONE)).date()
        wait_caught_up(config, cql)
    finally:
        job.stop()
        write.stop()
    token = TokenStore(cql).create([site.site_id], "late read tests")[1]
    return LateSite(site.site_id, token, y, t)


def test_a_provisional_day_counts_its_late_events(read_api, late_site):
    y, t, token = late_site.y, late_site.t, late_site.token
    found = report(read_api, "aggregate", custom(
        late_site.site_id, y, y, metrics=["visitors", "pageviews", "events", "bot_events"]),
        token=token)
    assert found["rows"] == [{"visitors": 0, "pageviews": 4, "events": 1, "bot_events": 1}]
    meta = found["meta"]
    assert meta["layers"] == {"batch": [], "speed": [y.isoformat()]}
    late = meta["late_events"]
    assert (late["included"], late["pageviews"], late["events"], late["bot_events"]) == (
        True, 4, 1, 1)
    assert late["days"] == {y.isoformat(): {"pageviews": 4, "events": 1, "bot_events": 1}}
    assert [(n["metrics"], n["days"], n["late_events"]) for n in meta["incomplete"]] == [
        (["visitors"], [y.isoformat()], 5)]

    both = report(read_api, "aggregate", custom(
        late_site.site_id, y, t, metrics=["visitors", "pageviews", "events", "bot_events"]),
        token=token)
    assert both["rows"] == [{"visitors": 1, "pageviews": 5, "events": 2, "bot_events": 1}]


def test_late_events_in_days_and_hours_but_not_in_breakdowns(read_api, late_site):
    y, t, token = late_site.y, late_site.t, late_site.token
    daily = report(read_api, "timeseries", custom(
        late_site.site_id, y, t, metrics=["pageviews", "events"]), token=token)
    assert daily["rows"] == [
        {"period": y.isoformat(), "pageviews": 4, "events": 1},
        {"period": t.isoformat(), "pageviews": 1, "events": 1}]
    hours = report(read_api, "timeseries", custom(
        late_site.site_id, y, y, interval="hour", metrics=["pageviews", "events"]),
        token=token)["rows"]
    assert len(hours) == 24 and hours[0]["period"] == f"{y.isoformat()}T00:00+05:30"
    assert {h["period"][11:16]: (h["pageviews"], h["events"]) for h in hours
            if h["pageviews"] or h["events"]} == {"10:00": (3, 1), "20:00": (1, 0)}

    pages = report(read_api, "breakdown", custom(
        late_site.site_id, y, t, dimensions=["page"], metrics=["pageviews"]), token=token)
    assert pages["rows"] == [{"page": "/", "pageviews": 1}]
    assert pages["meta"]["late_events"]["included"] is False
    assert [(n["dimension"], n["days"], n["late_events"])
            for n in pages["meta"]["incomplete"]] == [("page", [y.isoformat()], 5)]


def test_the_read_fixtures_unclosed_utc_site_shows_its_late_events(read_api):
    d = read_api.a.date()
    other = next(s for s in _sites_of(read_api) if s.startswith("ro-"))
    found = report(read_api, "aggregate", custom(other, d, d, metrics=["pageviews", "events"]),
                   token=read_api.tokens["other"])
    assert found["rows"] == [{"pageviews": 2, "events": 1}]
    assert found["meta"]["late_events"]["days"] == {
        d.isoformat(): {"pageviews": 2, "events": 1, "bot_events": 0}}


def _sites_of(api) -> list[str]:
    status, _, body = api.get("/api/v1/sites", token=api.tokens["other"])
    assert status == 200
    return [s["site_id"] for s in json.loads(body)["sites"]]
