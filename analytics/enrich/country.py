"""Step ``country``: ISO 3166-1 alpha-2 country of the client IP, offline (iptocc).

Private, loopback, reserved and unknown addresses give ``None`` (the registry data has no
entry for them). An IPv4 address written IPv6-mapped (``::ffff:1.2.3.4``, as dual-stack
sockets report it) is looked up as the IPv4 address.
"""

from __future__ import annotations

from iptocc import country_code

from analytics.enrich.context import RequestContext
from analytics.enrich.pipeline import Event

_MAPPED_V4_PREFIX = "::ffff:"


def country_of(ip: str) -> str | None:
    if not ip:
        return None
    code = country_code(ip)
    if code is None and ip[:7].lower() == _MAPPED_V4_PREFIX and "." in ip:
        code = country_code(ip[7:])
    return code


def country(event: Event, ctx: RequestContext) -> Event:
    event["country"] = country_of(ctx.ip)
    return event
