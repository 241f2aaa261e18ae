"""Shared links: a read-only view of one site's dashboard for whoever has the link,
optionally behind a password (no Falcon in here; storage in
:mod:`analytics.storage.shared_links`).

A link's secret is ``<link_id>.<random>``: ``link_id`` finds the row (admins see it in
lists, revoke takes it), only the SHA-256 of the whole secret is stored, and the secret is
shown once, when the link is made. Giving the password of a protected link makes an
"unlock": a random value for a cookie, stored hashed with a TTL, that opens that link in
that browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from analytics.storage.shared_links import SharedLink
from api.read.accounts import InvalidCredentials, to_ms
from api.read.passwords import Passwords, check_new
from api.read.throttle import Throttle

SEPARATOR = "."
MAX_LABEL = 200


class SharingError(ValueError):
    code = "invalid_link"


class UnknownLink(LookupError):
    pass


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def link_id_of(raw: object) -> str | None:
    """The link id a secret names, or None when it is not shaped like one."""
    if not isinstance(raw, str) or len(raw) > 200:
        return None
    link_id, sep, rest = raw.partition(SEPARATOR)
    if not sep or not rest or not link_id.isalnum():
        return None
    return link_id


def check_label(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise SharingError("label: a non-empty string is required")
    if len(raw.strip()) > MAX_LABEL:
        raise SharingError(f"label: at most {MAX_LABEL} characters")
    return raw.strip()


class SharedLinks:
    def __init__(self, store, passwords: Passwords, throttle: Throttle, *,
                 unlock_ttl_s: int, max_failures: int, client_max_failures: int):
        self.store = store
        self.passwords = passwords
        self.throttle = throttle
        self.unlock_ttl_s = unlock_ttl_s
        self.max_failures = max_failures
        self.client_max_failures = client_max_failures

    def create(self, site_id: str, label: object, password: object,
               now: datetime) -> tuple[SharedLink, str]:
        """A new link and its secret (shown once)."""
        label = check_label(label)
        password_hash = None
        if password is not None:
            try:
                password_hash = self.passwords.hash(check_new(password))
            except ValueError as exc:
                raise SharingError(str(exc)) from None
        link_id = secrets.token_hex(6)
        secret = f"{link_id}{SEPARATOR}{secrets.token_urlsafe(32)}"
        link = SharedLink(link_id, site_id, label, _hash(secret), password_hash, to_ms(now))
        self.store.insert(link)
        return link, secret

    def find(self, raw: object) -> SharedLink | None:
        """The active link a secret opens, or None (unknown, wrong secret, revoked)."""
        link_id = link_id_of(raw)
        link = self.store.get(link_id) if link_id else None
        if link is None or not link.active:
            return None
        if not hmac.compare_digest(_hash(raw), link.secret_hash):
            return None
        return link

    def for_site(self, site_id: str) -> list[SharedLink]:
        return sorted(self.store.for_site(site_id),
                      key=lambda link: (link.created_at is None, link.created_at, link.link_id))

    def revoke(self, site_id: str, link_id: str, now: datetime) -> bool:
        """False when the site has no such link (revoking twice is fine)."""
        link = self.store.get(link_id)
        if link is None or link.site_id != site_id:
            return False
        if link.active:
            self.store.revoke(link_id, to_ms(now))
        return True

    def unlock(self, raw: object, password: object, client: str | None,
               now: datetime) -> tuple[SharedLink, str | None]:
        """The link and a cookie value that unlocks it (None: it has no password);
        :class:`UnknownLink`, :class:`InvalidCredentials` or
        :class:`api.read.throttle.Throttled` otherwise."""
        link = self.find(raw)
        if link is None:
            raise UnknownLink
        if link.password_hash is None:
            return link, None
        keys = [(f"link:{link.link_id}", self.max_failures)]
        if client:
            keys.append((f"client:{client}", self.client_max_failures))
        self.throttle.check(keys, now)
        if not self.passwords.verify(link.password_hash, password):
            self.throttle.failed(keys, now)
            raise InvalidCredentials
        value = secrets.token_urlsafe(32)
        self.store.insert_unlock(_hash(value), link.link_id, to_ms(now), self.unlock_ttl_s)
        return link, value

    def unlocked(self, link: SharedLink, cookie: str | None) -> bool:
        """The link needs no password, or ``cookie`` is a live unlock of it."""
        if link.password_hash is None:
            return True
        if not cookie or len(cookie) > 200:
            return False
        return self.store.unlocked_link(_hash(cookie)) == link.link_id
