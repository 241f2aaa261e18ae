"""Step ``url_parts``: host and path of the page, UTM tags, the referrer's host.

- ``host``: the page URL's host name, lowercase, without port.
- ``path``: the URL path as sent (no query, no ``#fragment``); ``/`` when empty.
- ``utm_*``: from the payload when given (non-empty), else from the page URL's query
  (first occurrence wins).
- ``referrer_host``: lowercase, without ``www.``; ``None`` when there is no referrer or
  it is the page's own host (internal navigation; ``www.`` ignored on both sides).

A page URL that cannot be parsed is refused as ``invalid_url``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from analytics.enrich.context import RequestContext
from analytics.enrich.pipeline import Event, Refused

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_UTM_SET = frozenset(UTM_FIELDS)
_BARE_HOST = re.compile(r"[A-Za-z0-9.-]+(?::\d+)?(?:[/?#]|$)")
"""A referrer without scheme that starts with a host: ``example.com/page``."""


def url_parts(event: Event, ctx: RequestContext) -> Event:
    url = event["url"]
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as error:
        raise Refused("invalid_url", f"{error}: {url[:200]}") from None
    if not host:
        raise Refused("invalid_url", f"no host: {url[:200]}")
    event["host"] = host
    event["path"] = parts.path or "/"
    if "utm_" in parts.query:
        _fill_utm(event, parts.query)

    referrer = event.get("referrer") or None
    event["referrer"] = referrer
    referrer_host = referrer_host_of(referrer) if referrer else None
    if referrer_host is not None and referrer_host == _without_www(host):
        referrer_host = None
    event["referrer_host"] = referrer_host
    return event


def _fill_utm(event: Event, query: str) -> None:
    for key, value in parse_qsl(query):
        if key in _UTM_SET and value and not event.get(key):
            event[key] = value


def referrer_host_of(referrer: str) -> str | None:
    """Lowercase host of a referrer URL without ``www.``; ``None`` if it has none."""
    if "//" not in referrer:
        if not _BARE_HOST.match(referrer):
            return None  # about:blank, mailto:..., free text
        referrer = "//" + referrer
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        return None
    return _without_www(host) if host else None


def _without_www(host: str) -> str:
    return host[4:] if host.startswith("www.") else host
