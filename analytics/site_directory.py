"""Sites found by something other than their id, for the write service's compatible
collectors: by domain (Plausible's ``domain`` field), by Umami website id, by Matomo
``idsite`` and by Snowplow app id (``aid``).

The ``sites`` table is keyed by site id, and it is small (one row per tracked site), so
the directory reads it whole (``sites.all()``) into an index in memory and answers from
there. Like :class:`analytics.sites.CachedSites` it never makes a request wait on the store
for a site it knows: after ``ttl_s`` the index is rebuilt in the background while the
last one keeps answering, for up to ``max_stale_s`` while the store fails. A key the index
does not hold is looked up again (a new site) when the index is older than ``miss_ttl_s``,
so a flood of unknown domains costs at most one scan per ``miss_ttl_s`` and worker.
:class:`analytics.sites.SitesUnavailable` when the store fails and the last index (if any)
does not hold the key.

Keys are compared as :func:`domain_key`, :func:`umami_key`, :func:`matomo_key` and
:func:`snowplow_key` make them; a key that
belongs to several sites is answered with all of them (the caller refuses it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from analytics.sites import Site, SitesUnavailable

log = logging.getLogger(__name__)

DOMAIN, UMAMI, MATOMO, SNOWPLOW = "domain", "umami", "matomo", "snowplow"
"""The kinds of key a site is found by."""


def domain_key(text: str) -> str:
    """A host name as sites are found by it: trimmed, lower case, without a trailing dot
    and without a leading ``www.`` (Plausible strips it from its domains too)."""
    host = text.strip().lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def umami_key(text: str) -> str:
    return text.strip().lower()


def matomo_key(idsite: int | str) -> str:
    """An idsite as sites are found by it: the number in decimal (``"01"`` is ``"1"``;
    text that is no number is kept, and names no site)."""
    text = str(idsite).strip()
    return str(int(text)) if text.isascii() and text.isdigit() and len(text) <= 20 else text


def snowplow_key(app_id: str) -> str:
    """An app id as sites are found by it: as sent, without spaces around it (Snowplow
    compares app ids case-sensitively, so case is kept)."""
    return app_id.strip()


_KEYS = {DOMAIN: domain_key, UMAMI: umami_key, MATOMO: matomo_key, SNOWPLOW: snowplow_key}


@dataclass(frozen=True)
class _Index:
    loaded_at: float
    keys: dict[tuple[str, str], tuple[Site, ...]]

    @classmethod
    def of(cls, sites: list[Site], loaded_at: float) -> _Index:
        keys: dict[tuple[str, str], list[Site]] = {}
        for site in sorted(sites, key=lambda s: s.site_id):
            if site.domain and domain_key(site.domain):
                keys.setdefault((DOMAIN, domain_key(site.domain)), []).append(site)
            if site.umami_website_id:
                keys.setdefault((UMAMI, umami_key(site.umami_website_id)), []).append(site)
            if site.matomo_idsite is not None:
                keys.setdefault((MATOMO, matomo_key(site.matomo_idsite)), []).append(site)
            if site.snowplow_app_id:
                keys.setdefault((SNOWPLOW, snowplow_key(site.snowplow_app_id)), []).append(site)
        return cls(loaded_at, {key: tuple(found) for key, found in keys.items()})


def _start_daemon(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="site-directory-refresh", daemon=True).start()


class SiteDirectory:
    def __init__(self, sites, ttl_s: float = 30.0, miss_ttl_s: float = 5.0, *,
                 max_stale_s: float = 24 * 3600.0, retry_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic,
                 spawn: Callable[[Callable[[], None]], None] = _start_daemon):
        self.sites = sites  # anything with all() -> list[Site] (blocking)
        self.ttl_s = ttl_s
        self.miss_ttl_s = miss_ttl_s
        self.max_stale_s = max_stale_s
        self.retry_s = retry_s
        self.clock = clock
        self.spawn = spawn
        self._index: _Index | None = None
        self._lock = threading.Lock()  # one scan at a time (never taken on the event loop)
        self._flag_lock = threading.Lock()
        self._retry_at = 0.0
        self._refreshing = False
        self._warned_at: float | None = None

    @staticmethod
    def key(kind: str, text: str) -> tuple[str, str]:
        return kind, _KEYS[kind](text)

    def cached(self, kind: str, text: str) -> tuple[bool, tuple[Site, ...]]:
        """(True, sites) when memory can answer now (never blocks); else (False, ())."""
        index = self._index
        if index is None:
            return False, ()
        age = self.clock() - index.loaded_at
        if age > self.max_stale_s:
            return False, ()
        if age >= self.ttl_s:
            self._refresh_later()
        found = index.keys.get(self.key(kind, text), ())
        if found or age < self.miss_ttl_s:
            return True, found
        return False, ()

    def find(self, kind: str, text: str) -> tuple[Site, ...]:
        """The sites ``text`` names, reading the store when memory cannot answer (blocks:
        call it off the event loop)."""
        hit, found = self.cached(kind, text)
        if hit:
            return found
        with self._lock:
            hit, found = self.cached(kind, text)  # a scan made while this one waited
            if hit:
                return found
            try:
                index = self._load()
            except Exception as exc:
                return self._last_known(kind, text, exc)
        return index.keys.get(self.key(kind, text), ())

    # -- the store ----------------------------------------------------------------------
    def _load(self) -> _Index:
        """A new index from the store (call with the lock held)."""
        if self.clock() < self._retry_at:
            raise SitesUnavailable("the site store failed moments ago")
        try:
            sites = self.sites.all()
        except Exception:
            self._retry_at = self.clock() + self.retry_s
            raise
        index = _Index.of(sites, self.clock())
        self._index = index
        self._retry_at = 0.0
        return index

    def _last_known(self, kind: str, text: str, error: Exception) -> tuple[Site, ...]:
        index = self._index
        age = None if index is None else self.clock() - index.loaded_at
        found = () if age is None or age > self.max_stale_s else index.keys.get(
            self.key(kind, text), ())
        if not found:
            raise SitesUnavailable(f"sites cannot be found by {kind} now: the site store "
                                   f"failed ({error})") from error
        now = self.clock()
        if self._warned_at is None or now - self._warned_at >= 60.0:
            self._warned_at = now
            log.warning("site store failing (%s): finding sites by %s in an index %.0f s "
                        "old (at most %.0f s)", error, kind, age, self.max_stale_s)
        return found

    def _refresh_later(self) -> None:
        with self._flag_lock:  # held for a moment only: the event loop may take it
            if self._refreshing or self.clock() < self._retry_at:
                return
            self._refreshing = True
        self.spawn(self._refresh)

    def _refresh(self) -> None:
        try:
            with self._lock:
                self._load()
        except Exception as exc:
            log.warning("site directory: refresh failed (%s); the last index stays", exc)
        finally:
            self._refreshing = False
