"""Sites by domain, by Umami website id, by Matomo idsite and by Snowplow app id (the write
service's compatible collectors): answered from an index of the whole sites table, refreshed in the
background, looked up again for a key it lacks (at most once per ``miss_ttl_s``), and
served last-known while the store fails."""

from __future__ import annotations

import pytest

from analytics.site_directory import (
    DOMAIN,
    MATOMO,
    SNOWPLOW,
    UMAMI,
    SiteDirectory,
    domain_key,
    matomo_key,
)
from analytics.sites import Site, SiteError, SitesUnavailable

UMAMI_ID = "3f2c5a8e-4b7d-4c1e-9a0f-6d8e2b1c7a45"
SHOP = Site(site_id="shop", domain="www.Shop.example", umami_website_id=UMAMI_ID)
BLOG = Site(site_id="blog", domain="blog.example")


class Store:
    def __init__(self, *sites: Site):
        self.sites = list(sites)
        self.scans = 0
        self.down = False

    def all(self) -> list[Site]:
        self.scans += 1
        if self.down:
            raise ConnectionError("store down")
        return list(self.sites)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world():
    store, clock, spawned = Store(SHOP, BLOG), Clock(), []
    directory = SiteDirectory(store, ttl_s=30, miss_ttl_s=5, max_stale_s=3600, retry_s=5,
                              clock=clock, spawn=spawned.append)
    return store, clock, spawned, directory


def test_domains_are_compared_without_case_www_and_trailing_dot():
    assert domain_key(" WWW.Shop.Example. ") == "shop.example"
    assert domain_key("wwwshop.example") == "wwwshop.example"


def test_sites_are_found_by_domain_and_umami_id(world):
    store, _, _, directory = world
    assert directory.cached(DOMAIN, "shop.example") == (False, ())  # nothing loaded yet
    assert directory.find(DOMAIN, "shop.example") == (SHOP,)
    assert directory.cached(DOMAIN, "www.shop.example") == (True, (SHOP,))
    assert directory.find(UMAMI, UMAMI_ID.upper()) == (SHOP,)
    assert directory.find(DOMAIN, "blog.example") == (BLOG,)
    assert directory.find(DOMAIN, "other.example") == ()  # a fresh index: a miss is known
    assert store.scans == 1


def test_a_miss_is_looked_up_again_once_the_index_is_older_than_miss_ttl(world):
    store, clock, _, directory = world
    assert directory.find(DOMAIN, "new.example") == ()
    store.sites.append(Site(site_id="new", domain="new.example"))
    clock.now += 4
    assert directory.find(DOMAIN, "new.example") == ()  # within miss_ttl_s: from memory
    clock.now += 2
    assert directory.cached(DOMAIN, "new.example") == (False, ())
    assert directory.find(DOMAIN, "new.example") == (store.sites[-1],)
    assert store.scans == 2


def test_an_old_index_answers_while_it_is_rebuilt_in_the_background(world):
    store, clock, spawned, directory = world
    directory.find(DOMAIN, "shop.example")
    store.sites = [BLOG]  # shop's domain was changed
    clock.now += 31
    assert directory.cached(DOMAIN, "shop.example") == (True, (SHOP,))
    assert directory.cached(DOMAIN, "blog.example") == (True, (BLOG,))
    assert len(spawned) == 1  # one refresh, however many requests asked
    spawned[0]()
    assert directory.cached(DOMAIN, "shop.example") == (True, ())
    assert store.scans == 2


def test_a_key_of_several_sites_is_answered_with_all_of_them(world):
    store, _, _, directory = world
    copy = Site(site_id="copy", domain="shop.example")
    store.sites.append(copy)
    assert directory.find(DOMAIN, "shop.example") == (copy, SHOP)


def test_while_the_store_fails_known_keys_are_served_and_unknown_ones_are_unavailable(world):
    store, clock, spawned, directory = world
    directory.find(DOMAIN, "shop.example")
    store.down = True
    clock.now += 40
    assert directory.cached(DOMAIN, "shop.example") == (True, (SHOP,))
    spawned[0]()  # the refresh fails; the last index stays
    assert directory.find(DOMAIN, "shop.example") == (SHOP,)
    with pytest.raises(SitesUnavailable, match="sites cannot be found by domain now"):
        directory.find(DOMAIN, "new.example")
    scans = store.scans
    with pytest.raises(SitesUnavailable):
        directory.find(DOMAIN, "new.example")  # within retry_s: the store is not asked
    assert store.scans == scans
    clock.now += 3600
    with pytest.raises(SitesUnavailable):  # too old to serve
        directory.find(DOMAIN, "shop.example")


def test_nothing_loaded_and_the_store_down_is_unavailable(world):
    store, _, _, directory = world
    store.down = True
    with pytest.raises(SitesUnavailable, match="store down"):
        directory.find(UMAMI, UMAMI_ID)


def test_an_umami_website_id_is_a_lower_case_uuid():
    with pytest.raises(SiteError, match="must be a UUID in lower case"):
        Site(site_id="x", domain="x.example", umami_website_id=UMAMI_ID.upper())
    with pytest.raises(SiteError):
        Site(site_id="x", domain="x.example", umami_website_id="site-1")


def test_sites_are_found_by_matomo_idsite():
    shop = Site(site_id="shop", domain="shop.example", matomo_idsite=7)
    directory = SiteDirectory(Store(shop, BLOG), clock=Clock(), spawn=lambda target: None)
    assert directory.find(MATOMO, "7") == (shop,)
    assert directory.find(MATOMO, "007") == (shop,)
    assert directory.find(MATOMO, "8") == ()
    assert directory.find(MATOMO, "seven") == ()
    assert matomo_key(7) == matomo_key(" 07 ") == "7"


@pytest.mark.parametrize("idsite", [0, -1, 2**31, True, "7", 1.0])
def test_a_matomo_idsite_is_a_whole_number_from_1(idsite):
    with pytest.raises(SiteError, match="Matomo idsite .* must be a whole number from 1 to "
                                        "2147483647"):
        Site(site_id="x", domain="x.example", matomo_idsite=idsite)


def test_sites_are_found_by_snowplow_app_id_as_sent():
    shop = Site(site_id="shop", domain="shop.example", snowplow_app_id="Web Shop")
    directory = SiteDirectory(Store(shop, BLOG), clock=Clock(), spawn=lambda target: None)
    assert directory.find(SNOWPLOW, "Web Shop") == (shop,)
    assert directory.find(SNOWPLOW, " Web Shop ") == (shop,)
    assert directory.find(SNOWPLOW, "web shop") == ()  # Snowplow's app ids keep their case
    assert directory.find(SNOWPLOW, "shop") == ()


@pytest.mark.parametrize("app_id", ["", " web", "web ", "a\nb", "x" * 256, 7])
def test_a_snowplow_app_id_is_printable_text_without_spaces_around_it(app_id):
    with pytest.raises(SiteError, match="Snowplow app id .* must be text of 1 to 255 "
                                        "printable characters"):
        Site(site_id="x", domain="x.example", snowplow_app_id=app_id)
    assert Site(site_id="x", domain="x.example", snowplow_app_id="x" * 255).snowplow_app_id
