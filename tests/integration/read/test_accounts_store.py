"""The account stores on the running Cassandra (test keyspace, migration 0008 applied by
the ``stack`` fixture's ``apply_schema``): users, roles both ways, sessions and unlocks
with their TTLs, shared links and their revocation, login failures; then a login, a
settings change and a shared link through the read app built on that session."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, profiles
from falcon import testing

from analytics.sites import Site, SiteRepository
from analytics.storage.accounts import AccountStore, Membership, User
from analytics.storage.browser_sessions import BrowserSession, BrowserSessionStore
from analytics.storage.login_failures import LoginFailureStore
from analytics.storage.shared_links import SharedLink, SharedLinkStore
from api.manage_users import accounts_of
from api.read.app import create_app
from api.read.passwords import Passwords

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 1, 12, 0, 0, 123000, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_users_and_roles_round_trip(cql):
    store = AccountStore(cql)
    email, site = unique("ada") + "@example.com", unique("shop") + ".test"
    user = User(email, "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", AT, AT)
    assert store.insert_user(user) is True
    assert store.insert_user(User(email, "other", AT, AT)) is False
    assert store.get_user(email) == user
    assert store.get_user(unique("nobody") + "@example.com") is None
    later = AT + timedelta(days=1)
    assert store.set_password(email, "new hash", later) is True
    assert store.set_password(unique("ghost") + "@example.com", "x", later) is False
    assert store.get_user(email) == User(email, "new hash", AT, later)
    assert user.email in [u.email for u in store.all_users()]

    store.set_role(email, site, "viewer", AT)
    store.set_role(email, site, "admin", later)
    store.set_role("bob@example.com", site, "viewer", AT)
    assert store.roles_of(email) == {site: "admin"}
    assert sorted(store.members_of(site), key=lambda m: m.email) == [
        Membership(site, email, "admin", later),
        Membership(site, "bob@example.com", "viewer", AT)]
    store.remove_role(email, site)
    assert store.roles_of(email) == {}
    assert [m.email for m in store.members_of(site)] == ["bob@example.com"]
    with pytest.raises(ValueError, match="role 'owner'"):
        store.set_role(email, site, "owner", AT)


def test_sessions_round_trip_with_their_ttl(cql):
    store = BrowserSessionStore(cql)
    email = unique("ada") + "@example.com"
    one = BrowserSession(unique("s1"), email, "csrf-1", AT, AT + timedelta(hours=1))
    two = BrowserSession(unique("s2"), email, "csrf-2", AT, AT + timedelta(hours=1))
    store.insert(one, 3600)
    store.insert(two, 3600)
    assert store.get(one.session_id) == one
    assert sorted(store.ids_of(email)) == sorted([one.session_id, two.session_id])
    ttl = cql.execute("SELECT TTL(email) AS t FROM browser_sessions WHERE session_id = %s",
                      (one.session_id,)).one().t
    assert 3590 <= ttl <= 3600
    store.delete(email, [one.session_id])
    assert store.get(one.session_id) is None
    assert store.ids_of(email) == [two.session_id]


def test_shared_links_round_trip(cql):
    store = SharedLinkStore(cql)
    site = unique("shop") + ".test"
    first = SharedLink(uuid.uuid4().hex[:12], site, "Press", "hash-1", None, AT)
    second = SharedLink(uuid.uuid4().hex[:12], site, "Board", "hash-2", "$argon2id$x", AT)
    store.insert(first)
    store.insert(second)
    assert store.get(first.link_id) == first
    assert sorted(store.for_site(site), key=lambda s: s.label) == [second, first]
    assert store.for_site(unique("empty") + ".test") == []
    store.revoke(first.link_id, AT + timedelta(hours=1))
    store.revoke(first.link_id, AT + timedelta(hours=2))  # the first revocation stays
    assert store.get(first.link_id).revoked_at == AT + timedelta(hours=1)
    unlock = unique("unlock")
    store.insert_unlock(unlock, second.link_id, AT, 600)
    assert store.unlocked_link(unlock) == second.link_id
    assert store.unlocked_link(unique("nope")) is None
    ttl = cql.execute("SELECT TTL(link_id) AS t FROM shared_link_unlocks WHERE "
                      "unlock_id = %s", (unlock,)).one().t
    assert 590 <= ttl <= 600


def test_login_failures_round_trip(cql):
    store = LoginFailureStore(cql)
    key = unique("account:ada")
    for minutes in (10, 0, 5):
        store.add(key, AT + timedelta(minutes=minutes), 900)
    store.add(key, AT + timedelta(minutes=5), 900)  # the same instant twice: two rows
    assert store.since(key, AT) == [AT + timedelta(minutes=5)] * 2 + [
        AT + timedelta(minutes=10)]
    assert len(store.since(key, AT - timedelta(seconds=1))) == 4
    store.clear(key)
    assert store.since(key, AT - timedelta(days=1)) == []
    brief = unique("client:198.51.100.1")
    store.add(brief, AT, 1)  # rows are written with the window as their TTL
    assert store.since(brief, AT - timedelta(seconds=1)) == [AT]
    time.sleep(2.5)
    assert store.since(brief, AT - timedelta(seconds=1)) == []


def test_the_read_app_on_cassandra(stack, cql):
    site = Site(site_id=unique("acct") + ".test", domain="acct.example", timezone="UTC")
    SiteRepository(cql).save(site)
    accounts = accounts_of(stack, cql)
    email = unique("owner") + "@example.com"
    accounts.create_user(email, "correct horse battery", datetime.now(UTC))
    accounts.grant(email, site.site_id, "admin", datetime.now(UTC))
    client = testing.TestClient(create_app(
        stack, cql, passwords=Passwords(PasswordHasher.from_parameters(profiles.CHEAPEST))))

    wrong = client.simulate_post("/api/v1/auth/login",
                                 json={"email": email, "password": "wrong password"})
    assert (wrong.status_code, wrong.json["title"]) == (401, "invalid_credentials")
    login = client.simulate_post("/api/v1/auth/login",
                                 json={"email": email, "password": "correct horse battery"})
    assert login.status_code == 200
    jar = {"sl_session": login.cookies["sl_session"].value}
    csrf = {"X-CSRF-Token": login.json["csrf_token"]}
    me = client.simulate_get("/api/v1/auth/me", cookies=jar)
    assert me.json["sites"] == [{"site_id": site.site_id, "domain": "acct.example",
                                 "timezone": "UTC", "goals": [], "role": "admin"}]
    changed = client.simulate_patch(f"/api/v1/sites/{site.site_id}/settings", cookies=jar,
                                    headers=csrf, json={"timezone": "Asia/Kathmandu",
                                                        "retention_days": 30})
    assert changed.status_code == 200
    stored = SiteRepository(cql).get(site.site_id)
    assert (stored.timezone, stored.retention_days) == ("Asia/Kathmandu", 30)

    made = client.simulate_post(f"/api/v1/sites/{site.site_id}/shared-links", cookies=jar,
                                headers=csrf, json={"label": "Press"})
    secret = made.json["url"].removeprefix("/share/")
    opened = client.simulate_get(f"/api/v1/share/{secret}")
    assert (opened.status_code, opened.json["site"]["timezone"]) == (200, "Asia/Kathmandu")
    revoked = client.simulate_delete(
        f"/api/v1/sites/{site.site_id}/shared-links/{made.json['link_id']}", cookies=jar,
        headers=csrf)
    assert revoked.status_code == 204
    assert client.simulate_get("/api/v1/auth/me",
                               headers={"X-Share-Token": secret}).status_code == 404

    assert client.simulate_post("/api/v1/auth/logout", cookies=jar,
                                headers=csrf).status_code == 204
    assert client.simulate_get("/api/v1/auth/me", cookies=jar).json["title"] == \
        "session_expired"
