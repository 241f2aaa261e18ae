"""A believable site's answers of the read API, served to the page by Playwright's routing
(``serve``) instead of the read service: the dashboard's look with numbers in it (the test
sites have no events) and chart data sets whose axis ticks are worked out by hand.

Every answer has the read API's shape (api/read/reports/): ``rows`` with the query's
metrics, ``meta`` with ``layers`` and ``incomplete``; a timeseries is bucketed by the API's
``bucket`` (weeks start on the site-local Monday, months on the 1st)."""

from __future__ import annotations

import json
import math
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

from api.read.reports.timeseries import bucket  # the read API's own buckets

SESSION_METRICS = ("sessions", "views_per_session", "bounce_rate", "visit_duration")

BREAKDOWNS = {
    "page": ["/", "/pricing", "/blog/counting-visitors-without-cookies", "/docs",
             "/docs/getting-started", "/about", "/changelog", "/blog", "/careers"],
    "entry_page": ["/", "/blog/counting-visitors-without-cookies", "/pricing", "/docs"],
    "exit_page": ["/", "/pricing", "/docs/getting-started", "/about"],
    "channel": ["Organic Search", "Direct", "Referral", "Organic Social", "Email"],
    "source": ["Google", None, "Hacker News", "DuckDuckGo", "GitHub", "Bing", "Reddit"],
    "referrer": ["news.ycombinator.com", "github.com", "www.reddit.com", "t.co"],
    "medium": ["email", "social"],
    "campaign": ["launch-week", "newsletter-42"],
    "country": ["DE", "US", "GB", "FR", "NL", "IN", "NP", "CA", "SE"],
    "device": ["desktop", "mobile", "tablet"],
    "browser": ["Chrome", "Safari", "Firefox", "Edge", "Samsung Internet"],
    "os": ["Windows", "macOS", "iOS", "Android", "Linux"],
    "screen_size": ["Desktop", "Mobile", "Laptop", "Tablet"],
    "goal": ["signup", "/pricing"],
    "event": ["signup", "download"],
}
TOTAL_ROWS = {"page": 37, "source": 23, "country": 41, "browser": 12, "referrer": 18}


def daily_visitors(day: date) -> int:
    """About 1,100 to 2,300 a day: weekdays busier, a slow rise, a bump mid-month."""
    weekday = (1.0, 1.08, 1.1, 1.04, 0.95, 0.62, 0.58)[day.weekday()]
    trend = 1 + (day.toordinal() % 90) / 300
    bump = 1 + 0.35 * math.exp(-((day.day - 14) / 2.5) ** 2)
    return round(1500 * weekday * trend * bump)


def day_metrics(day: date) -> dict:
    visitors = daily_visitors(day)
    sessions = round(visitors * 1.21)
    return {"visitors": visitors, "sessions": sessions, "pageviews": round(sessions * 2.37),
            "views_per_session": 2.37, "bounce_rate": 0.42 + (day.day % 7) / 100,
            "visit_duration": 151 + (day.day % 5) * 9}




def meta(start: date, end: date, interval: str = "day", incomplete=None,
         total_rows: int | None = None, *, speed_days: int = 0) -> dict:
    """The answer's ``meta``; ``speed_days``: how many of the range's last days the speed
    layer served (the batch layer the others)."""
    days = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    cut = len(days) - speed_days
    found = {"site_id": "demo", "timezone": "Europe/Berlin", "start": start.isoformat(),
             "end": end.isoformat(), "interval": interval,
             "generated_at": f"{end.isoformat()}T23:00:00+00:00",
             "layers": {"batch": days[:cut], "speed": days[cut:]},
             "incomplete": incomplete or [],
             "late_events": {"count": 0, "included": True}}
    if total_rows is not None:
        found.update(total_rows=total_rows, next_offset=None)
    return found


def _range(q: dict) -> tuple[date, date]:
    return date.fromisoformat(q["start"][0]), date.fromisoformat(q["end"][0])


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _combine(days: list[date], metrics: list[str]) -> dict:
    rows = [day_metrics(d) for d in days]
    out = {}
    for m in metrics:
        if m in ("views_per_session", "bounce_rate", "visit_duration"):
            out[m] = round(sum(r[m] for r in rows) / len(rows), 4)
        elif m in ("visitors", "sessions", "pageviews"):
            out[m] = sum(r[m] for r in rows)
        else:
            out[m] = 0
    return out


