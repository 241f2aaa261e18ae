"""The site cache of the hot path (``analytics.sites.CachedSites``) on a store that fails,
with a fixed clock: last-known settings served (bounded, logged), never a wait on the
store for a known site."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from analytics.sites import CachedSites, Site, SitesUnavailable

SHOP = Site(site_id="shop.example", domain="shop.example", timezone="Europe/Berlin")


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class FlakyRepository:
    def __init__(self, *sites: Site):
        self.sites = {s.site_id: s for s in sites}
        self.down = False
        self.calls: list[str] = []

    def get(self, site_id: str):
        self.calls.append(site_id)
        if self.down:
            raise ConnectionError("NoHostAvailable: 127.0.0.1:9042 refused")
        return self.sites.get(site_id)


class Later:
    """An executor that keeps submitted calls until the test runs them (the background)."""

    def __init__(self):
        self.waiting: list = []

    def submit(self, fn, *args):
        self.waiting.append((fn, args))

    def run(self) -> int:
        waiting, self.waiting = self.waiting, []
        for fn, args in waiting:
            fn(*args)
        return len(waiting)


@pytest.fixture
def world():
    clock, repo, later = Clock(), FlakyRepository(SHOP), Later()
    sites = CachedSites(repo, ttl_s=30, miss_ttl_s=5, max_stale_s=3600, retry_s=10,
                        clock=clock, executor=later)
    return sites, repo, clock, later


def test_fresh_answers_come_from_memory(world):
    sites, repo, clock, later = world
    assert sites.cached("shop.example") == (False, None)
    assert sites.get("shop.example") == SHOP
    clock.now += 29
    assert sites.cached("shop.example") == (True, SHOP)
    assert sites.get("shop.example") == SHOP
    assert (repo.calls, later.waiting) == (["shop.example"], [])


def test_an_expired_site_is_served_at_once_and_refreshed_in_the_background(world):
    sites, repo, clock, later = world
    sites.get("shop.example")
    repo.sites["shop.example"] = moved = replace(SHOP, domain="shop.example.org")
    clock.now += 31
    assert sites.cached("shop.example") == (True, SHOP)  # no wait for the store
    assert sites.cached("shop.example") == (True, SHOP)  # one refresh in flight, not two
    assert later.run() == 1
    assert sites.cached("shop.example") == (True, moved)
    assert repo.calls == ["shop.example", "shop.example"]


def test_a_failing_store_serves_last_known_settings_retrying_after_a_pause(world, caplog):
    sites, repo, clock, later = world
    sites.get("shop.example")
    repo.down = True
    caplog.set_level(logging.WARNING, "analytics.sites")
    for _ in range(3):  # 3 requests in a second, 30 s after the settings were read
        clock.now += 31 if _ == 0 else 0.3
        assert sites.cached("shop.example") == (True, SHOP)
        later.run()
    assert repo.calls == ["shop.example", "shop.example"]  # one failed try, then a pause
    assert sites.get("shop.example") == SHOP  # a direct lookup within the pause: no store call
    assert repo.calls == ["shop.example", "shop.example"]
    clock.now += 10
    assert sites.cached("shop.example") == (True, SHOP)
    later.run()
    assert repo.calls == ["shop.example"] * 3
    assert sites.stale_served == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [  # at most once a minute
        "site store failing (NoHostAvailable: 127.0.0.1:9042 refused): serving last-known "
        "settings of 'shop.example', 31 s old (at most 3600 s); 1 stale answers so far"]
    repo.down = False  # the store is back: fresh settings again
    clock.now += 10
    sites.cached("shop.example")
    later.run()
    clock.now += 1
    assert sites.get("shop.example") == SHOP
    assert repo.calls == ["shop.example"] * 4


def test_staleness_is_bounded(world):
    sites, repo, clock, later = world
    sites.get("shop.example")
    repo.down = True
    clock.now += 3601
    assert sites.cached("shop.example") == (False, None)  # too old to serve
    with pytest.raises(SitesUnavailable, match="'shop.example' cannot be read now"):
        sites.get("shop.example")
    assert later.waiting == []


def test_a_site_never_seen_cannot_be_answered_while_the_store_fails(world):
    sites, repo, _clock, _later = world
    repo.down = True
    with pytest.raises(SitesUnavailable, match="NoHostAvailable"):
        sites.get("shop.example")


def test_unknown_ids_are_cached_briefly_and_asked_again_directly(world):
    sites, repo, clock, later = world
    assert sites.get("nope.example") is None
    assert sites.cached("nope.example") == (True, None)
    clock.now += 5
    assert sites.cached("nope.example") == (False, None)  # a new site may exist by now
    repo.down = True
    assert sites.get("nope.example") is None  # last-known answer while the store fails
    assert (repo.calls, later.waiting) == (["nope.example", "nope.example"], [])


def test_forget_drops_what_is_held(world):
    sites, repo, _clock, _later = world
    sites.get("shop.example")
    sites.forget("shop.example")
    assert sites.cached("shop.example") == (False, None)


def test_a_flood_of_unknown_ids_never_evicts_known_sites(world):
    _sites, repo, clock, later = world
    sites = CachedSites(repo, max_entries=10, clock=clock, executor=later)
    sites.get("shop.example")
    for i in range(25):
        assert sites.get(f"junk-{i}") is None
    repo.down = True
    clock.now += 31
    assert sites.cached("shop.example") == (True, SHOP)
    assert len(sites._cache) <= 10
