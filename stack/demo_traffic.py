"""The demo site's generated traffic (used by :mod:`stack.demo_data`): deterministic
visits from a seeded RNG — the same seed and day give the same events, event ids included —
with a daily curve, weekday factors, sessions of several pages, search/social/referral/UTM
sources, normal browser user agents and custom events including the goal ``signup``."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

SEED = 17
SITE = "demo.local"
DEMO_EMAIL = "demo@sitelens.local"
NIGHTLY = "sitelens_nightly"
DAY_PAGEVIEWS = 3_400
"""A day's pageviews before its weekday factor and ±15 % noise: 2,000 to 4,400."""
POOL = 4_000
LATENESS_MARGIN = timedelta(minutes=10)
MAX_PAGES = 14
DAY_MS = 86_400_000

# -- what the demo site's audience looks like ----------------------------------------------
HOURLY = (3, 2, 1.5, 1.2, 1.2, 1.5, 2.5, 4, 6, 7.5, 8.5, 9, 8.5, 8.5, 9, 9.5, 9, 8, 7, 6.5,
          6, 5.5, 4.5, 3.5)
"""Relative visits per UTC hour (Europe's working day, then the Americas' evening)."""
WEEKDAY = (1.05, 1.1, 1.1, 1.05, 0.95, 0.7, 0.75)
_BLOG = ("/blog/cookieless-analytics", "/blog/kafka-at-home", "/blog/lambda-architecture-2026")
NAVIGATION = {
    "/": (("/features", 3), ("/pricing", 3), ("/docs", 2), ("/blog", 2), ("/about", 1)),
    "/features": (("/features/realtime", 2), ("/features/privacy", 2), ("/pricing", 3)),
    "/features/realtime": (("/pricing", 2), ("/features/privacy", 1),
                           ("/docs/getting-started", 1)),
    "/features/privacy": (("/pricing", 2), (_BLOG[0], 1), ("/features", 1)),
    "/pricing": (("/signup", 4), ("/features", 1), ("/docs", 1), ("/contact", 1)),
    "/signup": (("/docs/getting-started", 2), ("/", 1)),
    "/docs": (("/docs/getting-started", 3), ("/docs/tracker", 2), ("/docs/api", 2)),
    "/docs/getting-started": (("/docs/tracker", 2), ("/docs/api", 1), ("/pricing", 1)),
    "/docs/tracker": (("/docs/api", 1), ("/docs/getting-started", 1), ("/signup", 1)),
    "/docs/api": (("/docs/tracker", 1), ("/docs", 1), ("/changelog", 1)),
    "/blog": ((_BLOG[0], 2), (_BLOG[1], 2), (_BLOG[2], 1)),
    "*": (("/", 2), ("/pricing", 2), ("/blog", 1), ("/docs", 1)),
}
"""Where a visitor goes next from a page (``*``: any other page), by weight."""
_SEARCH = ("/", _BLOG[0], "/docs/getting-started", "/features/privacy", "/pricing")
SOURCES = (  # (weight, referrer, UTM tags of the landing URL, landing pages)
    (30, None, None, ("/", "/", "/pricing", "/docs")),
    (18, "https://www.google.com/", None, _SEARCH),
    (4, "https://www.bing.com/", None, _SEARCH),
    (4, "https://duckduckgo.com/", None, _SEARCH),
    (2, "https://www.ecosia.org/", None, _SEARCH),
    (2, "https://chatgpt.com/", None, ("/docs/getting-started", "/")),
    (5, "https://t.co/", None, (_BLOG[1], "/")),
    (3, "https://www.linkedin.com/", None, (_BLOG[2],)),
    (3, "https://www.reddit.com/r/selfhosted/", None, ("/", _BLOG[1])),
    (2, "https://www.facebook.com/", None, ("/",)),
    (4, "https://news.ycombinator.com/", None, (_BLOG[2], "/")),
    (3, "https://github.com/sitelens/sitelens", None, ("/docs", "/docs/tracker")),
    (2, "https://dev.to/", None, (_BLOG[0],)),
    (6, None, "utm_source=newsletter&utm_medium=email&utm_campaign=december-digest",
     (_BLOG[1], "/changelog")),
    (5, None, "utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=self+hosted"
              "+analytics", ("/", "/pricing")),
    (3, None, "utm_source=twitter&utm_medium=social&utm_campaign=launch-week",
     ("/", "/features/realtime")),
)
COUNTRIES = tuple(  # (weight, country, an ISP's /16 registered there, language, time zone)
    (int(w), cc, prefix, lang, zone) for w, cc, prefix, lang, zone in (row.split() for row in (
        "30 US 99.0 en-US America/New_York", "5 CA 99.224 en-CA America/Toronto",
        "12 DE 85.214 de-DE Europe/Berlin", "9 GB 86.128 en-GB Europe/London",
        "8 IN 49.36 en-IN Asia/Kolkata", "6 FR 90.100 fr-FR Europe/Paris",
        "4 NL 145.100 nl-NL Europe/Amsterdam", "4 BR 189.40 pt-BR America/Sao_Paulo",
        "4 JP 126.0 ja-JP Asia/Tokyo", "3 ES 88.0 es-ES Europe/Madrid",
        "3 PL 83.0 pl-PL Europe/Warsaw", "3 AU 1.120 en-AU Australia/Sydney",
        "3 SE 78.64 sv-SE Europe/Stockholm", "3 IT 79.0 it-IT Europe/Rome",
        "3 MX 187.128 es-MX America/Mexico_City")))
