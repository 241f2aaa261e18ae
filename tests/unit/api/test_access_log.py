"""The access log and request ids of both services (:mod:`api.access_log`), through each
service's real ``create_app`` on in-memory collaborators, with a fixed clock and a
stopwatch that moves 12.3 ms between the start and the end of a request."""

from __future__ import annotations

import json
import logging

import pytest
from argon2 import PasswordHasher, profiles
from falcon import testing

from analytics.config import Config
from analytics.enrich import StaticSaltProvider
from analytics.sites import SitesUnavailable
from api.access_log import new_request_id
from api.read.app import create_app as create_read_app
from api.read.passwords import Passwords
from api.read.site_settings import SitesCache
from api.read.tokens import Token
from api.write.app import create_app as create_write_app
from tests.unit.api.read.conftest import BLOG, SHOP
from tests.unit.api.read.fakes import (
    Clock,
    FakeReports,
    MemoryFailures,
    MemoryLinks,
    MemorySessions,
    MemorySites,
    MemoryTokens,
    MemoryUsers,
)
from tests.unit.api.write.conftest import MP_SECRET, PAGEVIEW
from tests.unit.api.write.conftest import SHOP as MP_SHOP
from tests.unit.api.write.fakes import MemorySites as WriteSites
from tests.unit.api.write.fakes import RecordingSink

TS = "2026-12-01T12:00:00.000Z"  # the fakes' Clock
TOKEN = "sl_blogtoken_secret"
CLIENT_IP, FORWARDED_IP = "198.51.100.23", "203.0.113.7"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AccessLogTest/1.0"
GIVEN_ID = "req-2026.12_01"
MP_PAGE_VIEW = {"client_id": "1.2", "events": [
    {"name": "page_view", "params": {"page_location": "https://shop.example/?q=hush"}}]}
SECRETS = (TOKEN, MP_SECRET, CLIENT_IP, FORWARDED_IP, "AccessLogTest", "hush", "crumb")
"""What a line must never hold: a token, a secret, client addresses, the user agent, a
query string's value, a cookie's value."""


