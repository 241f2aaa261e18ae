"""Inputs shared by the enrichment tests: user agents, sites, a context factory."""

from __future__ import annotations

import json
from pathlib import Path

from analytics.enrich import RequestContext, SiteSettings

SCHEMAS = Path(__file__).resolve().parents[3] / "analytics" / "schemas"

RECEIVED = 1_000_000_000_000  # 2001-09-09T01:46:40Z
PUBLIC_IP = "193.0.6.139"  # RIPE NCC, registered in NL

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.71 Mobile Safari/537.36"
)
CHROME_ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 12; SM-T870) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS_CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/126.0.0.0 Safari/537.36"
)
CURL = "curl/8.5.0"
PYTHON_REQUESTS = "python-requests/2.31.0"
UPTIME_ROBOT = "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"
PINGDOM = "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)"

SITE = SiteSettings(site_id="example.com", domain="example.com", timezone="Europe/Berlin")
OPT_IN_SITE = SiteSettings(site_id="shop.example", domain="shop.example", client_id_opt_in=True)


def make_ctx(
    received_at_ms: int = RECEIVED,
    ip: str = PUBLIC_IP,
    user_agent: str = CHROME_WINDOWS,
    site: SiteSettings = SITE,
    source: str = "tracker",
) -> RequestContext:
    return RequestContext(
        received_at_ms=received_at_ms, ip=ip, user_agent=user_agent, site=site, source=source
    )


def load_schema(name: str) -> dict:
    with open(SCHEMAS / name / "1-0-0.json", encoding="utf-8") as file:
        return json.load(file)
