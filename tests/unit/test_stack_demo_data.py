"""The demo traffic generator of the local run (stack/demo_data.py): deterministic, exact
per day, valid events, a believable audience; which past days it posts; how it posts."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from analytics.config import Config
from analytics.enrich import StaticSaltProvider, build_pipeline
from analytics.enrich.bots import BotStep, crawler_check
from analytics.enrich.context import RequestContext, SiteSettings
from analytics.enrich.country import country_of
from analytics.enrich.user_agent import describe
from analytics.event_schema import envelope_validator
from stack import demo_data
from stack.demo_data import Poster
from stack.demo_traffic import as_sent, day_pageviews, generate_day, past_days, visitor_pool

MONDAY, SATURDAY = date(2026, 11, 30), date(2026, 12, 5)


@pytest.fixture(scope="module")
def pool():
    return visitor_pool()


@pytest.fixture(scope="module")
def monday(pool):
    return generate_day(MONDAY, pool=pool)


def kinds(visits) -> Counter:
    return Counter(e["kind"] for v in visits for e in v.events)


def test_the_same_seed_gives_the_same_events_and_another_seed_others(pool, monday):
    again = generate_day(MONDAY, pool=pool)
    assert again == monday
    assert visitor_pool() == pool
    other = generate_day(MONDAY, seed=18)
    assert {e["event_id"] for v in other for e in v.events}.isdisjoint(
        e["event_id"] for v in monday for e in v.events)


def test_exact_counts_per_day(pool, monday):
    """Seed 17: a Monday and a Saturday (weekday factors 1.05 and 0.7, then ±15 %)."""
    assert (day_pageviews(MONDAY), day_pageviews(SATURDAY)) == (3994, 2466)
    assert len(monday) == 1611
    assert kinds(monday) == {"pageview": 3994, "engagement": 3408, "custom": 385}
    saturday = generate_day(SATURDAY, pool=pool)
    assert len(saturday) == 959
    assert kinds(saturday) == {"pageview": 2466, "engagement": 2072, "custom": 205}
    assert Counter(e["name"] for v in saturday for e in v.events if e["kind"] == "custom") == {
        "download": 70, "outbound_click": 66, "signup": 61, "newsletter_subscribe": 8}
    start = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp() * 1000)
    times = [e["created_at"] for v in monday for e in v.events]
    assert start <= min(times) and max(times) < start + 86_400_000
    assert len({e["event_id"] for v in monday for e in v.events}) == len(times)


def test_every_event_is_valid_against_the_event_schema(monday):
    validator = envelope_validator()
    for visit in monday:
        sent = [{**e, "sent_at": e["created_at"] + 5} for e in as_sent(visit)]
        assert len(sent) <= Config().max_batch_events
        assert len(json.dumps(sent)) <= Config().max_body_bytes
        for event in sent:
            assert validator.is_valid(event), list(validator.iter_errors(event))


def test_a_believable_audience(pool, monday):
    bots = BotStep(describe, crawler_check(100))
    assert not [ua for ua in {v.user_agent for v in pool} if bots.is_bot(ua)]
    assert {describe(v.user_agent).device_type for v in pool} == {"desktop", "mobile",
                                                                  "tablet"}
    assert {v.country for v in pool if country_of(v.forwarded_ip) != v.country} == set()
    assert len({v.country for v in pool}) == 15
    assert len({v.ip for v in pool}) == len(pool)
    first = [v.events[0] for v in monday]
    referrers = Counter(e.get("referrer", "") for e in first)
    assert referrers["https://www.google.com/"] > 200 and referrers["https://t.co/"] > 50
    assert sum("utm_campaign=" in e["url"] for e in first) > 150
    assert len({v.visitor.number for v in monday}) < len(monday)  # some come back
    multi = [v for v in monday if sum(e["kind"] == "pageview" for e in v.events) > 1]
    assert len(multi) > len(monday) / 2
    by_hour = Counter(datetime.fromtimestamp(e["created_at"] / 1000, UTC).hour for e in first)
    assert by_hour[15] > 4 * by_hour[3]
    assert any(e.get("name") == "signup" and e["props"]["plan"] in ("free", "pro", "team")
               for v in monday for e in v.events)


def test_the_write_services_enrichment_takes_every_event_as_a_human_visit(monday):
    """Through the write service's own pipeline, as received from the visitor's loopback
    address (no country) and, when X-Forwarded-For is trusted, from its country's."""
    pipeline = build_pipeline(Config(), StaticSaltProvider())
    site = SiteSettings(site_id="demo.local", domain="localhost")
    sources, countries = Counter(), Counter()
    for visit in monday[:300]:
        for n, event in enumerate(as_sent(visit)):
            received = event["created_at"] + 40
            for ip in (visit.visitor.ip, visit.visitor.forwarded_ip):
                done = pipeline.run({**event, "sent_at": received}, RequestContext(
                    received, ip, visit.visitor.user_agent, site))
                assert done["is_bot"] is False and done["event_time"] == event["created_at"]
                assert done["device_type"] in ("desktop", "mobile", "tablet")
                countries[ip == visit.visitor.ip, done["country"]] += 1
            if n == 0:
                sources[done["utm_source"] or done["referrer_host"] or "(direct)"] += 1
            elif done["kind"] == "pageview":
                assert done["referrer_host"] is None  # internal navigation
    assert {c for (loopback, c) in countries if loopback} == {None}
    assert len({c for (loopback, c) in countries if not loopback}) >= 10
    assert {"(direct)", "google.com", "newsletter", "t.co", "news.ycombinator.com"} <= set(
        sources)