_KHTML = "AppleWebKit/537.36 (KHTML, like Gecko)"
_IOS = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
DEVICES = (  # (weight, user agent, screen class)
    (22, f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_KHTML} Chrome/141.0.0.0 Safari/537.36",
     "desktop"),
    (9, f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_KHTML} Chrome/141.0.0.0 "
        "Safari/537.36", "desktop"),
    (7, f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_IOS} Version/18.6 "
        "Safari/605.1.15", "desktop"),
    (5, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:144.0) Gecko/20100101 Firefox/144.0",
     "desktop"),
    (3, "Mozilla/5.0 (X11; Linux x86_64; rv:144.0) Gecko/20100101 Firefox/144.0", "desktop"),
    (5, f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_KHTML} Chrome/141.0.0.0 Safari/537.36 "
        "Edg/141.0.0.0", "desktop"),
    (2, f"Mozilla/5.0 (X11; Linux x86_64) {_KHTML} Chrome/141.0.0.0 Safari/537.36", "desktop"),
    (1, f"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) {_KHTML} Chrome/141.0.0.0 Safari/537.36",
     "desktop"),
    (16, f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) {_IOS} Version/18.6 "
         "Mobile/15E148 Safari/604.1", "mobile"),
    (12, f"Mozilla/5.0 (Linux; Android 10; K) {_KHTML} Chrome/141.0.0.0 Mobile Safari/537.36",
     "mobile"),
    (3, f"Mozilla/5.0 (Linux; Android 14; SM-S921B) {_KHTML} SamsungBrowser/28.0 "
        "Chrome/130.0.0.0 Mobile Safari/537.36", "mobile"),
    (2, f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) {_IOS} CriOS/141.0.7390.41 "
        "Mobile/15E148 Safari/604.1", "mobile"),
    (3, f"Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) {_IOS} Version/18.6 Mobile/15E148 "
        "Safari/604.1", "tablet"),
    (1, f"Mozilla/5.0 (Linux; Android 14; SM-X710) {_KHTML} Chrome/141.0.0.0 Safari/537.36",
     "tablet"),
)
SCREENS = {"desktop": (1920, 1920, 1536, 1440, 2560, 1366, 1280),
           "mobile": (390, 393, 412, 360, 430, 375), "tablet": (820, 768, 1024, 800)}


# -- the generator (pure) --------------------------------------------------------------------
@dataclass(frozen=True)
class Visitor:
    number: int
    ip: str
    """A loopback address of its own: what the write service sees."""
    forwarded_ip: str
    """An address in its country, sent as ``X-Forwarded-For`` if the service trusts it."""
    country: str
    user_agent: str
    screen_width: int
    language: str
    time_zone: str


@dataclass(frozen=True)
class Visit:
    """One session: a visitor's events (``created_at`` set; ``sent_at`` added when sent)."""

    visitor: Visitor
    events: tuple[dict, ...]


def _weighted(rng: random.Random, table):
    return rng.choices(table, weights=[row[0] for row in table])[0]


def visitor_pool(seed: int = SEED, size: int = POOL) -> list[Visitor]:
    """The people who visit the demo site, the same every day (so some come back)."""
    rng = random.Random(f"{seed}:visitors")
    pool = []
    for n in range(size):
        _, country, prefix, language, zone = _weighted(rng, COUNTRIES)
        _, user_agent, kind = _weighted(rng, DEVICES)
        pool.append(Visitor(
            number=n, ip=f"127.{20 + n // 64516}.{n // 254 % 254 + 1}.{n % 254 + 1}",
            forwarded_ip=f"{prefix}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            country=country, user_agent=user_agent,
            screen_width=rng.choice(SCREENS[kind]), language=language, time_zone=zone))
    return pool


def day_pageviews(day: date, seed: int = SEED) -> int:
    """How many pageviews :func:`generate_day` makes for ``day``."""
    rng = random.Random(f"{seed}:{day.isoformat()}:size")
    return round(DAY_PAGEVIEWS * WEEKDAY[day.weekday()] * rng.uniform(0.85, 1.15))


