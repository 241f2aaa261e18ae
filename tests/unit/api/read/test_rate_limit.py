"""The read service's rate limit: a token bucket per API token, browser session and shared
link, per client address (IPv6: per /64) without one, and per address for refusals of
credentials (a valid token from that address still passes); 429 ``rate_limited`` with
Retry-After. The world's clock stands still unless advanced: at 0.25 requests/s and
bursts of 2, a bucket is empty after two requests and one request comes back every 4 s."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from analytics.config import Config
from api.read.rate_limit import principal_key
from tests.unit.api.read.conftest import ADMIN, ALL_TOKEN, BLOG_TOKEN, VIEWER, make_world

LIMITED = Config().replace(read_rate_limit_per_s=0.25, read_rate_burst=2)
DESCRIPTION = "more than 0.25 requests/s (bursts of 2); retry after the Retry-After seconds"


@pytest.fixture
def world():
    return make_world(LIMITED, rate_limited=True)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _statuses(results) -> list[int]:
    return [result.status_code for result in results]


def test_an_api_token_has_its_own_bucket(world):
    get = world.client.simulate_get
    cross_origin = {**_bearer(BLOG_TOKEN), "Origin": "https://tableau.example"}
    blog = [get("/api/v1/sites", headers=cross_origin) for _ in range(3)]
    assert _statuses(blog) == [200, 200, 429]
    refused = blog[2]
    assert (refused.json["title"], refused.json["description"]) == ("rate_limited",
                                                                    DESCRIPTION)
    assert refused.headers["retry-after"] == "4"
    assert "Retry-After" in refused.headers["access-control-expose-headers"].split(", ")
    # another token from the same address is not affected
    assert get("/api/v1/sites", headers=_bearer(ALL_TOKEN)).status_code == 200
    world.clock.advance(seconds=3)
    again = get("/api/v1/sites", headers=_bearer(BLOG_TOKEN))
    assert (again.status_code, again.headers["retry-after"]) == (429, "1")
    world.clock.advance(seconds=1)
    assert get("/api/v1/sites", headers=_bearer(BLOG_TOKEN)).status_code == 200


def test_each_browser_session_has_its_own_bucket(world):
    first = world.signed_in(VIEWER, remote_addr="198.51.100.1")
    second = world.signed_in(VIEWER, remote_addr="198.51.100.2")
    assert _statuses(first.get("/api/v1/auth/me") for _ in range(3)) == [200, 200, 429]
    assert second.get("/api/v1/auth/me").status_code == 200
    # the session's bucket, whatever address it comes from
    first.remote_addr = "198.51.100.3"
    assert first.get("/api/v1/auth/me").status_code == 429


def test_a_shared_link_has_a_bucket_per_viewer_address(world):
    made = world.signed_in(ADMIN, remote_addr="198.51.100.1").post(
        "/api/v1/sites/shop.example/shared-links", {"label": "Press"})
    secret = made.json["url"].removeprefix("/share/")
    readers = [world.browser(remote_addr=f"198.51.100.{n}") for n in (2, 2, 2, 3, 4)]
    for reader in readers:
        reader.headers["X-Share-Token"] = secret
    # a public link's many viewers do not share one bucket; one viewer gets bursts of 2
    assert _statuses(reader.get("/api/v1/sites") for reader in readers) == [
        200, 200, 429, 200, 200]


def test_without_credentials_an_ipv6_client_is_limited_by_its_64(world):
    get = world.client.simulate_get
    doc = "/api/v1/openapi.json"  # public
    assert _statuses([get(doc, remote_addr="2001:db8:1:2::1"),
                      get(doc, remote_addr="2001:db8:1:2::2"),
                      get(doc, remote_addr="2001:db8:1:2:ffff::3"),
                      get(doc, remote_addr="2001:db8:1:3::1"),
                      get(doc, remote_addr="::ffff:198.51.100.7"),
                      get(doc, remote_addr="198.51.100.7"),
                      get(doc, remote_addr="198.51.100.7"),
                      get(doc, remote_addr="198.51.100.8")]) == [
        200, 200, 429, 200, 200, 200, 429, 200]
    # logging in is anonymous too
    browser = world.browser(remote_addr="2001:db8:1:2::9")
    assert browser.login(VIEWER, "correct horse battery").status_code == 429


def test_refused_credentials_are_limited_per_address_valid_ones_are_not(world):
    get = world.client.simulate_get
    guesses = [get("/api/v1/sites", headers=_bearer(f"sl_guess{n}_secret"),
                   remote_addr="203.0.113.5") for n in range(3)]
    assert _statuses(guesses) == [401, 401, 429]
    assert guesses[2].json["title"] == "rate_limited"
    assert guesses[2].headers["retry-after"] == "4"
    # someone else's guesses from the same address (behind a proxy: every client's) never
    # lock a valid token out
    assert get("/api/v1/sites", headers=_bearer(BLOG_TOKEN),
               remote_addr="203.0.113.5").status_code == 200
    assert get("/api/v1/sites", headers=_bearer("sl_guess8_secret"),
               remote_addr="203.0.113.5").status_code == 429
    world.clock.advance(seconds=4)
    assert get("/api/v1/sites", headers=_bearer("sl_guess9_secret"),
               remote_addr="203.0.113.5").status_code == 401


def test_the_forwarded_address_counts_behind_a_trusted_proxy():
    world = make_world(LIMITED.replace(read_trust_proxy_headers=True), rate_limited=True)
    get = world.client.simulate_get

    def via_proxy(client: str):
        return get("/api/v1/openapi.json", remote_addr="10.0.0.1",
                   headers={"X-Forwarded-For": f"192.0.2.1, {client}"})

    assert _statuses([via_proxy("2001:db8::1"), via_proxy("2001:db8::2"),
                      via_proxy("2001:db8::3"), via_proxy("198.51.100.7")]) == [
        200, 200, 429, 200]


@pytest.mark.parametrize("changes", [{"read_rate_limit_per_s": 0.0},
                                     {"read_rate_burst": 0.0}])
def test_zero_switches_it_off(changes):
    world = make_world(LIMITED.replace(**changes), rate_limited=True)
    results = [world.client.simulate_get("/api/v1/sites", headers=_bearer(BLOG_TOKEN))
               for _ in range(50)]
    assert set(_statuses(results)) == {200}


def test_the_defaults():
    assert (Config().read_rate_limit_per_s, Config().read_rate_burst) == (20.0, 40.0)


def test_principal_keys():
    token = SimpleNamespace(kind="token", token=SimpleNamespace(token_id="blogtoken"))
    user = SimpleNamespace(kind="user", session=SimpleNamespace(session_id="s1"))
    share = SimpleNamespace(kind="share", link=SimpleNamespace(link_id="0123456789ab"))
    assert [principal_key(p) for p in (token, user, share, None)] == [
        "token:blogtoken", "session:s1", "share:0123456789ab", None]
