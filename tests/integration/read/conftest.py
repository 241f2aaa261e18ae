"""The read service on data that went through the whole pipeline: hand-built events posted
to the write service, carried by Kafka and the speed layer, days recomputed by the batch
job, then read through the read service under gunicorn. The numbers are worked out in
test_reports.py's docstring.

Site K (Asia/Kathmandu): the batch tests' day D (tests/integration/batch/test_batch_job.py,
anchored at a 17:00 UTC at least 80 minutes ago, so D has ended in Kathmandu) closed by the
batch layer, plus events posted now, which the speed layer serves for K's today (D + 1).
Site S (America/New_York): the last day its clocks went back (25 hours) and the days either
side, all closed by the batch layer. The write service takes events up to 72 hours old; this
test's write service is configured to take them as old as that day (the knob is
``ANALYTICS_EVENT_MAX_LATENESS_MS``), so they can go through the same path.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.config import Config
from analytics.sites import Site, SiteRepository
from api.read.tokens import TokenStore
from tests.integration.batch.conftest import run_batch
from tests.integration.batch.test_batch_job import (
    KURL,
    V1,
    post,
    post_past_events,
)
from tests.integration.services import CHROME_UA, ReadService, SpeedLayerJob, WriteService, http
from tests.integration.streaming.conftest import pipeline_config, wait_caught_up

V5 = ("203.0.113.5", CHROME_UA)
SURL = "https://dst.example"
DST_ZONE = "America/New_York"


def anchor(now: datetime) -> datetime:
    """The latest 17:00 UTC at least 80 minutes before ``now``: 22:45 in Kathmandu, so its
    local day D has ended there by 18:15 UTC and whatever is posted now falls on D + 1."""
    today = now.replace(hour=17, minute=0, second=0, microsecond=0)
    return today if now - today >= timedelta(minutes=80) else today - timedelta(days=1)


def last_fall_back(zone: str, now: datetime) -> date:
    """The most recent local day of ``zone`` on which clocks went back (a 25-hour day)."""
    tz = ZoneInfo(zone)
    day = now.astimezone(tz).date() - timedelta(days=1)
    while True:
        start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        if (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=25):
            return day
        day -= timedelta(days=1)


def utc_at(day: date, hh: int, mm: int, zone: str, fold: int = 0) -> datetime:
    """The instant of local wall time ``hh:mm`` on ``day`` (``fold=1``: the second one)."""
    local = datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo(zone), fold=fold)
    return local.astimezone(UTC)


def sent(instant: datetime, now_ms: int) -> dict:
    return {"created_at": int(instant.timestamp() * 1000), "sent_at": now_ms}


def post_dst_events(base: str, s: str, day: date) -> None:
    """Site S around its fall-back day (see test_reports.py for the numbers)."""
    now = int(time.time() * 1000)
    before = day - timedelta(days=1)
    post(base, [{"site_id": s, "kind": "pageview", "url": SURL + "/about",
                 **sent(utc_at(day, 0, 10, DST_ZONE), now)}], ("198.51.100.4", CHROME_UA))
    post(base, [{"site_id": s, "kind": "pageview", "url": SURL + "/",
                 **sent(utc_at(day, 1, 30, DST_ZONE), now)}], ("198.51.100.1", CHROME_UA))
    second = utc_at(day, 1, 30, DST_ZONE, fold=1)
    post(base, [{"site_id": s, "kind": "pageview", "url": SURL + "/",
                 **sent(second, now)},
                {"site_id": s, "kind": "custom", "name": "download", "url": SURL + "/",
                 **sent(second + timedelta(minutes=5), now)}], ("198.51.100.2", CHROME_UA))
    post(base, [{"site_id": s, "kind": "pageview", "url": SURL + "/late-night",
                 **sent(utc_at(day, 23, 30, DST_ZONE), now)}], ("198.51.100.3", CHROME_UA))
    post(base, [{"site_id": s, "kind": "pageview", "url": SURL + "/",
                 **sent(utc_at(before, 23, 50, DST_ZONE), now)}], ("198.51.100.5", CHROME_UA))


def post_k_now_events(base: str, k: str) -> None:
    """K's today, served by the speed layer: V1 views / and signs up; V5 views /pricing."""
    post(base, [{"site_id": k, "kind": "pageview", "url": KURL + "/"},
                {"site_id": k, "kind": "custom", "name": "signup", "url": KURL + "/"}], V1)
    post(base, [{"site_id": k, "kind": "pageview", "url": KURL + "/pricing"}], V5)


