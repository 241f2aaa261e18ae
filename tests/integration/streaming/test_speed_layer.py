"""Hand-built events through the write API -> Kafka -> the streaming job -> Cassandra; the
realtime views and the raw table equal the numbers worked out from docs/metrics.md.

Two sites in different zones (Asia/Kathmandu, +05:45; America/New_York). Views are keyed
by UTC minute, whatever the zone. Every event below is posted within a few seconds of one
UTC minute M (the test waits for a fresh minute if needed); visitors differ by client
address and user agent (the service trusts X-Forwarded-For here).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer

from analytics.raw_events import MALFORMED_SITE
from analytics.sites import Site, SiteRepository
from tests.integration.services import CHROME_UA, SpeedLayerJob, WriteService, post_json
from tests.integration.streaming.conftest import (
    FIREFOX_UA,
    GOOGLEBOT_UA,
    SAFARI_IPHONE_UA,
    pipeline_config,
    raw_events_of,
    wait_caught_up,
    wait_for_next_minute_if_late,
)

pytestmark = pytest.mark.integration

TTL_8_DAYS = 8 * 86_400


def ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


@pytest.fixture(scope="module")
def speed(stack, cql, tmp_path_factory):
    """A write service and a streaming job on a topic of their own; the events below
    posted through it; the job caught up."""
    config = pipeline_config(stack, tmp_path_factory.mktemp("speed"), 18210)
    run = uuid.uuid4().hex[:6]
    kathmandu = Site(site_id=f"ktm-{run}.test", domain="ktm.example", timezone="Asia/Kathmandu")
    new_york = Site(site_id=f"nyc-{run}.test", domain="nyc.example",
                    timezone="America/New_York")
    repo = SiteRepository(cql)
    repo.save(kathmandu)
    repo.save(new_york)
    write = WriteService(config).start()
    job = SpeedLayerJob(config).start()
    try:
        minute = wait_for_next_minute_if_late()
        posted = post_events(write.base, kathmandu.site_id, new_york.site_id)
        produce_malformed(config)
        wait_caught_up(config, cql)
        yield {"config": config, "minute": minute, "k": kathmandu.site_id,
               "n": new_york.site_id, "ids": posted, "cql": cql}
    finally:
        job.stop()
        write.stop()


def post(base: str, events, ip: str, ua: str) -> None:
    status, _, body = post_json(base + "/api/event", events,
                                {"X-Forwarded-For": ip, "User-Agent": ua})
    assert status == 202 and body["refused"] == [], body


def post_events(base: str, k: str, n: str) -> dict[str, str]:
    """The hand-built set. Returns the event ids by name."""
    e = dict(zip(["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8",
                  "n1", "n2", "n3", "n4"], ids(12), strict=True))
    kurl, nurl = "https://ktm.example", "https://nyc.example"
    v1, v2, v3, bot = ("203.0.113.1", CHROME_UA), ("203.0.113.2", FIREFOX_UA), \
        ("203.0.113.3", SAFARI_IPHONE_UA), ("66.249.66.1", GOOGLEBOT_UA)
    now = int(time.time() * 1000)
    # Site k (Asia/Kathmandu)
    post(base, [{"event_id": e["k1"], "site_id": k, "kind": "pageview", "url": kurl + "/"},
                {"event_id": e["k2"], "site_id": k, "kind": "custom", "name": "signup",
                 "url": kurl + "/"},
                {"event_id": e["k2"], "site_id": k, "kind": "custom", "name": "signup",
                 "url": kurl + "/"}], *v1)                      # k2 twice in one batch
    post(base, {"event_id": e["k1"], "site_id": k, "kind": "pageview", "url": kurl + "/"},
         *v1)                                                   # k1 retried: a duplicate
    post(base, {"event_id": e["k3"], "site_id": k, "kind": "pageview",
                "url": kurl + "/pricing?utm_source=newsletter",
                "referrer": "https://www.google.com/"}, *v2)    # utm beats the referrer
    post(base, {"event_id": e["k4"], "site_id": k, "kind": "engagement", "url": kurl + "/pricing",
                "engagement_ms": 15_000}, *v2)
    post(base, [{"event_id": e["k5"], "site_id": k, "kind": "pageview", "url": kurl + "/"},
                {"event_id": e["k6"], "site_id": k, "kind": "custom", "name": "signup",
                 "url": kurl + "/"}], *bot)                     # bot: counted apart
    post(base, {"event_id": e["k7"], "site_id": k, "kind": "pageview", "url": kurl + "/docs",
                "created_at": now - 180_000, "sent_at": now}, *v3)    # buffered 3 min
    post(base, {"event_id": e["k8"], "site_id": k, "kind": "pageview", "url": kurl + "/late",
                "created_at": now - 1_200_000, "sent_at": now}, *v3)  # 20 min: too late
    # Site n (America/New_York)
    post(base, {"event_id": e["n1"], "site_id": n, "kind": "pageview", "url": nurl + "/",
                "referrer": "https://news.ycombinator.com/item?id=1"}, *v1)
    post(base, [{"event_id": e["n2"], "site_id": n, "kind": "pageview",
                 "url": nurl + "/?utm_source=twitter"},
                {"event_id": e["n3"], "site_id": n, "kind": "custom", "name": "download",
                 "url": nurl + "/"}], *v2)
    post(base, {"event_id": e["n4"], "site_id": n, "kind": "pageview", "url": nurl + "/about"},
         *v1)
    return e


def produce_malformed(config) -> None:
    """Records the write service never publishes, put straight on the topic."""
    producer = Producer({"bootstrap.servers": config.bootstrap_servers})
    producer.produce(config.topic_raw_events, b"not json at all")
    producer.produce(config.topic_raw_events, b'{"schema": "analytics/enriched_event/1-0-0"}')
    assert producer.flush(10) == 0


def utc(minute: datetime) -> datetime:
    """Cassandra timestamps come back naive UTC."""
    return minute.replace(tzinfo=None)


COLUMNS = {
    "totals": "minute, pageviews, custom_events, engagements, bot_events, visitors",
    "pages": "minute, key, pageviews, visitors",
    "sources": "minute, key, pageviews, visitors",
    "events": "minute, key, custom_events, visitors",
    "late": "event_minute, minute, pageviews, custom_events, engagements, bot_events",
}


def view_rows(cql, site: str, view: str, minutes: list[datetime]) -> list[tuple]:
    """Sorted rows of one view of ``realtime_views`` for the UTC hours of ``minutes``."""
    hours = {utc(x.replace(minute=0)) for x in minutes}
    rows = []
    for hour in hours:
        rows += cql.execute(f"SELECT {COLUMNS[view]} FROM realtime_views WHERE site_id = %s "
                            "AND view_name = %s AND hour = %s", (site, view, hour))
    return sorted(tuple(r) for r in rows)


def test_realtime_totals_per_utc_minute(speed):
    m, cql, k, n = speed["minute"], speed["cql"], speed["k"], speed["n"]
    m3 = m - timedelta(minutes=3)
    # k at M: pageviews k1 k3 (k1's retry is the same event), custom k2 (twice in one
    # batch: one event), engagement k4, bots k5 k6, visitors v1 v2. k at M-3: k7 buffered
    # 3 minutes (v3). k8, buffered 20 minutes, is late: not in any minute here.
    assert view_rows(cql, k, "totals", [m, m3]) == sorted([
        (utc(m), 2, 1, 1, 2, 2), (utc(m3), 1, 0, 0, 0, 1)])
    # n at M: pageviews n1 n2 n4, custom n3, visitors v1 v2 (another site: other visitors
    # even with the same address and browser).
    assert view_rows(cql, n, "totals", [m]) == [(utc(m), 3, 1, 0, 0, 2)]


def test_top_pages_sources_and_custom_events_per_minute(speed):
    m, cql, k, n = speed["minute"], speed["cql"], speed["k"], speed["n"]
    m3 = m - timedelta(minutes=3)
    assert view_rows(cql, k, "pages", [m, m3]) == sorted([
        (utc(m), "/", 1, 1), (utc(m), "/pricing", 1, 1), (utc(m3), "/docs", 1, 1)])
    assert view_rows(cql, n, "pages", [m]) == [(utc(m), "/", 2, 2), (utc(m), "/about", 1, 1)]
    assert view_rows(cql, k, "sources", [m, m3]) == sorted([
        (utc(m), "(direct)", 1, 1), (utc(m), "newsletter", 1, 1), (utc(m3), "(direct)", 1, 1)])
    assert view_rows(cql, n, "sources", [m]) == sorted([
        (utc(m), "(direct)", 1, 1), (utc(m), "news.ycombinator.com", 1, 1),
        (utc(m), "twitter", 1, 1)])
    assert view_rows(cql, k, "events", [m, m3]) == [(utc(m), "signup", 1, 1)]
    assert view_rows(cql, n, "events", [m]) == [(utc(m), "download", 1, 1)]


def test_late_event_is_counted_apart_by_its_own_minute(speed):
    m, cql = speed["minute"], speed["cql"]
    m20 = m - timedelta(minutes=20)
    assert view_rows(cql, speed["k"], "late", [m]) == [(utc(m20), utc(m), 1, 0, 0, 0)]
    assert view_rows(cql, speed["n"], "late", [m]) == []


def test_raw_table_keeps_every_accepted_event(speed):
    e, m = speed["ids"], speed["minute"]
    names = {v: k for k, v in e.items()}
    found = []
    for site in (speed["k"], speed["n"]):
        hours = {utc((m - timedelta(minutes=back)).replace(minute=0)) for back in (0, 3, 20)}
        found += raw_events_of(speed["cql"], site, sorted(hours))
    # Every record the write service published, once: k1 twice (a retry), k2 twice (sent
    # twice in one request), bots included -- the master dataset is raw, readers dedup.
    assert sorted(names[r["event_id"]] for r in found) == [
        "k1", "k1", "k2", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "n1", "n2", "n3", "n4"]
    assert len({r["_kafka"] for r in found}) == 14
    kinds = {names[r["event_id"]]: r["kind"] for r in found}
    assert (kinds["k2"], kinds["k4"], kinds["k8"]) == ("custom", "engagement", "pageview")
    bots = sorted(names[r["event_id"]] for r in found if r["is_bot"])
    assert bots == ["k5", "k6"]
    for record in found:
        back = {"k7": 3, "k8": 20}.get(names[record["event_id"]], 0)
        event_time = datetime.fromtimestamp(record["event_time"] / 1000, UTC)
        assert m - timedelta(minutes=back) <= event_time < m - timedelta(minutes=back - 1)


def test_malformed_records_are_kept_and_counted(speed):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    chunks = [row for hour in (now - timedelta(hours=1), now) for row in speed["cql"].execute(
        "SELECT kafka_topic, events, payload FROM raw_event_chunks WHERE site_id = %s "
        "AND hour = %s", (MALFORMED_SITE, hour))]
    mine = [row for row in chunks if row.kafka_topic == speed["config"].topic_raw_events]
    assert sum(row.events for row in mine) == 2
    assert sorted(text for row in mine for text in row.payload) == [
        "not json at all", '{"schema": "analytics/enriched_event/1-0-0"}']


def test_views_expire_and_batches_are_recorded(speed):
    cql, config, m = speed["cql"], speed["config"], speed["minute"]
    ttl = cql.execute("SELECT TTL(pageviews) FROM realtime_views WHERE site_id = %s AND "
                      "view_name = 'totals' AND hour = %s AND minute = %s",
                      (speed["k"], utc(m.replace(minute=0)), utc(m))).one()[0]
    assert TTL_8_DAYS - 600 < ttl <= TTL_8_DAYS
    from streaming.progress import stream_name

    today = datetime.now(UTC).date()
    for query in ("raw_events", "realtime_views"):
        batches = []
        for day in (today, today - timedelta(days=1)):
            batches += cql.execute(
                "SELECT batch_id, input_rows, rows_dropped_late FROM stream_batches "
                "WHERE query = %s AND day = %s", (stream_name(config, query), day))
        assert batches, query
        # 16 records were read (14 events accepted, 2 malformed) and none were dropped
        # by Spark's watermark: the late event was routed to realtime_late instead.
        assert sum(b.input_rows for b in batches) == 16
        assert sum(b.rows_dropped_late for b in batches) == 0
