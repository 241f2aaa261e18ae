"""The read service's app on in-memory stores: two sites, an admin and a viewer of the
shop, an API token for the blog, a settable clock and cheap argon2 parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from falcon import testing

from analytics.config import Config
from analytics.sites import Site
from api.read.accounts import Accounts
from api.read.app import create_app
from api.read.passwords import Passwords
from api.read.reports import Reports
from api.read.site_settings import SitesCache
from api.read.throttle import Throttle
from api.read.tokens import Token
from tests.unit.api.read.fakes import (
    Browser,
    Clock,
    FakeReports,
    MemoryAdhocJobs,
    MemoryFailures,
    MemoryLinks,
    MemorySessions,
    MemorySites,
    MemoryTokens,
    MemoryUsers,
    MemoryViews,
    UpCassandra,
)

SHOP = Site(site_id="shop.example", domain="shop.example", timezone="Europe/Berlin",
            goals=frozenset({"signup"}))
BLOG = Site(site_id="blog.example", domain="blog.example", timezone="UTC")
ADMIN, VIEWER, OUTSIDER = "ada@example.com", "vic@example.com", "otto@example.com"
PASSWORD = "correct horse battery"
BLOG_TOKEN = "sl_blogtoken_secret"
ALL_TOKEN = "sl_alltoken_secret"
REVOKED_TOKEN = "sl_revokedtoken_secret"
EXPIRED_TOKEN = "sl_expiredtoken_secret"
"""Was the shop's token until it was revoked."""


@dataclass
class World:
    client: testing.TestClient
    config: Config
    clock: Clock
    sites: MemorySites
    users: MemoryUsers
    sessions: MemorySessions
    links: MemoryLinks
    failures: MemoryFailures
    accounts: Accounts
    jobs: object = None

    def browser(self, **kw) -> Browser:
        return Browser(self.client, **kw)

    def signed_in(self, email: str, **kw) -> Browser:
        browser = self.browser(**kw)
        assert browser.login(email, PASSWORD).status_code == 200
        return browser


@pytest.fixture
def world() -> World:
    return make_world(Config())


def make_full_world(state_dir: Path, views: MemoryViews | None = None) -> World:
    """The app with every part answering: reports over ``views`` (default: no data),
    ad-hoc jobs in memory, a health check that finds the store up."""
    config = Config(state_dir=state_dir)
    return make_world(config, reports=Reports(views or MemoryViews(), lg_k=14,
                                              realtime_ttl_days=8),
                      jobs=MemoryAdhocJobs(config), session=UpCassandra())


def make_world(config: Config, *, reports=None, jobs=None, session=None,
               rate_limited: bool = False) -> World:
    """``reports``/``jobs``: the app's (default: only a realtime report, no jobs);
    ``session``: what the health check queries (default: none, so it answers 503);
    ``rate_limited``: keep the config's read rate limit (default: off, as the clock
    stands still)."""
    config = config if rate_limited else config.replace(read_rate_limit_per_s=0.0)
    clock = Clock()
    passwords = Passwords(PasswordHasher.from_parameters(profiles.CHEAPEST))
    sites, users, sessions = MemorySites(SHOP, BLOG), MemoryUsers(), MemorySessions()
    links, failures = MemoryLinks(), MemoryFailures()
    tokens = MemoryTokens(**{
        BLOG_TOKEN: Token("blogtoken", frozenset({BLOG.site_id}), "blog tableau", None, None),
        ALL_TOKEN: Token("alltoken", frozenset({"*"}), "operator", None, None),
        REVOKED_TOKEN: Token("revokedtoken", frozenset({SHOP.site_id}), "old shop", None,
                             clock()),
        EXPIRED_TOKEN: Token("expiredtoken", frozenset({SHOP.site_id}), "shop, expired",
                             None, None, expires_at=clock() - timedelta(seconds=1))})
    app = create_app(config, session, sites=SitesCache(sites, ttl_s=3600),
                     reports=reports or FakeReports(), jobs=jobs or object(),
                     tokens=tokens, users=users,
                     browser_sessions=sessions, shared_links=links, login_failures=failures,
                     passwords=passwords, clock=clock)
    accounts = Accounts(users, sessions, passwords, Throttle(failures, 900),
                        session_ttl_s=config.session_ttl_s, max_failures=5,
                        client_max_failures=20)
    for email in (ADMIN, VIEWER, OUTSIDER):
        accounts.create_user(email, PASSWORD, clock())
    accounts.grant(ADMIN, SHOP.site_id, "admin", clock())
    accounts.grant(VIEWER, SHOP.site_id, "viewer", clock())
    accounts.grant(VIEWER, BLOG.site_id, "viewer", clock())
    return World(testing.TestClient(app), config, clock, sites, users, sessions, links,
                 failures, accounts, jobs)
