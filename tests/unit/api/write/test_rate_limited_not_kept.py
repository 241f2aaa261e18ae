"""A rate-limited request is counted per reason and answered 429, but not itself published
to Kafka or spooled (a flood must not fill the topic, nor the spool while Kafka is down)."""

from __future__ import annotations

import json

from falcon import testing

from analytics.config import Config
from analytics.enrich import StaticSaltProvider
from api.write.app import create_app
from tests.unit.api.write.conftest import BROWSER, PAGEVIEW, SHOP, refused_count
from tests.unit.api.write.fakes import MemorySites, RecordingSink


def test_a_429_is_counted_not_published():
    sink = RecordingSink()
    app = create_app(Config().replace(rate_limit_per_s=0.001, rate_limit_burst=1.0),
                     sites=MemorySites(SHOP), sink=sink, salts=StaticSaltProvider())
    client = testing.TestClient(app)
    before = refused_count("rate_limited")
    statuses = [client.simulate_post("/api/event", body=json.dumps(PAGEVIEW),
                                     headers={"User-Agent": BROWSER}).status_code
                for _ in range(3)]
    assert statuses == [202, 429, 429]
    assert refused_count("rate_limited") - before == 2
    assert (len(sink.accepted), sink.invalid) == (1, [])
