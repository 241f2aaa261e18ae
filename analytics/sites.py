"""Sites: the settings each tracked site has, stored in Cassandra's ``sites`` table."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SITE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class SiteError(ValueError):
    pass


class UnknownSitesError(SiteError):
    """Site ids that name no site."""


def choose_sites(every: list[Site], wanted: list[str] | None) -> list[Site]:
    """The sites named in ``wanted`` (all of ``every`` when it is empty), sorted by id;
    :class:`UnknownSitesError` naming each id that is not a site."""
    if not wanted:
        return sorted(every, key=lambda s: s.site_id)
    known = {site.site_id: site for site in every}
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise UnknownSitesError(f"unknown site(s): {', '.join(unknown)}; known: "
                                f"{', '.join(sorted(known)) or '(no sites yet)'}")
    return [known[site_id] for site_id in sorted(set(wanted))]


@dataclass(frozen=True)
class Site:
    site_id: str
    domain: str
    timezone: str = "UTC"
    goals: frozenset[str] = field(default_factory=frozenset)
    retention_days: int | None = None
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    mp_secret_hash: str | None = None
    client_id_opt_in: bool = False

    def __post_init__(self):
        if not SITE_ID_RE.match(self.site_id):
            raise SiteError(f"site id {self.site_id!r} must match {SITE_ID_RE.pattern}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SiteError(f"unknown IANA time zone {self.timezone!r}") from None

    def origin_allowed(self, origin: str) -> bool:
        """Browsers' Origin header: the site's own host (and subdomains) or a listed origin."""
        if origin in self.allowed_origins:
            return True
        host = origin.split("://", 1)[-1].split(":", 1)[0].lower()
        domain = self.domain.lower()
        return host == domain or host.endswith("." + domain)

    def secret_matches(self, secret: str) -> bool:
        if not self.mp_secret_hash or not secret:
            return False
        return hmac.compare_digest(hash_secret(secret), self.mp_secret_hash)

    def with_new_secret(self) -> tuple[Site, str]:
        secret = secrets.token_urlsafe(24)
        return replace(self, mp_secret_hash=hash_secret(secret)), secret


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SiteRepository:
    """Reads and writes sites in Cassandra (``session`` bound to the keyspace)."""

    _COLUMNS = ("site_id, domain, timezone, goals, retention_days, allowed_origins, "
                "mp_secret_hash, client_id_opt_in")

    def __init__(self, session):
        self.session = session

    def get(self, site_id: str) -> Site | None:
        row = self.session.execute(
            f"SELECT {self._COLUMNS} FROM sites WHERE site_id = %s", (site_id,)).one()
        return _from_row(row) if row else None

    def all(self) -> list[Site]:
        return sorted((_from_row(r) for r in self.session.execute(
            f"SELECT {self._COLUMNS} FROM sites")), key=lambda s: s.site_id)

    def save(self, site: Site) -> None:
        now = datetime.now(UTC)
        self.session.execute(
            "UPDATE sites SET domain = %s, timezone = %s, goals = %s, retention_days = %s, "
            "allowed_origins = %s, mp_secret_hash = %s, client_id_opt_in = %s, "
            "updated_at = %s WHERE site_id = %s",
            (site.domain, site.timezone, set(site.goals), site.retention_days,
             set(site.allowed_origins), site.mp_secret_hash, site.client_id_opt_in, now,
             site.site_id))
        self.session.execute(
            "UPDATE sites SET created_at = %s WHERE site_id = %s IF created_at = null",
            (now, site.site_id))


class CachedSites:
    """Site lookups for the hot path: cached, refreshed after ``ttl_s``; unknown ids are
    cached too (briefly) so a flood of bad ids does not hammer Cassandra."""

    def __init__(self, repository: SiteRepository, ttl_s: float = 30.0, miss_ttl_s: float = 5.0):
        self.repository = repository
        self.ttl_s = ttl_s
        self.miss_ttl_s = miss_ttl_s
        self._cache: dict[str, tuple[float, Site | None]] = {}
        self._lock = threading.Lock()

    def cached(self, site_id: str) -> tuple[bool, Site | None]:
        """(True, site or None) when the cache has a fresh answer, else (False, None)."""
        hit = self._cache.get(site_id)
        if hit and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def get(self, site_id: str) -> Site | None:
        now = time.monotonic()
        hit = self._cache.get(site_id)
        if hit and hit[0] > now:
            return hit[1]
        site = self.repository.get(site_id)
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[site_id] = (now + (self.ttl_s if site else self.miss_ttl_s), site)
        return site


def _from_row(row) -> Site:
    return Site(
        site_id=row.site_id, domain=row.domain or "", timezone=row.timezone or "UTC",
        goals=frozenset(row.goals or ()), retention_days=row.retention_days,
        allowed_origins=frozenset(row.allowed_origins or ()),
        mp_secret_hash=row.mp_secret_hash, client_id_opt_in=bool(row.client_id_opt_in))
