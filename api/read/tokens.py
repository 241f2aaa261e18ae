"""API tokens of the read service: made by ``python -m api.manage token create``, stored
hashed in Cassandra's ``api_tokens``, revocable (no Falcon in here).

A token is ``sl_<token_id>_<secret>``. ``token_id`` is public (lists show it, revoke takes
it); only the SHA-256 of the secret is stored, so a stolen table gives no working token.
A token reads the sites it names, or every site when it was made with ``--all-sites``.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from analytics.sites import hash_secret

PREFIX = "sl_"
EVERY_SITE = "*"


class TokenError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    token_id: str
    sites: frozenset[str]
    label: str
    created_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may_read(self, site_id: str) -> bool:
        return EVERY_SITE in self.sites or site_id in self.sites


def split(raw: str) -> tuple[str, str] | None:
    """``sl_<id>_<secret>`` -> (id, secret), or None when it is not shaped like a token."""
    if not raw.startswith(PREFIX):
        return None
    token_id, _, secret = raw[len(PREFIX):].partition("_")
    if not token_id or not secret:
        return None
    return token_id, secret


class TokenStore:
    """Tokens in Cassandra (``session`` bound to the keyspace)."""

    _COLUMNS = "token_id, secret_hash, sites, label, created_at, revoked_at"

    def __init__(self, session):
        self.session = session

    def create(self, sites: list[str], label: str = "") -> tuple[Token, str]:
        """A new token for ``sites`` (``["*"]``: every site); returns it and the secret
        string, which is shown once and never stored."""
        if not sites:
            raise TokenError("a token needs at least one site (or --all-sites)")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        self.session.execute(
            "INSERT INTO api_tokens (token_id, secret_hash, sites, label, created_at) "
            "VALUES (%s, %s, %s, %s, %s) IF NOT EXISTS",
            (token_id, hash_secret(secret), set(sites), label, now))
        token = Token(token_id, frozenset(sites), label, now, None)
        return token, f"{PREFIX}{token_id}_{secret}"

    def all(self) -> list[Token]:
        rows = self.session.execute(f"SELECT {self._COLUMNS} FROM api_tokens")
        return sorted((_token(r) for r in rows), key=lambda t: (t.created_at or _EPOCH))

    def revoke(self, token_id: str) -> Token:
        result = self.session.execute(
            "UPDATE api_tokens SET revoked_at = %s WHERE token_id = %s IF EXISTS",
            (datetime.now(UTC), token_id))
        if not result.was_applied:
            raise TokenError(f"no token {token_id!r}")
        return self.get(token_id)

    def get(self, token_id: str) -> Token | None:
        row = self._row(token_id)
        return _token(row) if row else None

    def verify(self, raw: str) -> Token | None:
        """The active token ``raw`` is, or None (unknown, wrong secret or revoked)."""
        parts = split(raw)
        if parts is None:
            return None
        row = self._row(parts[0])
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(hash_secret(parts[1]), row.secret_hash or ""):
            return None
        return _token(row)

    def _row(self, token_id: str):
        return self.session.execute(
            f"SELECT {self._COLUMNS} FROM api_tokens WHERE token_id = %s", (token_id,)).one()


class CachedTokens:
    """Verified tokens remembered for ``ttl_s`` per worker, so a request costs no token
    read; a revocation takes effect within ``ttl_s``."""

    def __init__(self, store: TokenStore, ttl_s: float = 10.0):
        self.store = store
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Token | None]] = {}
        self._lock = threading.Lock()

    def verify(self, raw: str) -> Token | None:
        now = time.monotonic()
        hit = self._cache.get(raw)
        if hit and hit[0] > now:
            return hit[1]
        token = self.store.verify(raw)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[raw] = (now + self.ttl_s, token)
        return token


_EPOCH = datetime(1970, 1, 1)


def _token(row) -> Token:
    return Token(token_id=row.token_id, sites=frozenset(row.sites or ()), label=row.label or "",
                 created_at=row.created_at, revoked_at=row.revoked_at)
