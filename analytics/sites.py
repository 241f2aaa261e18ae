"""Sites: the settings each tracked site has, stored in Cassandra's ``sites`` table."""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

SITE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
"""A UUID in its canonical lower-case text form (an Umami website id)."""
MAX_MATOMO_IDSITE = 2**31 - 1
"""Matomo's ``idsite`` is a positive integer; stored in a Cassandra ``int`` (32 bits)."""
MAX_SNOWPLOW_APP_ID = 255
"""Snowplow's ``app_id`` is free text; its own warehouses keep 255 characters of it."""


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
    umami_website_id: str | None = None
    """The website id an Umami script or ``@umami/node`` sends for this site (a UUID,
    lower case); None: the site takes no Umami events."""
    matomo_idsite: int | None = None
    """The ``idsite`` a Matomo tracker (``matomo.js``, ``matomo-tracker``, the Tracking
    HTTP API) sends for this site; None: the site takes no Matomo requests."""
    snowplow_app_id: str | None = None
    """The app id (``aid``) a Snowplow tracker sends for this site (text, as sent: Snowplow
    compares it case-sensitively); None: the site takes no Snowplow events."""

    def __post_init__(self):
        if not SITE_ID_RE.match(self.site_id):
            raise SiteError(f"site id {self.site_id!r} must match {SITE_ID_RE.pattern}")
        if self.umami_website_id is not None and not UUID_RE.match(self.umami_website_id):
            raise SiteError(f"Umami website id {self.umami_website_id!r} must be a UUID in "
                            "lower case, like 3f2c5a8e-4b7d-4c1e-9a0f-6d8e2b1c7a45")
        if self.matomo_idsite is not None and (
                isinstance(self.matomo_idsite, bool) or not isinstance(self.matomo_idsite, int)
                or not 0 < self.matomo_idsite <= MAX_MATOMO_IDSITE):
            raise SiteError(f"Matomo idsite {self.matomo_idsite!r} must be a whole number from "
                            f"1 to {MAX_MATOMO_IDSITE}")
        if self.snowplow_app_id is not None and not snowplow_app_id_valid(self.snowplow_app_id):
            raise SiteError(f"Snowplow app id {str(self.snowplow_app_id)[:60]!r} must be text "
                            f"of 1 to {MAX_SNOWPLOW_APP_ID} printable characters, without "
                            "spaces around it")
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


def snowplow_app_id_valid(app_id: object) -> bool:
    """An app id a site can be given: what a tracker can send in ``aid`` and be found by
    (no control characters, nothing trimmed away)."""
    return (isinstance(app_id, str) and 0 < len(app_id) <= MAX_SNOWPLOW_APP_ID
            and app_id.isprintable() and app_id == app_id.strip())


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SiteRepository:
    """Reads and writes sites in Cassandra (``session`` bound to the keyspace)."""

    _COLUMNS = ("site_id, domain, timezone, goals, retention_days, allowed_origins, "
                "mp_secret_hash, client_id_opt_in, umami_website_id, matomo_idsite, "
                "snowplow_app_id")

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
            "umami_website_id = %s, matomo_idsite = %s, snowplow_app_id = %s, "
            "updated_at = %s WHERE site_id = %s",
            (site.domain, site.timezone, set(site.goals), site.retention_days,
             set(site.allowed_origins), site.mp_secret_hash, site.client_id_opt_in,
             site.umami_website_id, site.matomo_idsite, site.snowplow_app_id, now,
             site.site_id))
        self.session.execute(
            "UPDATE sites SET created_at = %s WHERE site_id = %s IF created_at = null",
            (now, site.site_id))


class SitesUnavailable(RuntimeError):
    """The store failed and no usable last-known answer is held for the site."""


