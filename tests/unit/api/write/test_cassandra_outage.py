"""Accepting an event does not depend on Cassandra: the write app with the real site cache
and salts-ahead on stores that fail (a fixed clock for the cache)."""

from __future__ import annotations

import json

from analytics.config import Config
from analytics.enrich.salts import SaltsAhead
from analytics.enrich.visitor_id import cookieless_id, utc_day
from analytics.sites import CachedSites
from api.write.app import create_app
from tests.unit.api.write.conftest import BROWSER, PAGEVIEW, SHOP
from tests.unit.api.write.fakes import RecordingSink
from tests.unit.api.write.test_site_cache import Clock, FlakyRepository, Later


class FlakyStore:
    def __init__(self):
        self.down = False

    def salt_for(self, day):
        if self.down:
            raise ConnectionError("NoHostAvailable")
        return b"shared|" + day.isoformat().encode()


def _world():
    from falcon import testing

    clock, repo, store = Clock(), FlakyRepository(SHOP), FlakyStore()
    sites = CachedSites(repo, ttl_s=30, clock=clock, executor=Later())
    salts = SaltsAhead(store, start=False)
    salts.refresh()  # what the background thread does at start-up
    sink = RecordingSink()
    app = create_app(Config().replace(rate_limit_per_s=0.0), sites=sites, sink=sink,
                     salts=salts)
    return testing.TestClient(app), sink, clock, repo, store


def _post(client, event=PAGEVIEW):
    return client.simulate_post("/api/event", body=json.dumps(event),
                                headers={"Content-Type": "application/json",
                                         "User-Agent": BROWSER})


def test_events_are_accepted_while_cassandra_is_down():
    client, sink, clock, repo, store = _world()
    assert _post(client).status_code == 202  # the site's settings are read once
    repo.down = store.down = True
    clock.now += 3600  # long past the cache's TTL
    for _ in range(3):
        result = _post(client)
        assert (result.status_code, result.json) == (
            202, {"accepted": 1, "refused": [], "spooled": 0})
    accepted = sink.accepted
    assert len(accepted) == 4 and len({e["visitor_id"] for e in accepted}) == 1
    day = utc_day(accepted[-1]["received_at"])
    assert accepted[-1]["visitor_id"] == cookieless_id(
        b"shared|" + day.isoformat().encode(), SHOP.site_id, "127.0.0.1", BROWSER)
    assert repo.calls == ["shop.example"]  # no request waited for the failing store


def test_a_site_never_seen_is_not_acknowledged_while_cassandra_is_down():
    client, sink, _clock, repo, _store = _world()
    repo.down = True
    assert not 200 <= _post(client).status_code < 300
    assert sink.accepted == []
