"""A site's settings as the dashboard reads and changes them (no Falcon in here): its
domain, allowed origins (as :class:`analytics.sites.Site` models them), time zone, goals
and raw-event retention. The Measurement Protocol secret and the client-id opt-in stay
with the operator CLI."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from zoneinfo import available_timezones

from analytics.sites import CachedSites, Site, SiteError

EDITABLE = ("domain", "allowed_origins", "timezone", "goals", "retention_days")
MAX_GOALS = 100
MAX_GOAL_LENGTH = 200
MAX_ORIGINS = 50
MAX_RETENTION_DAYS = 100 * 366
HOST_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
                     r"(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
ORIGIN_RE = re.compile(r"^(https?)://([^/:?#\s]+)(:\d{1,5})?$")


class SettingsError(ValueError):
    pass


class SitesCache(CachedSites):
    """The worker's site cache, which forgets a site its settings page just changed (other
    workers see the change within ``site_cache_ttl_s``)."""

    def forget(self, site_id: str) -> None:
        with self._lock:
            self._cache.pop(site_id, None)


@cache
def zones() -> frozenset[str]:
    return frozenset(available_timezones())


def settings_json(site: Site) -> dict:
    return {"site_id": site.site_id, "domain": site.domain,
            "allowed_origins": sorted(site.allowed_origins), "timezone": site.timezone,
            "goals": sorted(site.goals), "retention_days": site.retention_days}


def apply_changes(site: Site, changes: dict) -> Site:
    """``site`` with ``changes`` (any of :data:`EDITABLE`); :class:`SettingsError` naming
    the first field that is not valid."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise SettingsError(f"{', '.join(unknown)}: not a setting; settings: "
                            f"{', '.join(EDITABLE)}")
    if not changes:
        raise SettingsError(f"body: give at least one of {', '.join(EDITABLE)}")
    checks = {"domain": _domain, "allowed_origins": _origins, "timezone": _timezone,
              "goals": _goals, "retention_days": _retention}
    values = {name: checks[name](changes[name]) for name in EDITABLE if name in changes}
    try:
        return replace(site, **values)
    except SiteError as exc:
        raise SettingsError(str(exc)) from None


def _domain(value: object) -> str:
    if not isinstance(value, str) or not HOST_RE.match(value.strip().lower()):
        raise SettingsError(f"domain: {value!r} is not a host name like example.com")
    return value.strip().lower()


def _origins(value: object) -> frozenset[str]:
    if not isinstance(value, list) or len(value) > MAX_ORIGINS:
        raise SettingsError(f"allowed_origins: a list of at most {MAX_ORIGINS} origins")
    found = set()
    for item in value:
        match = ORIGIN_RE.match(item.strip().lower()) if isinstance(item, str) else None
        if not match or not HOST_RE.match(match.group(2)):
            raise SettingsError(f"allowed_origins: {item!r} is not an origin like "
                                "https://www.example.com")
        found.add(item.strip().lower())
    return frozenset(found)


def _timezone(value: object) -> str:
    if not isinstance(value, str) or value not in zones():
        raise SettingsError(f"timezone: {value!r} is not an IANA time zone like "
                            "Europe/Berlin")
    return value


def _goals(value: object) -> frozenset[str]:
    if not isinstance(value, list) or len(value) > MAX_GOALS:
        raise SettingsError(f"goals: a list of at most {MAX_GOALS} event names or paths")
    found = set()
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_GOAL_LENGTH:
            raise SettingsError(f"goals: {item!r} is not an event name or path "
                                f"(1-{MAX_GOAL_LENGTH} characters)")
        found.add(item.strip())
    return frozenset(found)


def _retention(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not (
            1 <= value <= MAX_RETENTION_DAYS):
        raise SettingsError(f"retention_days: {value!r} is not a whole number of days "
                            f"from 1 to {MAX_RETENTION_DAYS}, or null (keep forever)")
    return value