class CachedSites:
    """Site lookups for the hot path, which must not depend on Cassandra being up.

    A known site is answered from memory. After ``ttl_s`` its settings are refreshed in
    the background while the last-known ones keep being served, so a request never waits
    for the store; when the store fails they are served for up to ``max_stale_s`` (logged
    at most once a minute with their age), and a failed site is asked again only after
    ``retry_s``. Unknown ids are cached for ``miss_ttl_s`` so a flood of bad ids does not
    hammer the store; such a miss is looked up again synchronously (by :meth:`get`, off
    the event loop). :class:`SitesUnavailable` only when the store fails for a site never
    seen, or one last seen more than ``max_stale_s`` ago.
    """

    def __init__(self, repository: SiteRepository, ttl_s: float = 30.0,
                 miss_ttl_s: float = 5.0, *, max_stale_s: float = 24 * 3600.0,
                 retry_s: float = 5.0, max_entries: int = 100_000, clock=time.monotonic,
                 executor=None):
        self.repository = repository
        self.ttl_s = ttl_s
        self.miss_ttl_s = miss_ttl_s
        self.max_stale_s = max_stale_s
        self.retry_s = retry_s
        self.max_entries = max_entries
        self.clock = clock
        self.stale_served = 0
        """How many answers came from last-known settings because the store failed."""
        self._cache: dict[str, tuple[float, Site | None]] = {}  # id -> (fetched at, site)
        self._lock = threading.Lock()
        self._retry_at: dict[str, float] = {}
        self._refreshing: set[str] = set()
        self._executor = executor
        self._warned_at: float | None = None

    def cached(self, site_id: str) -> tuple[bool, Site | None]:
        """(True, site or None) when memory has an answer (fresh, or a known site's
        last-known settings, refreshed in the background); else (False, None)."""
        entry = self._cache.get(site_id)
        if entry is None:
            return False, None
        fetched_at, site = entry
        age = self.clock() - fetched_at
        if age < (self.ttl_s if site else self.miss_ttl_s):
            return True, site
        if site is None or age > self.max_stale_s:
            return False, None
        self._refresh_later(site_id)
        return True, site

    def get(self, site_id: str) -> Site | None:
        """The site's settings, asking the store when memory has no fresh answer (blocks:
        call it off the event loop)."""
        entry = self._cache.get(site_id)
        if entry and self.clock() - entry[0] < (self.ttl_s if entry[1] else self.miss_ttl_s):
            return entry[1]
        return self._fetch(site_id)

    def all(self) -> list[Site]:
        """Every site, from the store (blocks: call it off the event loop; the write
        service's :class:`analytics.site_directory.SiteDirectory` keeps what it answers)."""
        return self.repository.all()

    def forget(self, site_id: str) -> None:
        """Drop what is held for a site (its settings were just changed here)."""
        with self._lock:
            self._cache.pop(site_id, None)
            self._retry_at.pop(site_id, None)

    # -- the store ----------------------------------------------------------------------
    def _fetch(self, site_id: str) -> Site | None:
        now = self.clock()
        if now >= self._retry_at.get(site_id, now):
            try:
                site = self.repository.get(site_id)
            except Exception as exc:
                with self._lock:
                    if len(self._retry_at) >= self.max_entries:  # a flood of unknown ids
                        self._retry_at.clear()
                    self._retry_at[site_id] = self.clock() + self.retry_s
                return self._last_known(site_id, exc)
            self._store(site_id, site)
            return site
        return self._last_known(site_id, None)  # failed moments ago: do not ask again yet

    def _last_known(self, site_id: str, error: Exception | None) -> Site | None:
        entry = self._cache.get(site_id)
        age = None if entry is None else self.clock() - entry[0]
        if age is None or age > self.max_stale_s:
            held = ("nothing is held for it" if age is None else
                    f"its last-known settings are {age:.0f} s old (limit {self.max_stale_s:.0f} s)")
            log.error("site %r: the site store failed (%s) and %s", site_id,
                      error or "recently", held)
            raise SitesUnavailable(f"the settings of site {site_id!r} cannot be read now "
                                   f"({error or 'store failing'})") from error
        self.stale_served += 1
        now = self.clock()
        if self._warned_at is None or now - self._warned_at >= 60.0:
            self._warned_at = now
            log.warning("site store failing (%s): serving last-known settings of %r, %.0f s "
                        "old (at most %.0f s); %d stale answers so far", error or "recently",
                        site_id, age, self.max_stale_s, self.stale_served)
        return entry[1]

    def _store(self, site_id: str, site: Site | None) -> None:
        with self._lock:
            self._retry_at.pop(site_id, None)
            if len(self._cache) >= self.max_entries:  # misses go first; real sites stay
                for key in [k for k, (_, s) in self._cache.items() if s is None]:
                    del self._cache[key]
                if len(self._cache) >= self.max_entries:
                    self._cache.clear()
            self._cache[site_id] = (self.clock(), site)

    # -- background refresh ---------------------------------------------------------------
    def _refresh_later(self, site_id: str) -> None:
        with self._lock:
            if site_id in self._refreshing or self.clock() < self._retry_at.get(site_id, 0.0):
                return
            self._refreshing.add(site_id)
            if self._executor is None:
                self._executor = _DaemonWorker("site-cache-refresh")
        self._executor.submit(self._refresh, site_id)

    def _refresh(self, site_id: str) -> None:
        try:
            self._fetch(site_id)
        except SitesUnavailable:
            pass  # logged; the next request past the retry time tries again
        finally:
            with self._lock:
                self._refreshing.discard(site_id)


class _DaemonWorker:
    """One daemon thread running submitted calls in order (a refresh stuck on a hung
    store never holds up the process's exit)."""

    def __init__(self, name: str):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, fn, *args) -> None:
        self._queue.put((fn, args))

    def _run(self) -> None:
        while True:
            fn, args = self._queue.get()
            try:
                fn(*args)
            except Exception:
                log.exception("background site refresh")


def _from_row(row) -> Site:
    return Site(
        site_id=row.site_id, domain=row.domain or "", timezone=row.timezone or "UTC",
        goals=frozenset(row.goals or ()), retention_days=row.retention_days,
        allowed_origins=frozenset(row.allowed_origins or ()),
        mp_secret_hash=row.mp_secret_hash, client_id_opt_in=bool(row.client_id_opt_in),
        umami_website_id=row.umami_website_id or None, matomo_idsite=row.matomo_idsite,
        snowplow_app_id=row.snowplow_app_id or None)
