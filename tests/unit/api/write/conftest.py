"""The write service's app on in-memory collaborators: one site (with a Measurement
Protocol secret), a recording sink, fixed salts, no rate limit unless asked for."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import pytest
from falcon import testing
from prometheus_client import REGISTRY

from analytics.config import Config
from analytics.enrich import StaticSaltProvider, finalize
from analytics.enrich.visitor_id import cookieless_id, utc_day
from analytics.sites import Site, hash_secret
from api.write import resources
from api.write.app import create_app
from tests.unit.api.write.fakes import MemorySites, RecordingSink

MP_SECRET = "mp-secret"
UMAMI_WEBSITE_ID = "3f2c5a8e-4b7d-4c1e-9a0f-6d8e2b1c7a45"
SHOP = Site(site_id="shop.example", domain="shop.example", timezone="Europe/Berlin",
            mp_secret_hash=hash_secret(MP_SECRET), umami_website_id=UMAMI_WEBSITE_ID)
PAGEVIEW = {"site_id": "shop.example", "kind": "pageview", "url": "https://shop.example/a"}
BROWSER = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")
RECEIVED = 1_796_000_000_000  # 2026-11-30T00:53:20Z
VISITOR_IP = "193.0.6.139"  # RIPE NCC, registered in NL


@dataclass
class WriteWorld:
    client: testing.TestClient
    config: Config
    sink: RecordingSink
    sites: MemorySites

    def post(self, path: str, body: bytes | str, **kw):
        headers = {"Content-Type": "application/json", "User-Agent": BROWSER,
                   **kw.pop("headers", {})}
        return self.client.simulate_post(path, body=body, headers=headers, **kw)

    def mp(self, body: bytes | str, secret: str = MP_SECRET):
        return self.post("/mp/collect", body, params={"measurement_id": SHOP.site_id,
                                                      "api_secret": secret})

    def plausible(self, body: bytes | str, **kw):
        """As Plausible's script sends it: ``text/plain``."""
        headers = {"Content-Type": "text/plain", **kw.pop("headers", {})}
        return self.post(self.config.plausible_path, body, headers=headers, **kw)

    def umami(self, body: bytes | str, **kw):
        return self.post(self.config.umami_path, body, **kw)


def refused_count(reason: str) -> float:
    """The write service's refusal counter for ``reason`` (0 before the first)."""
    return REGISTRY.get_sample_value("analytics_write_events_refused_total",
                                     {"reason": reason}) or 0.0


def make_write_world(config: Config | None = None) -> WriteWorld:
    config = replace(config or Config(), rate_limit_per_s=0.0)
    sink = RecordingSink(config.topic_raw_events, config.topic_invalid_events)
    sites = MemorySites(SHOP)
    app = create_app(config, sites=sites, sink=sink, salts=StaticSaltProvider())
    return WriteWorld(testing.TestClient(app), config, sink, sites)


@pytest.fixture
def write_world() -> WriteWorld:
    return make_write_world()


@pytest.fixture
def frozen(monkeypatch) -> list[str]:
    """The write service's clock stands at :data:`RECEIVED`, and the event ids it makes
    (for events that come without one) are these, in order."""
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 21)]
    made = iter(ids)
    monkeypatch.setattr(resources, "now_ms", lambda: RECEIVED)
    monkeypatch.setattr(finalize, "uuid", SimpleNamespace(uuid4=lambda: next(made)))
    return ids


def visitor(site_id: str = SHOP.site_id, ip: str = VISITOR_IP, agent: str = BROWSER) -> str:
    """The cookieless visitor id of a request at :data:`RECEIVED` (static test salts)."""
    return cookieless_id(StaticSaltProvider().salt_for(utc_day(RECEIVED)), site_id, ip, agent)


def enriched(**fields) -> dict:
    """An enriched record as the write service publishes it for a pageview of SHOP sent
    by :data:`BROWSER` from :data:`VISITOR_IP` at :data:`RECEIVED`, with ``fields``."""
    record = {
        "schema": "analytics/enriched_event/1-0-0", "event_id": None,
        "site_id": SHOP.site_id, "kind": "pageview", "name": None, "url": None,
        "host": "shop.example", "path": "/", "referrer": None, "referrer_host": None,
        "title": None, "screen_width": None, "screen_height": None, "language": None,
        "time_zone": None, "utm_source": None, "utm_medium": None, "utm_campaign": None,
        "utm_term": None, "utm_content": None, "props": None, "engagement_ms": None,
        "created_at": None, "sent_at": None, "received_at": RECEIVED,
        "event_time": RECEIVED, "visitor_id": visitor(), "id_source": "cookieless",
        "browser": "Chrome", "browser_version": "131", "os": "Linux", "os_version": None,
        "device_type": "desktop", "country": "NL", "is_bot": False,
        "source_channel": "tracker"}
    unknown = set(fields) - set(record)
    assert not unknown, unknown
    return {**record, **fields}
