"""The write service's rate limit keys an IPv6 client by its /64 (devices pick and rotate
addresses within the /64 their network got), an IPv4 client by its address, and an
IPv4-mapped IPv6 address as the IPv4 address."""

from __future__ import annotations

import json

import pytest
from falcon import testing

from analytics.config import Config
from analytics.enrich import StaticSaltProvider
from api.write.app import create_app
from api.write.ratelimit import RateLimiter, client_key
from tests.unit.api.write.conftest import BROWSER, PAGEVIEW, SHOP
from tests.unit.api.write.fakes import MemorySites, RecordingSink


@pytest.mark.parametrize(("address", "key"), [
    ("198.51.100.7", "198.51.100.7"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("::1", "::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("::ffff:198.51.100.7", "198.51.100.7"),
    ("::ffff:c633:6407", "198.51.100.7"),
    ("", ""),
    ("not-an-address", "not-an-address"),
])
def test_client_key(address, key):
    assert client_key(address) == key


def test_addresses_of_one_ipv6_64_share_a_bucket():
    limiter = RateLimiter(rate_per_s=1.0, burst=2.0)
    assert [limiter.allow(a, now=0.0) for a in
            ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9")] == [
        True, True, False]
    assert limiter.allow("2001:db8:1:3::1", now=0.0)  # the next /64
    assert [limiter.allow(a, now=0.0) for a in
            ("198.51.100.7", "::ffff:198.51.100.7", "198.51.100.7")] == [True, True, False]
    assert limiter.allow("198.51.100.8", now=0.0)  # IPv4: per address
    assert list(limiter._buckets) == ["2001:db8:1:2::/64", "2001:db8:1:3::/64",
                                      "198.51.100.7", "198.51.100.8"]


def test_the_collect_endpoint_limits_by_the_forwarded_64():
    """rate 0.001/s: the one token of each bucket does not come back during the test."""
    sink = RecordingSink()
    config = Config().replace(rate_limit_per_s=0.001, rate_limit_burst=1.0,
                              trust_forwarded_for=True)
    client = testing.TestClient(create_app(config, sites=MemorySites(SHOP), sink=sink,
                                           salts=StaticSaltProvider()))

    def post(address: str):
        return client.simulate_post("/api/event", body=json.dumps(PAGEVIEW), headers={
            "User-Agent": BROWSER, "X-Forwarded-For": address})

    first, rotated, other = (post("2001:db8:1:2::1"), post("2001:db8:1:2::beef"),
                             post("2001:db8:1:3::1"))
    assert [first.status_code, rotated.status_code, other.status_code] == [202, 429, 202]
    assert rotated.json["title"] == "rate_limited"
    assert rotated.headers["retry-after"] == "1000"
    assert len(sink.accepted) == 2
