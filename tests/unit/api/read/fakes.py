"""In-memory stand-ins for the read service's stores (same methods as
``analytics.storage.*``), a settable clock, and a browser that keeps its cookies, for
tests of the app through ``falcon.testing`` without Cassandra."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from analytics.storage.accounts import Membership, User


class Clock:
    def __init__(self, at: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)


class MemorySites:
    def __init__(self, *sites):
        self.sites = {s.site_id: s for s in sites}

    def get(self, site_id):
        return self.sites.get(site_id)

    def all(self):
        return sorted(self.sites.values(), key=lambda s: s.site_id)

    def save(self, site):
        self.sites[site.site_id] = site


class MemoryTokens:
    def __init__(self, **tokens):
        self.tokens = tokens

    def verify(self, raw):
        return self.tokens.get(raw)


class MemoryUsers:
    def __init__(self):
        self.users: dict[str, User] = {}
        self.memberships: dict[tuple[str, str], Membership] = {}

    def get_user(self, email):
        return self.users.get(email)

    def insert_user(self, user):
        if user.email in self.users:
            return False
        self.users[user.email] = user
        return True

    def set_password(self, email, password_hash, at):
        if email not in self.users:
            return False
        self.users[email] = replace(self.users[email], password_hash=password_hash,
                                    password_changed_at=at)
        return True

    def all_users(self):
        return sorted(self.users.values(), key=lambda u: u.email)

    def roles_of(self, email):
        return {site: m.role for (e, site), m in self.memberships.items() if e == email}

    def members_of(self, site_id):
        return [m for (_e, site), m in self.memberships.items() if site == site_id]

    def set_role(self, email, site_id, role, at):
        self.memberships[(email, site_id)] = Membership(site_id, email, role, at)

    def remove_role(self, email, site_id):
        self.memberships.pop((email, site_id), None)


class MemorySessions:
    def __init__(self):
        self.rows = {}

    def insert(self, found, ttl_s):
        self.rows[found.session_id] = found

    def get(self, session_id):
        return self.rows.get(session_id)

    def ids_of(self, email):
        return [i for i, s in self.rows.items() if s.email == email]

    def delete(self, email, session_ids):
        for session_id in session_ids:
            self.rows.pop(session_id, None)


class MemoryLinks:
    def __init__(self):
        self.links = {}
        self.unlocks = {}

    def insert(self, link):
        self.links[link.link_id] = link

    def get(self, link_id):
        return self.links.get(link_id)

    def for_site(self, site_id):
        return [link for link in self.links.values() if link.site_id == site_id]

    def revoke(self, link_id, at):
        if self.links[link_id].revoked_at is None:
            self.links[link_id] = replace(self.links[link_id], revoked_at=at)

    def insert_unlock(self, unlock_id, link_id, at, ttl_s):
        self.unlocks[unlock_id] = link_id

    def unlocked_link(self, unlock_id):
        return self.unlocks.get(unlock_id)


class MemoryFailures:
    def __init__(self):
        self.failures: dict[str, list[datetime]] = {}

    def add(self, key, at, ttl_s):
        self.failures.setdefault(key, []).append(at)

    def since(self, key, start):
        return sorted(t for t in self.failures.get(key, []) if t > start)

    def clear(self, key):
        self.failures.pop(key, None)


class FakeReports:
    """Only what the tests call: the realtime report."""

    def realtime(self, site, now):
        return {"site_id": site.site_id, "timezone": site.timezone, "minutes": []}


class Browser:
    """A client with a cookie jar (``falcon.testing`` keeps none) and the CSRF token the
    login answered; ``csrf=False`` leaves the header out."""

    def __init__(self, client, remote_addr: str = "198.51.100.7", https: bool = False):
        self.client = client
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None
        self.headers: dict[str, str] = {}
        self.remote_addr = remote_addr
        self.https = https

    def request(self, method: str, path: str, *, json=None, body=None, csrf: bool = True,
                headers: dict | None = None):
        sent = dict(self.headers)
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            sent["X-CSRF-Token"] = self.csrf
        sent.update(headers or {})
        result = self.client.simulate_request(
            method, path, json=json, body=body, headers=sent, cookies=self.cookies or None,
            remote_addr=self.remote_addr, protocol="https" if self.https else "http")
        for name, cookie in result.cookies.items():
            if cookie.value and (cookie.max_age is None or cookie.max_age > 0):
                self.cookies[name] = cookie.value
            else:
                self.cookies.pop(name, None)
        return result

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, email: str, password: str):
        result = self.post("/api/v1/auth/login", {"email": email, "password": password})
        if result.status_code == 200:
            self.csrf = result.json["csrf_token"]
        return result
