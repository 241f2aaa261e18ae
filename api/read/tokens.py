"""API tokens of the read service: made by ``python -m api.manage token create``, stored
hashed in Cassandra's ``api_tokens``, revocable (no Falcon in here).

A token is ``sl_<token_id>_<secret>``. ``token_id`` is public (lists show it, revoke takes
it); only the SHA-256 of the secret is stored, so a stolen table gives no working token.
A token reads the sites it names, or every site when it was made with ``--all-sites``
(stored as the site ``*``; ``--site '*'`` is refused). It may expire (``expires_at``, UTC;
None: never): :meth:`TokenStore.verify` still finds an expired token, and the caller
refuses it with ``token_expired`` by its own clock (:meth:`Token.expired`).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from analytics.sites import hash_secret
from analytics.storage.times import utc

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
    expires_at: datetime | None = None
    """When the token stops working (aware, UTC); None: never."""

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

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

    _COLUMNS = "token_id, secret_hash, sites, label, created_at, revoked_at, expires_at"

    def __init__(self, session):
        self.session = session

    def create(self, sites: list[str], label: str = "", expires_at: datetime | None = None,
               now: datetime | None = None) -> tuple[Token, str]:
        """A new token for ``sites`` (``["*"]``: every site) that stops working at
        ``expires_at`` (None: never); returns it and the secret string, which is shown
        once and never stored."""
        if not sites:
            raise TokenError("a token needs at least one site (or --all-sites)")
        if EVERY_SITE in sites and len(sites) > 1:
            raise TokenError("a token reads every site or the sites it names, not both")
        now = now or datetime.now(UTC)
        if expires_at is not None and expires_at <= now:
            raise TokenError(f"the expiry {expires_at:%Y-%m-%d %H:%M} UTC has passed")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        self.session.execute(
            "INSERT INTO api_tokens (token_id, secret_hash, sites, label, created_at, "
            "expires_at) VALUES (%s, %s, %s, %s, %s, %s) IF NOT EXISTS",
            (token_id, hash_secret(secret), set(sites), label, now, expires_at))
        token = Token(token_id, frozenset(sites), label, now, None, expires_at)
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
        """The active token ``raw`` is, or None (unknown, wrong secret or revoked). An
        expired token is returned: whether it has expired is the caller's to check
        (:meth:`Token.expired`), so it can say so."""
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
    read; a revocation takes effect within ``ttl_s``.

    Tokens that verified and strings that did not are kept apart, each bounded and
    dropping its least recently used entry first: junk (unknown, malformed or wrong
    secrets), however much of it a client sends, only ever displaces other junk, never a
    good token. ``clock``: seconds, monotonic."""

    def __init__(self, store: TokenStore, ttl_s: float = 10.0, *, max_known: int = 10_000,
                 max_unknown: int = 1_000, clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self._known = _Lru(max_known)
        self._unknown = _Lru(max_unknown)
        self._lock = threading.Lock()

    def verify(self, raw: str) -> Token | None:
        now = self.clock()
        with self._lock:
            token = self._known.get(raw, now)
            if token is not None or self._unknown.get(raw, now):
                return token
        token = self.store.verify(raw)
        with self._lock:
            if token is not None:
                self._known.put(raw, token, now + self.ttl_s)
            else:
                self._unknown.put(raw, True, now + self.ttl_s)
        return token


class _Lru:
    """At most ``size`` entries, each until its deadline; the least recently used goes
    first. Not thread-safe (:class:`CachedTokens` holds its lock)."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[str, tuple[float, object]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, now: float):
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: str, value, deadline: float) -> None:
        self._entries[key] = (deadline, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


_EPOCH = datetime(1970, 1, 1)


def _token(row) -> Token:
    return Token(token_id=row.token_id, sites=frozenset(row.sites or ()), label=row.label or "",
                 created_at=row.created_at, revoked_at=row.revoked_at,
                 expires_at=utc(row.expires_at))
