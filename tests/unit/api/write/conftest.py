"""The write service's app on in-memory collaborators: one site (with a Measurement
Protocol secret), a recording sink, fixed salts, no rate limit unless asked for."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from falcon import testing
from prometheus_client import REGISTRY

from analytics.config import Config
from analytics.enrich import StaticSaltProvider
from analytics.sites import Site, hash_secret
from api.write.app import create_app
from tests.unit.api.write.fakes import MemorySites, RecordingSink

MP_SECRET = "mp-secret"
SHOP = Site(site_id="shop.example", domain="shop.example", timezone="Europe/Berlin",
            mp_secret_hash=hash_secret(MP_SECRET))
PAGEVIEW = {"site_id": "shop.example", "kind": "pageview", "url": "https://shop.example/a"}
BROWSER = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")


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
