"""Demo traffic for the local run: after ``make run`` the demo site (``demo.local``) has a
few days of realistic visits, closed by the batch layer, today's visits so far, and a
dashboard login.

:func:`seed` is called by ``python -m stack run`` every time; each step is recorded in
``<state>/demo-data.json`` and done once:

1. traffic: the whole past days the write service still accepts (events at most
   ``ANALYTICS_EVENT_MAX_LATENESS_MS``, 72 h, old: two days by default) and today up to
   now, posted to ``POST /api/event`` as a tracker that buffered them would (``created_at``
   in the past, ``sent_at`` now). :func:`generate_day` makes them from a seeded RNG: the
   same seed and day give the same events, event ids included;
2. closing those days: once the speed layer has put the posted events into the master
   dataset, a backfill of the ``sitelens_nightly`` DAG for them through Airflow's REST API,
   not waited for. Airflow schedules no task of a paused DAG, backfills included, so a
   paused DAG is unpaused for it, and paused again by a later call once the backfill is
   done (a step recorded like the others);
3. a demo user (``demo@sitelens.local``), admin of the demo site, whose generated
   password is kept in ``<state>/demo-login.txt`` (checked every time).

Visitors and countries: the write service tells cookieless visitors apart by client
address and user agent, and takes the address from ``X-Forwarded-For`` only when
``ANALYTICS_TRUST_FORWARDED_FOR`` is on (which it must not be without a proxy in front).
So each simulated visitor connects from a loopback address of its own (127.x.y.z, all of
which reach a service on 127.0.0.1): the service really sees distinct clients. Loopback
addresses have no country, so the country breakdown stays empty — unless the service
trusts ``X-Forwarded-For``: then each visitor also sends an address from a big ISP's
registry range in its country.

``python -m stack.demo_data trickle`` goes on posting today's generated visits as their
time comes (Ctrl-C stops it), for a live realtime view.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import math
import random
import secrets
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from analytics.config import Config

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
class Poster:
    """Posts visits to the write service, one request per visit, from its visitor's own
    loopback address (when the service listens on loopback)."""

    def __init__(self, config: Config, threads: int = 4):
        host = config.write_api_host
        self.host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        self.port, self.path = config.write_api_port, config.collect_path
        self.forwarded = config.trust_forwarded_for
        self.threads = threads
        try:
            self.loopback = ipaddress.ip_address(self.host).version == 4 and \
                ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            self.loopback = False

    def healthy(self) -> bool:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def post(self, visits: list[Visit], *, after_ms: int = -1,
             until_ms: int) -> tuple[int, dict[str, int]]:
        """The events of ``visits`` in (after_ms, until_ms]: (accepted, refused by reason)."""
        batches = [(v, [e for e in as_sent(v) if after_ms < e["created_at"] <= until_ms])
                   for v in visits]
        with ThreadPoolExecutor(self.threads) as pool:
            answers = list(pool.map(lambda b: self._send(*b), [b for b in batches if b[1]]))
        refused: dict[str, int] = {}
        for item in (r for a in answers for r in a.get("refused", [])):
            refused[item.get("reason", "?")] = refused.get(item.get("reason", "?"), 0) + 1
        return sum(a.get("accepted", 0) for a in answers), refused

    def _send(self, visit: Visit, events: list[dict]) -> dict:
        now = int(time.time() * 1000)
        body = json.dumps([{**e, "sent_at": max(now, e["created_at"])} for e in events])
        headers = {"Content-Type": "application/json", "User-Agent": visit.visitor.user_agent}
        if self.forwarded:
            headers["X-Forwarded-For"] = visit.visitor.forwarded_ip
        source = (visit.visitor.ip, 0) if self.loopback else None
        for attempt in range(6):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30,
                                              source_address=source)
            try:
                conn.request("POST", self.path, body, headers)
                resp = conn.getresponse()
                text = resp.read()
            except OSError:
                if attempt == 5:
                    raise
                time.sleep(1 + attempt)
                continue
            finally:
                conn.close()
            if resp.status == 429:
                time.sleep(float(resp.getheader("Retry-After") or 1))
                continue
            if resp.status != 202:
                raise RuntimeError(f"the write service answered {resp.status}: {text[:300]!r}")
            return json.loads(text)
        raise RuntimeError("the write service kept answering 429 (rate limit)")


# -- the steps -------------------------------------------------------------------------------
def state_file(config: Config):
    return config.state_dir / "demo-data.json"


def login_file(config: Config):
    return config.state_dir / "demo-login.txt"


def _load(config: Config) -> dict:
    try:
        return json.loads(state_file(config).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _save(config: Config, state: dict) -> None:
    state_file(config).parent.mkdir(parents=True, exist_ok=True)
    state_file(config).write_text(json.dumps(state, indent=2) + "\n")


def seed(config: Config, log=print) -> None:
    """The steps not done yet, then where to look (``make run`` calls this every time).
    A step that cannot be done now (a service down) is said and tried again next time;
    nothing here makes ``make run`` fail."""
    state = _load(config)
    try:
        if not state.get("traffic", {}).get("done"):
            post_traffic(config, state, log)
        if "backfill" not in state:
            found = close_days(config, state["traffic"]["past_days"], log)
            if found is not None:
                state["backfill"] = found
                _save(config, state)
        elif state["backfill"].get("repause") and repause_when_done(
                config, state["backfill"], log):
            _save(config, state)
    except Exception as exc:
        log(f"demo data: not now ({exc}); `make run` tries again")
    read_host = config.read_api_host if config.read_api_host not in ("0.0.0.0", "::") \
        else "127.0.0.1"
    log(f"dashboard      : http://{read_host}:{config.read_api_port}/dashboard/")
    try:
        log(f"demo login     : {ensure_demo_user(config, log)}, password in "
            f"{login_file(config)}")
    except Exception as exc:
        log(f"demo login     : not made ({exc})")


def post_traffic(config: Config, state: dict, log=print) -> None:
    """Posts the past days and today so far; each day done is recorded at once, so a
    failure part way posts only the unfinished day again (its copies of events already
    sent count twice in the speed layer's late view until the batch layer, which
    deduplicates by event id, closes the day)."""
    poster = Poster(config)
    if not poster.healthy():
        raise RuntimeError(f"the write service does not answer at {poster.host}:{poster.port}")
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    traffic = state.setdefault("traffic", {
        "seed": SEED, "past_days": [d.isoformat() for d in
                                    past_days(now, config.event_max_lateness_ms)],
        "posted": []})
    pool, base = visitor_pool(traffic["seed"]), f"https://{_site_domain(config)}"
    for day in [*traffic["past_days"], now.date().isoformat()]:
        if day in traffic["posted"]:
            continue
        visits = generate_day(date.fromisoformat(day), base_url=base, seed=traffic["seed"],
                              pool=pool)
        accepted, refused = poster.post(visits, until_ms=now_ms)
        pageviews = sum(e["kind"] == "pageview" and e["created_at"] <= now_ms
                        for v in visits for e in v.events)
        log(f"demo data: {day}: {pageviews} pageviews ({accepted} events) posted"
            + (" so far" if day == now.date().isoformat() else "")
            + (f"; refused {refused}" if refused else ""))
        traffic["posted"].append(day)
        traffic["through_ms"] = now_ms
        _save(config, state)
    if not poster.loopback:
        log("demo data: the write service is not on loopback: every visit comes from this "
            "machine's address, so visitors differ only by user agent")
    if not config.trust_forwarded_for:
        log("demo data: no countries: the write service sees loopback addresses and does "
            "not trust X-Forwarded-For (ANALYTICS_TRUST_FORWARDED_FOR)")
    traffic["done"] = True
    _save(config, state)


def _site_domain(config: Config) -> str:
    from analytics.sites import SiteRepository
    from analytics.storage.session import connect

    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        site = SiteRepository(session).get(SITE)
    finally:
        cluster.shutdown()
    if site is None:
        raise RuntimeError(f"no site {SITE} (made by the schema step of `make run`)")
    return site.domain


def master_dataset_caught_up(config: Config, timeout_s: float = 180.0) -> bool:
    """Until the speed layer's raw-events query has written everything on the topic now to
    the master dataset, which the batch layer reads (False after ``timeout_s``)."""
    from analytics.kafka_topics import end_offsets
    from analytics.storage.session import connect
    from streaming.progress import RAW_QUERY, processed_offsets, read_status

    if read_status(config) is None:
        return False  # the speed layer is not running
    target = end_offsets(config, config.topic_raw_events)
    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            reached = processed_offsets(config, session, RAW_QUERY)
            if all(reached.get(p, 0) >= offset for p, offset in target.items()):
                return True
            time.sleep(2.0)
        return False
    finally:
        cluster.shutdown()


def close_days(config: Config, days: list[str], log=print) -> dict | None:
    """A backfill of the nightly DAG for ``days`` (not waited for); None when it cannot be
    made now."""
    from stack.airflow import AirflowApi, ui_url

    if not days:
        return {"id": None, "repause": False}
    api = AirflowApi(config)
    if not api.healthy():
        log("demo data: Airflow is not ready; the next `make run` closes the past days")
        return None
    if not master_dataset_caught_up(config):
        log("demo data: the speed layer has not stored the posted events yet; the next "
            "`make run` closes the past days")
        return None
    path = f"/api/v2/dags/{NIGHTLY}"
    paused = bool(api.get(path).get("is_paused"))
    if paused:
        api.patch(path, {"is_paused": False})
    try:
        found = api.post("/api/v2/backfills", {
            "dag_id": NIGHTLY, "from_date": f"{days[0]}T00:00:00Z",
            "to_date": f"{days[-1]}T00:00:00Z", "max_active_runs": 1,
            "reprocess_behavior": "completed",
            "dag_run_conf": {"sites": [SITE], "wait_for_day_end": False}})
    except Exception:
        if paused:
            api.patch(path, {"is_paused": True})
        raise
    log(f"demo data: the batch layer closes {days[0]}..{days[-1]} (a backfill of {NIGHTLY}, "
        f"a few minutes; not waited for): {ui_url(config)}/dags/{NIGHTLY}"
        + (f" — {NIGHTLY} is unpaused until it is done" if paused else ""))
    return {"id": found["id"], "repause": paused, "days": days}


def repause_when_done(config: Config, backfill: dict, log=print) -> bool:
    """Pause the nightly DAG again once the demo backfill is done (True: done now)."""
    from stack.airflow import AirflowApi

    api = AirflowApi(config)
    if not api.healthy():
        return False
    if not api.get(f"/api/v2/backfills/{backfill['id']}").get("completed_at"):
        log(f"demo data: the backfill is still running; {NIGHTLY} stays unpaused till then")
        return False
    api.patch(f"/api/v2/dags/{NIGHTLY}", {"is_paused": True})
    backfill["repause"] = False
    log(f"demo data: the backfill is done; {NIGHTLY} is paused again, as it was")
    return True


def ensure_demo_user(config: Config, log=print) -> str:
    """The demo user, admin of the demo site, with the password in the login file (made,
    or set again when the file is lost; a password changed in the dashboard is kept)."""
    from analytics.storage.accounts import ADMIN
    from analytics.storage.session import connect
    from api.manage_users import accounts_of

    path = login_file(config)
    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        accounts = accounts_of(config, session)
        now = datetime.now(UTC)
        user = accounts.users.get_user(DEMO_EMAIL)
        if user is None or not path.exists():
            password = secrets.token_urlsafe(15)
            if user is None:
                accounts.create_user(DEMO_EMAIL, password, now)
            else:
                accounts.set_password(DEMO_EMAIL, password, now)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(f"{DEMO_EMAIL}\n{password}\n")
            log(f"made the demo login {DEMO_EMAIL} (password in {path})")
        if accounts.roles(DEMO_EMAIL).get(SITE) != ADMIN:
            accounts.grant(DEMO_EMAIL, SITE, ADMIN, now)
    finally:
        cluster.shutdown()
    return DEMO_EMAIL


def trickle(config: Config, interval_s: float = 5.0, log=print) -> int:
    """Post today's generated visits as their time comes, until Ctrl-C."""
    state = _load(config)
    through = state.get("traffic", {}).get("through_ms") or int(time.time() * 1000)
    poster, pool, base = Poster(config), visitor_pool(), f"https://{_site_domain(config)}"
    days: dict[date, list[Visit]] = {}
    log(f"posting {SITE}'s visits as they happen (Ctrl-C stops)")
    try:
        while True:
            now_ms = int(time.time() * 1000)
            first = datetime.fromtimestamp(through / 1000, UTC).date()
            for n in range((datetime.now(UTC).date() - first).days + 1):
                day = first + timedelta(days=n)
                if day not in days:
                    days[day] = generate_day(day, base_url=base, pool=pool)
                visits = days[day]
                accepted, _ = poster.post(visits, after_ms=through, until_ms=now_ms)
                if accepted:
                    log(f"{datetime.now(UTC):%H:%M:%S} {accepted} events")
            through = now_ms
            state.setdefault("traffic", {})["through_ms"] = through
            _save(config, state)
            time.sleep(interval_s)
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    from stack import settings

    argv = sys.argv[1:] if argv is None else argv
    config = settings.load(log=None)
    if argv == ["trickle"]:
        return trickle(config)
    if argv in ([], ["seed"]):
        seed(config)
        return 0
    print("usage: python -m stack.demo_data [seed | trickle]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