class Stopwatch:
    """A monotonic clock that moves 12.3 ms at every reading."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.0123
        return self.now


def read_client(config: Config | None = None) -> testing.TestClient:
    tokens = MemoryTokens(**{TOKEN: Token("blogtoken", frozenset({BLOG.site_id}),
                                          "blog tableau", None, None)})
    app = create_read_app(
        config or Config(), None, sites=SitesCache(MemorySites(SHOP, BLOG), ttl_s=3600),
        reports=FakeReports(), jobs=object(), tokens=tokens, users=MemoryUsers(),
        browser_sessions=MemorySessions(), shared_links=MemoryLinks(),
        login_failures=MemoryFailures(),
        passwords=Passwords(PasswordHasher.from_parameters(profiles.CHEAPEST)),
        clock=Clock(), monotonic=Stopwatch())
    return testing.TestClient(app)


def write_client(sites=None) -> testing.TestClient:
    config = Config(rate_limit_per_s=0.0)
    app = create_write_app(config, sites=sites or WriteSites(MP_SHOP), sink=RecordingSink(),
                           salts=StaticSaltProvider(), clock=Clock(), monotonic=Stopwatch())
    return testing.TestClient(app)


class StoreDown:
    """A site store that is down and holds nothing (503 ``not_kept``)."""

    def cached(self, site_id):
        return False, None

    def get(self, site_id):
        raise SitesUnavailable(site_id)


@pytest.fixture
def lines(caplog):
    """The access lines logged so far, as ``(level, fields)``."""
    caplog.set_level(logging.INFO, logger="sitelens.access")

    def logged() -> list[tuple[int, dict]]:
        return [(r.levelno, json.loads(r.getMessage())) for r in caplog.records
                if r.name == "sitelens.access"]
    return logged


def line(service, method, route, status, *, site=None, reason=None, request_id=GIVEN_ID):
    return {"ts": TS, "service": service, "method": method, "route": route,
            "status": status, "duration_ms": 12.3, "site": site, "reason": reason,
            "request_id": request_id}


def sent_headers(**more) -> dict:
    return {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": FORWARDED_IP,
            "User-Agent": USER_AGENT, "Cookie": "sl_session=crumb", **more}


def test_a_read_2xx_line(lines):
    result = read_client().simulate_get("/api/v1/sites", params={"q": "hush"},
                                        remote_addr=CLIENT_IP,
                                        headers=sent_headers(**{"X-Request-Id": GIVEN_ID}))
    assert result.status_code == 200
    assert result.headers["X-Request-Id"] == GIVEN_ID
    assert lines() == [(logging.INFO, line("read", "GET", "/api/v1/sites", 200))]


def test_a_read_refusal_names_its_reason_the_route_template_and_the_site(lines):
    result = read_client().simulate_get("/api/v1/sites/shop.example/settings",
                                        params={"q": "hush"}, remote_addr=CLIENT_IP,
                                        headers=sent_headers(**{"X-Request-Id": GIVEN_ID}))
    assert (result.status_code, result.json) == (403, {
        "title": "forbidden", "description": "this token may not read 'shop.example'",
        "request_id": GIVEN_ID})
    assert lines() == [(logging.INFO, line("read", "GET", "/api/v1/sites/{site_id}/settings",
                                           403, site="shop.example", reason="forbidden"))]


def test_a_read_5xx_is_logged_as_an_error(lines):
    result = read_client().simulate_get("/healthz", headers={"X-Request-Id": GIVEN_ID})
    assert result.status_code == 503  # no Cassandra here
    assert lines() == [(logging.ERROR, line("read", "GET", "/healthz", 503))]


def test_an_unmatched_path_is_logged_raw_cut_and_without_its_query(lines):
    path = "/api/v1/" + "x" * 300
    result = read_client().simulate_get(path, query_string="token=hush",
                                        headers={"X-Request-Id": GIVEN_ID})
    assert result.status_code == 404
    assert result.json == {"title": "404 Not Found", "request_id": GIVEN_ID}
    assert lines() == [(logging.INFO, line("read", "GET", path[:200], 404,
                                           reason="404 Not Found"))]


def test_a_write_2xx_line(lines):
    result = write_client().simulate_post(
        "/api/event", json=PAGEVIEW, remote_addr=CLIENT_IP,
        headers=sent_headers(**{"X-Request-Id": GIVEN_ID}))
    assert result.status_code == 202
    assert result.headers["X-Request-Id"] == GIVEN_ID
    assert lines() == [(logging.INFO, line("write", "POST", "/api/event", 202))]


@pytest.mark.parametrize("sent", [None, "x" * 65, "has space", "semi;colon", "ünï"])
def test_a_write_refusal_carries_a_new_request_id_in_header_body_and_line(lines, sent):
    headers = sent_headers(**({"X-Request-Id": sent} if sent is not None else {}))
    result = write_client().simulate_post("/api/event", json={"site_id": 3},
                                          remote_addr=CLIENT_IP, headers=headers)
    given = result.headers["X-Request-Id"]
    assert given != sent and len(given) == 32 and int(given, 16) >= 0
    assert (result.status_code, sorted(result.json), result.json["title"],
            result.json["request_id"]) == (
        400, ["description", "request_id", "title"], "schema_violation", given)
    assert lines() == [(logging.INFO, line("write", "POST", "/api/event", 400,
                                           reason="schema_violation", request_id=given))]


def test_a_write_5xx_is_logged_as_an_error_with_its_reason(lines):
    result = write_client(StoreDown()).simulate_post(
        "/api/event", json=PAGEVIEW, headers={"X-Request-Id": GIVEN_ID})
    assert (result.status_code, result.json["title"]) == (503, "not_kept")
    assert result.headers["X-Request-Id"] == result.json["request_id"] == GIVEN_ID
    assert lines() == [(logging.ERROR, line("write", "POST", "/api/event", 503,
                                            reason="not_kept"))]


def test_no_line_holds_credentials_addresses_agents_or_queries(lines):
    write = write_client()
    mp = write.simulate_post("/mp/collect", params={"measurement_id": MP_SHOP.site_id,
                                                    "api_secret": MP_SECRET},
                             json=MP_PAGE_VIEW,
                             remote_addr=CLIENT_IP, headers=sent_headers())
    pixel = write.simulate_get("/api/pixel.gif", remote_addr=CLIENT_IP,
                               headers=sent_headers(), params={
                                   "site_id": MP_SHOP.site_id,
                                   "url": "https://shop.example/?q=hush"})
    read = read_client()
    sites = read.simulate_get("/api/v1/sites", params={"token": TOKEN},
                              remote_addr=CLIENT_IP, headers=sent_headers())
    share = read.simulate_get(f"/share/{TOKEN}", remote_addr=CLIENT_IP,
                              headers=sent_headers())
    assert [r.status_code for r in (mp, pixel, sites, share)] == [202, 200, 200, 200]
    logged = [json.dumps(fields) for _, fields in lines()]
    assert [fields["route"] for _, fields in lines()] == [
        "/mp/collect", "/api/pixel.gif", "/api/v1/sites", "/share/{secret}"]
    assert [secret for secret in SECRETS for text in logged if secret in text] == []


def test_the_setting_switches_the_lines_off_not_the_request_ids(lines):
    result = read_client(Config(access_log=False)).simulate_get(
        "/healthz", headers={"X-Request-Id": GIVEN_ID})
    assert (result.headers["X-Request-Id"], lines()) == (GIVEN_ID, [])


@pytest.mark.parametrize("sent", ["a", "A" * 64, "abc.DEF-1_2", GIVEN_ID])
def test_a_well_formed_request_id_is_kept(sent):
    assert new_request_id(sent) == sent


@pytest.mark.parametrize("sent", [None, "", "A" * 65, "a b", "a\nb", "a/b", "é"])
def test_any_other_request_id_is_replaced(sent):
    made = new_request_id(sent)
    assert made != sent and len(made) == 32 and made != new_request_id(sent)