@pytest.mark.parametrize(("now", "hours", "days"), [
    (datetime(2026, 12, 3, 10, 0, tzinfo=UTC), 72, [date(2026, 12, 1), date(2026, 12, 2)]),
    (datetime(2026, 12, 3, 0, 5, tzinfo=UTC), 72, [date(2026, 12, 1), date(2026, 12, 2)]),
    # 10 minutes kept for the posting itself: 12-01 00:00 is then too old at 23:55
    (datetime(2026, 12, 3, 23, 55, tzinfo=UTC), 72, [date(2026, 12, 2)]),
    (datetime(2026, 12, 3, 0, 5, tzinfo=UTC), 96, [date(2026, 11, 30), date(2026, 12, 1),
                                                   date(2026, 12, 2)]),
])
def test_past_days_are_the_whole_days_the_write_service_accepts(now, hours, days):
    assert past_days(now, hours * 3_600_000) == days


class Recorder(BaseHTTPRequestHandler):
    seen: list = []
    busy_once: set = set()

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        client = self.client_address[0]
        if client not in Recorder.busy_once:  # each client is rate limited once
            Recorder.busy_once.add(client)
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        Recorder.seen.append((client, self.headers["User-Agent"],
                              self.headers.get("X-Forwarded-For"), body))
        answer = json.dumps({"accepted": len(body), "refused": []}).encode()
        self.send_response(202)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_each_visit_is_posted_from_its_visitors_own_address(monday):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = Config(write_api_port=server.server_address[1])
        visits = monday[:6]
        until = visits[3].events[0]["created_at"]
        accepted, refused = Poster(config, threads=2).post(visits, until_ms=until)
    finally:
        server.shutdown()
    posted = [v for v in visits if v.events[0]["created_at"] <= until]
    expected = sum(e["created_at"] <= until for v in visits for e in v.events)
    assert (accepted, refused) == (expected, {})
    assert sorted((c, ua) for c, ua, _, _ in Recorder.seen) == sorted(
        (v.visitor.ip, v.visitor.user_agent) for v in posted)
    assert {xff for _, _, xff, _ in Recorder.seen} == {None}  # not trusted: not sent
    for *_, body in Recorder.seen:
        assert all(e["created_at"] <= until <= e["sent_at"] for e in body)


def test_the_seeding_steps_are_recorded_once(tmp_path, monkeypatch):
    """Done steps are skipped: with traffic posted and the backfill made, a call only
    looks at the login (and a down service does not make it fail)."""
    config = Config(state_dir=tmp_path)
    demo_data._save(config, {"traffic": {"done": True, "past_days": []},
                             "backfill": {"id": 3, "repause": False}})
    calls = []
    for name in ("post_traffic", "close_days", "repause_when_done"):
        monkeypatch.setattr(demo_data, name, lambda *a, n=name, **k: calls.append(n))
    monkeypatch.setattr(demo_data, "ensure_demo_user", lambda *a, **k: (_ for _ in ()).throw(
        OSError("cassandra is down")))
    said = []
    demo_data.seed(config, log=said.append)
    assert calls == []
    assert said == ["dashboard      : http://127.0.0.1:8001/dashboard/",
                    "demo login     : not made (cassandra is down)"]