@dataclass
class ReadApi:
    """What tests get: the running read service and the data behind it."""

    base: str
    token: str
    site_id: str
    day_range: tuple[date, date]
    config: Config
    k: str
    s: str
    a: datetime
    d: date
    dst_day: date
    tokens: dict
    past_posted_at: datetime
    """When day D's events were posted (the cookieless salt is that of the receiving day)."""
    posted_at: datetime

    def get(self, path: str, params: dict | None = None, token: str | None = "",
            headers: dict | None = None):
        from urllib.parse import urlencode

        url = self.base + path + (("?" + urlencode(params)) if params else "")
        return http("GET", url, headers=self._auth(token, headers))

    def post(self, path: str, document, token: str | None = "", headers: dict | None = None):
        body = document if isinstance(document, (bytes, str)) else json.dumps(document)
        return http("POST", self.base + path, body,
                    self._auth(token, {"Content-Type": "application/json", **(headers or {})}))

    def _auth(self, token, headers):
        token = self.token if token == "" else token
        return {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}


@pytest.fixture(scope="session")
def read_api(stack, cql, tmp_path_factory):
    now = datetime.now(UTC)
    dst_day = last_fall_back(DST_ZONE, now)
    oldest = utc_at(dst_day - timedelta(days=1), 0, 0, DST_ZONE)
    config = pipeline_config(stack, tmp_path_factory.mktemp("read"), 18270).replace(
        read_api_port=18271, site_cache_ttl_s=1.0,
        # one token asks hundreds of questions a second here; the limit's behaviour is
        # tested in-process (tests/unit/api/read/test_rate_limit.py)
        read_rate_limit_per_s=0.0,
        event_max_lateness_ms=int((now - oldest + timedelta(days=2)).total_seconds() * 1000))
    run = uuid.uuid4().hex[:6]
    k = Site(site_id=f"rk-{run}.test", domain="ktm.example", timezone="Asia/Kathmandu",
             goals=frozenset({"signup", "/pricing"}))
    s = Site(site_id=f"rs-{run}.test", domain="dst.example", timezone=DST_ZONE,
             goals=frozenset({"download"}))
    other = Site(site_id=f"ro-{run}.test", domain="other.example", timezone="UTC")
    for site in (k, s, other):
        SiteRepository(cql).save(site)
    a = anchor(now)
    d = a.date()
    write = WriteService(config).start()
    job = SpeedLayerJob(config)
    try:
        job.start()
        past_posted_at = datetime.now(UTC)
        post_past_events(write.base, k.site_id, other.site_id, a)
        post_dst_events(write.base, s.site_id, dst_day)
        posted_at = datetime.now(UTC)
        post_k_now_events(write.base, k.site_id)
        wait_caught_up(config, cql)
    finally:
        job.stop()
        write.stop()
    run_batch(config, d, sites=[k.site_id])
    run_batch(config, dst_day - timedelta(days=1), dst_day + timedelta(days=1),
              sites=[s.site_id])
    store = TokenStore(cql)
    tokens = {"k": store.create([k.site_id], "read tests")[1],
              "s": store.create([s.site_id], "read tests")[1],
              "both": store.create([k.site_id, s.site_id], "read tests")[1],
              "other": store.create([other.site_id], "read tests")[1],
              "all": store.create(["*"], "read tests")[1]}
    revoked, tokens["revoked"] = store.create([k.site_id], "read tests")
    store.revoke(revoked.token_id)
    read = ReadService(config).start()
    try:
        yield ReadApi(base=read.base, token=tokens["k"], site_id=k.site_id,
                      day_range=(d, d), config=config, k=k.site_id, s=s.site_id, a=a, d=d,
                      dst_day=dst_day, tokens=tokens, past_posted_at=past_posted_at,
                      posted_at=posted_at)
    finally:
        read.stop()
