"""Step ``user_agent``: browser, OS (major versions only) and device type from ua-parser.

ua-parser answers browser, OS and device *family*; the device type (desktop, mobile,
tablet, other) is derived here from those families and a few tokens of the string.
Results are cached per user-agent string (the same few thousand strings make most of the
traffic), so a warm lookup is one dictionary hit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from ua_parser import Result, parse

from analytics.enrich.context import RequestContext
from analytics.enrich.pipeline import Event


class UaInfo(NamedTuple):
    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    device_type: str | None
    is_spider: bool
    """ua-parser's device family is ``Spider`` (crawlers and monitors it knows)."""


UNKNOWN = UaInfo(None, None, None, None, None, False)

_TV_OR_CONSOLE = re.compile(
    r"SMART-?TV|Android TV|GoogleTV|AppleTV|HbbTV|\bTV\b|CrKey|Web0S|PlayStation|Xbox|Nintendo"
)
_TABLET_FAMILIES = frozenset({"iPad", "Kindle", "Generic Tablet"})
_PHONE_FAMILIES = frozenset({"iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone"})
_MOBILE_OSES = frozenset({
    "iOS", "Android", "Windows Phone", "KaiOS", "BlackBerry OS", "BlackBerry Tablet OS",
    "Firefox OS", "Symbian OS", "Symbian^3", "HarmonyOS", "Sailfish", "Tizen",
})
_DESKTOP_OSES = frozenset({
    "Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian", "Mint",
    "Red Hat", "openSUSE", "Gentoo", "Arch Linux", "FreeBSD", "OpenBSD", "NetBSD", "Solaris",
    "Kubuntu", "Slackware", "Mandriva", "CentOS",
})


def describe(user_agent: str) -> UaInfo:
    """Uncached: parse one user-agent string."""
    if not user_agent:
        return UNKNOWN
    result = parse(user_agent)
    browser = result.user_agent
    os = result.os
    return UaInfo(
        browser=browser.family if browser else None,
        browser_version=browser.major if browser else None,
        os=os.family if os else None,
        os_version=os.major if os else None,
        device_type=device_type(result),
        is_spider=result.device is not None and result.device.family == "Spider",
    )


def device_type(result: Result) -> str:
    device = result.device
    family = device.family if device else ""
    if family == "Spider" or _TV_OR_CONSOLE.search(result.string):
        return "other"
    os_family = result.os.family if result.os else None
    if (
        family in _TABLET_FAMILIES
        or (device is not None and device.brand == "Generic_Android_Tablet")
        or "Tablet" in family
        or (os_family == "Android" and "Mobi" not in result.string)
    ):
        return "tablet"
    if family in _PHONE_FAMILIES or os_family in _MOBILE_OSES or "Mobi" in result.string:
        return "mobile"
    if os_family in _DESKTOP_OSES or family == "Mac":
        return "desktop"
    return "other"


def cached_describe(cache_size: int) -> Callable[[str], UaInfo]:
    """:func:`describe` behind an LRU cache of ``cache_size`` user-agent strings."""
    return lru_cache(maxsize=cache_size)(describe)


class UserAgentStep:
    def __init__(self, describe_ua: Callable[[str], UaInfo]) -> None:
        self.describe_ua = describe_ua

    def __call__(self, event: Event, ctx: RequestContext) -> Event:
        info = self.describe_ua(ctx.user_agent)
        event["browser"] = info.browser
        event["browser_version"] = info.browser_version
        event["os"] = info.os
        event["os_version"] = info.os_version
        event["device_type"] = info.device_type
        return event