def generate_day(day: date, *, site_id: str = SITE, base_url: str = "https://localhost",
                 seed: int = SEED, pool: list[Visitor] | None = None) -> list[Visit]:
    """The visits of one UTC day, by start time: exactly :func:`day_pageviews` pageviews,
    every event inside the day."""
    rng = random.Random(f"{seed}:{day.isoformat()}")
    pool = pool or visitor_pool(seed)
    day_start = int(datetime.combine(day, datetime.min.time(), UTC).timestamp() * 1000)
    left, starts = day_pageviews(day, seed), []
    while left > 0:
        pages = 1 if rng.random() < 0.42 else min(MAX_PAGES, 2 + int(rng.expovariate(0.45)))
        pages = min(pages, left)
        left -= pages
        hour = rng.choices(range(24), weights=HOURLY)[0]
        starts.append((hour * 3_600_000 + rng.randrange(3_600_000), pages))
    visits = []
    for offset, pages in sorted(starts):
        visitor = pool[int(len(pool) * rng.random() ** 1.7)]  # low numbers return often
        visits.append(Visit(visitor, tuple(_session(
            rng, site_id, base_url, at=day_start + offset, last=day_start + DAY_MS - 1,
            pages=pages))))
    return visits


def _session(rng: random.Random, site_id: str, base: str, *, at: int, last: int,
             pages: int) -> list[dict]:
    """One visit's events; none after ``last`` (a visit late at night stays in its day,
    so the counts per day are exact)."""
    _, referrer, utm, landings = _weighted(rng, SOURCES)
    path, previous, events = rng.choice(landings), None, []
    for n in range(pages):
        at = min(at, last)
        view = {"kind": "pageview", "url": base + path + (f"?{utm}" if utm and n == 0 else ""),
                "title": "Sitelens · " + (path.strip("/").replace("-", " ") or "home")}
        referred = referrer if n == 0 else base + previous
        events.append(_event(rng, site_id, at, {**view, **(
            {"referrer": referred} if referred else {})}))
        stay = int(1000 * min(900.0, max(2.0, math.exp(rng.gauss(3.3, 1.1)))))
        for name, props in _customs(rng, path):
            events.append(_event(rng, site_id, min(at + stay // 2, last), {
                "kind": "custom", "name": name, "url": base + path, "props": props}))
        leave = min(at + stay, last)
        if rng.random() < 0.85:  # the page-leave ping (some browsers never send it)
            events.append(_event(rng, site_id, leave, {
                "kind": "engagement", "url": base + path,
                "engagement_ms": int((leave - at) * rng.uniform(0.6, 1.0))}))
        previous, at = path, leave + rng.randrange(500, 4000)
        choices = NAVIGATION.get(path) or NAVIGATION["*"]
        path = rng.choices([c[0] for c in choices], weights=[c[1] for c in choices])[0]
    return events


def _event(rng: random.Random, site_id: str, at_ms: int, fields: dict) -> dict:
    return {"event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "site_id": site_id, **fields, "created_at": at_ms}


def _customs(rng: random.Random, path: str) -> list[tuple[str, dict]]:
    found = []
    if path == "/signup" and rng.random() < 0.35:
        found.append(("signup", {"plan": rng.choices(("free", "pro", "team"), (6, 3, 1))[0]}))
    if path.startswith("/docs") and rng.random() < 0.12:
        found.append(("download", {"file": rng.choice(("sl.js", "sitelens-1.4.tar.gz"))}))
    if path.startswith("/blog/") and rng.random() < 0.05:
        found.append(("newsletter_subscribe", {"list": "monthly"}))
    if rng.random() < 0.03:
        found.append(("outbound_click", {"url": rng.choice((
            "https://github.com/sitelens/sitelens", "https://kafka.apache.org/"))}))
    return found


def as_sent(visit: Visit) -> list[dict]:
    """The events as the tracker sends them: with screen, language and time zone."""
    v = visit.visitor
    return [{**e, "screen_width": v.screen_width, "language": v.language,
             "time_zone": v.time_zone} for e in visit.events]


def past_days(now: datetime, max_lateness_ms: int, limit: int = 7) -> list[date]:
    """The whole UTC days before today that the write service takes every event of (with
    a margin for the time posting takes), oldest first."""
    oldest = now - timedelta(milliseconds=max_lateness_ms) + LATENESS_MARGIN
    candidates = [now.date() - timedelta(days=n) for n in range(limit, 0, -1)]
    return [d for d in candidates if datetime.combine(d, datetime.min.time(), UTC) >= oldest]


# -- posting ---------------------------------------------------------------------------------
