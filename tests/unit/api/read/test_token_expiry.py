"""API tokens that expire (issue 16): a token stored with ``expires_at`` works until that
instant of the app's clock and is then refused with 401 ``token_expired``; tokens stored
before expiry existed (no ``expires_at``) keep working. Through the real TokenStore and
its cache, on an in-memory ``api_tokens`` table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from falcon import testing

from analytics.config import Config
from api.read.app import create_app
from api.read.site_settings import SitesCache
from api.read.tokens import CachedTokens, TokenError, TokenStore
from tests.unit.api.errors import error_body
from tests.unit.api.read.conftest import BLOG, SHOP
from tests.unit.api.read.fakes import (
    Clock,
    FakeReports,
    MemoryFailures,
    MemoryLinks,
    MemorySessions,
    MemorySites,
    MemoryTokenTable,
    MemoryUsers,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BLOG_SITE = {"site_id": "blog.example", "domain": "blog.example", "timezone": "UTC",
             "goals": [], "role": "viewer"}


class App:
    def __init__(self):
        self.clock = Clock(NOW)
        self.table = MemoryTokenTable()
        self.store = TokenStore(self.table)
        self.client = testing.TestClient(create_app(
            Config(), None, sites=SitesCache(MemorySites(SHOP, BLOG), ttl_s=3600),
            reports=FakeReports(), jobs=object(),
            # The cache's clock stands still: a remembered token is still checked for
            # expiry against the app's clock on every request.
            tokens=CachedTokens(self.store, clock=lambda: 0.0), users=MemoryUsers(),
            browser_sessions=MemorySessions(), shared_links=MemoryLinks(),
            login_failures=MemoryFailures(), clock=self.clock))

    def sites(self, raw: str):
        return self.client.simulate_get("/api/v1/sites",
                                        headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def app() -> App:
    return App()


def test_a_token_works_until_it_expires_then_says_so(app):
    token, raw = app.store.create([BLOG.site_id], "tableau", NOW + timedelta(days=90), now=NOW)
    assert token.expires_at == datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    app.clock.at = datetime(2027, 3, 1, 11, 59, 59, tzinfo=UTC)
    assert app.sites(raw).json == {"sites": [BLOG_SITE]}
    app.clock.at = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    refused = app.sites(raw)
    assert refused.status_code == 401
    assert error_body(refused) == {
        "title": "token_expired",
        "description": "the token expired at 2027-03-01 12:00 UTC; make a new one with: "
                       "python -m api.manage token create"}
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="sitelens"'


def test_the_expiry_is_stored_and_read_back_as_utc(app):
    token, _raw = app.store.create([SHOP.site_id], "", datetime(2027, 3, 1, tzinfo=UTC),
                                   now=NOW)
    assert app.table.rows[token.token_id]["expires_at"] == datetime(2027, 3, 1, tzinfo=UTC)
    assert app.store.get(token.token_id).expires_at == datetime(2027, 3, 1, tzinfo=UTC)


def test_a_token_made_before_expiry_existed_keeps_working(app):
    token, raw = app.store.create([BLOG.site_id], "old", now=NOW)
    del app.table.rows[token.token_id]["expires_at"]  # a row written before migration 0009
    app.clock.at = datetime(2036, 1, 1, tzinfo=UTC)
    assert app.store.get(token.token_id).expires_at is None
    assert app.sites(raw).json == {"sites": [BLOG_SITE]}


def test_an_expired_token_with_a_wrong_secret_is_only_invalid(app):
    token, _raw = app.store.create([BLOG.site_id], "", NOW + timedelta(hours=1), now=NOW)
    app.clock.advance(hours=2)
    refused = app.sites(f"sl_{token.token_id}_not-the-secret")
    assert (refused.status_code, refused.json["title"]) == (401, "invalid_token")


@pytest.mark.parametrize("expires_at", [NOW, NOW - timedelta(days=1)])
def test_a_token_cannot_be_made_already_expired(app, expires_at):
    with pytest.raises(TokenError) as refused:
        app.store.create([BLOG.site_id], "", expires_at, now=NOW)
    assert str(refused.value) == (
        f"the expiry {expires_at:%Y-%m-%d %H:%M} UTC has passed")
    assert app.table.rows == {}


def test_a_token_reads_every_site_or_named_ones_not_both(app):
    with pytest.raises(TokenError) as refused:
        app.store.create(["*", BLOG.site_id], "", now=NOW)
    assert str(refused.value) == "a token reads every site or the sites it names, not both"