def _filtered(q: dict) -> bool:
    return bool(q.get("filters") and json.loads(q["filters"][0]))


def aggregate(q: dict) -> dict:
    start, end = _range(q)
    metrics = q["metrics"][0].split(",")
    row = _combine(_days(start, end), metrics)
    if _filtered(q):
        row = {m: (round(v * 0.23) if m in ("visitors", "sessions", "pageviews") else v)
               for m, v in row.items()}
    return {"columns": metrics, "rows": [row], "meta": meta(start, end)}


def timeseries(q: dict, values: dict | None = None, speed_days: int = 0) -> dict:
    """By the query's interval; ``values``: metric -> the values of the range's days in
    order, to use instead of the demo's (a bucket adds its days up); ``speed_days``: as
    in :func:`meta`."""
    start, end = _range(q)
    metrics = q["metrics"][0].split(",")
    interval = q.get("interval", ["day"])[0]
    buckets: dict[date, list[date]] = {}
    for d in _days(start, end):
        buckets.setdefault(bucket(d, interval), []).append(d)
    rows = []
    for first, members in buckets.items():
        if values is None:
            row = _combine(members, metrics)
            if _filtered(q):
                row = {m: round(v * 0.23) if m in ("visitors", "sessions", "pageviews")
                       else v for m, v in row.items()}
        else:
            row = {m: sum(values[m][(d - start).days] for d in members) for m in metrics}
        rows.append({"period": first.isoformat(), **row})
    return {"columns": ["period", *metrics], "rows": rows,
            "meta": meta(start, end, interval, speed_days=speed_days)}


def breakdown(q: dict) -> dict:
    start, end = _range(q)
    dimension = q["dimension"][0]
    metrics = q["metrics"][0].split(",")
    names = BREAKDOWNS.get(dimension, [])[: int(q.get("limit", ["9"])[0])]
    total = _combine(_days(start, end), ["visitors"])["visitors"]
    rows = []
    for n, name in enumerate(names):
        visitors = round(total * 0.52 / (n + 1) ** 1.15)
        row = {dimension: name, "visitors": visitors}
        for m in metrics:
            if m in {"events", "conversions"}:
                row[m] = round(visitors * 1.4)
            elif m == "conversion_rate":
                row[m] = round(visitors / total, 4)
            elif m == "pageviews":
                row[m] = round(visitors * 1.9)
            elif m != "visitors":
                row[m] = day_metrics(start)[m]
        rows.append(row)
    return {"columns": [dimension, *metrics], "rows": rows,
            "meta": meta(start, end, total_rows=TOTAL_ROWS.get(dimension, len(rows)))}


def realtime() -> dict:
    minutes = [{"minute": f"2026-10-31T12:{n:02d}+01:00", "visitors": 2 + n % 5,
                "pageviews": 4 + (n * 7) % 9, "events": n % 3} for n in range(30)]
    return {"site_id": "demo", "timezone": "Europe/Berlin", "from": minutes[0]["minute"],
            "to": "2026-10-31T12:30:00+01:00", "visitors": 27,
            "pageviews": sum(m["pageviews"] for m in minutes),
            "events": sum(m["events"] for m in minutes), "minutes": minutes,
            "pages": [{"page": "/", "visitors": 11, "pageviews": 14}],
            "sources": [{"source": "Google", "visitors": 9, "pageviews": 12}]}


def serve(page, series: dict | None = None, speed_days: int = 0) -> list[dict]:
    """Answer the page's report and realtime requests with the demo site's numbers
    (``series``: metric -> day values of the timeseries instead; ``speed_days``: the
    timeseries' last days served by the speed layer); the queries asked."""
    asked: list[dict] = []

    def answer(route):
        url = urlsplit(route.request.url)
        q = parse_qs(url.query)
        kind = url.path.rsplit("/", 1)[1]
        asked.append({"kind": kind, **{k: v[0] for k, v in q.items()}})
        if kind == "realtime":
            return route.fulfill(json=realtime())
        found = {"aggregate": aggregate, "breakdown": breakdown,
                 "timeseries": lambda q: timeseries(q, series, speed_days)}[kind](q)
        route.fulfill(json=found)

    page.route(re.compile(r"/api/v1/(reports/(aggregate|timeseries|breakdown)|realtime)\?"),
               answer)
    return asked
