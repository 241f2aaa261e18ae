"""Kill the streaming job (SIGKILL to every process of it) while events are flowing, start it
again from its checkpoint: no event missing, none counted twice.

A client posts 80 requests, 0.1 s apart: each has 15 new pageviews and 3 new custom events,
and (from the second on) re-sends the first two pageviews of the request before it, as a
client retrying would. 40 visitors (client addresses). The job is killed once some of the
events are in Cassandra and a micro-batch of the views has been recorded; the client
sends half of its requests before the kill (holding back after that until the kill, so
that a slow machine cannot let it finish first) and the other half while the job is down.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import datasketches
import pytest

from analytics.sites import Site, SiteRepository
from streaming.progress import stream_name
from tests.integration.services import CHROME_UA, SpeedLayerJob, WriteService, post_json
from tests.integration.streaming.conftest import (
    pipeline_config,
    raw_events_of,
    wait_caught_up,
)

pytestmark = pytest.mark.integration

REQUESTS, NEW_PAGEVIEWS, NEW_CUSTOM, RETRIED, VISITORS = 80, 15, 3, 2, 40


class Client(threading.Thread):
    def __init__(self, base: str, site_id: str):
        super().__init__(daemon=True)
        self.base, self.site_id = base, site_id
        self.copies = 0
        self.error: BaseException | None = None
        self.killed = threading.Event()

    def run(self) -> None:
        try:
            previous: list[dict] = []
            for i in range(REQUESTS):
                if i == REQUESTS // 2:
                    self.killed.wait(120)
                url = f"https://restart.example/p{i % 7}"
                events = [{"event_id": str(uuid.uuid4()), "site_id": self.site_id,
                           "kind": "pageview", "url": url} for _ in range(NEW_PAGEVIEWS)]
                events += [{"event_id": str(uuid.uuid4()), "site_id": self.site_id,
                            "kind": "custom", "name": f"c{i % 3}", "url": url}
                           for _ in range(NEW_CUSTOM)]
                batch = events + previous[:RETRIED]
                status, _, body = post_json(
                    self.base + "/api/event", batch,
                    {"X-Forwarded-For": f"198.51.100.{i % VISITORS + 1}", "User-Agent": CHROME_UA})
                assert status == 202 and body["accepted"] == len(batch), body
                self.copies += len(batch)
                previous = events
                time.sleep(0.1)
        except BaseException as exc:  # reported by the test
            self.error = exc


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    hour = start.replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour <= end:
        hours.append(hour.replace(tzinfo=None))
        hour += timedelta(hours=1)
    return hours


def raw_rows(cql, site: str, hours) -> int:
    """Events stored in the site's chunks (the chunks' own counts)."""
    return sum(row.events for hour in hours for row in cql.execute(
        "SELECT events FROM raw_event_chunks WHERE site_id = %s AND hour = %s", (site, hour)))


def recorded_runs(cql, config, since: datetime) -> set[str]:
    """Run ids of the views query with a micro-batch recorded in stream_batches."""
    days = {since.date(), datetime.now(UTC).date()}
    return {row.run_id for day in days for row in cql.execute(
        "SELECT run_id FROM stream_batches WHERE query = %s AND day = %s",
        (stream_name(config, "realtime_views"), day))}


def test_kill_and_restart_from_checkpoint_counts_every_event_once(stack, cql, tmp_path):
    config = pipeline_config(stack, tmp_path, 18220)
    site = Site(site_id=f"restart-{uuid.uuid4().hex[:6]}.test", domain="restart.example")
    SiteRepository(cql).save(site)
    began = datetime.now(UTC)
    write = WriteService(config).start()
    job = SpeedLayerJob(config).start()
    try:
        client = Client(write.base, site.site_id)
        client.start()
        deadline = time.monotonic() + 60
        while (raw_rows(cql, site.site_id, hours_between(began, datetime.now(UTC))) < 200
               or not recorded_runs(cql, config, began)):
            assert time.monotonic() < deadline, job.tail()
            time.sleep(0.2)
        job.kill()
        client.killed.set()
        client.join(60)
        assert client.error is None, client.error
        hours = hours_between(began, datetime.now(UTC))
        before_restart = raw_rows(cql, site.site_id, hours)
        assert before_restart < client.copies  # the rest waits in Kafka

        job = SpeedLayerJob(config).start()
        wait_caught_up(config, cql)
    finally:
        job.stop()
        write.stop()

    copies = NEW_PAGEVIEWS + NEW_CUSTOM + (REQUESTS - 1) * (NEW_PAGEVIEWS + NEW_CUSTOM + RETRIED)
    assert client.copies == copies == 1598
    # Master dataset: every copy once (a retry is a record of its own); replayed
    # micro-batches rewrote the same chunks.
    assert raw_rows(cql, site.site_id, hours) == copies
    stored = raw_events_of(cql, site.site_id, hours)
    assert len(stored) == copies
    assert len({r["_kafka"] for r in stored}) == copies

    def view(name: str) -> list:
        return [row for hour in hours for row in cql.execute(
            "SELECT key, pageviews, custom_events, bot_events, visitors_sketch FROM "
            "realtime_views WHERE site_id = %s AND view_name = %s AND hour = %s",
            (site.site_id, name, hour))]

    def by_key(rows, measure: str) -> dict[str, int]:
        sums: dict[str, int] = {}
        for row in rows:
            sums[row.key] = sums.get(row.key, 0) + getattr(row, measure)
        return sums

    totals = view("totals")
    assert sum(r.pageviews for r in totals) == REQUESTS * NEW_PAGEVIEWS == 1200
    assert sum(r.custom_events for r in totals) == REQUESTS * NEW_CUSTOM == 240
    assert sum(r.bot_events for r in totals) == 0
    union = datasketches.hll_union(config.visitor_sketch_lg_k)
    for row in totals:
        union.update(datasketches.hll_sketch.deserialize(row.visitors_sketch))
    assert round(union.get_estimate()) == VISITORS
    # Request i views /p{i % 7}: requests 0..79 give /p0..p2 12 requests, /p3..p6 11.
    assert by_key(view("pages"), "pageviews") == {
        f"/p{p}": NEW_PAGEVIEWS * (12 if p < 3 else 11) for p in range(7)}
    assert by_key(view("events"), "custom_events") == {
        "c0": 27 * NEW_CUSTOM, "c1": 27 * NEW_CUSTOM, "c2": 26 * NEW_CUSTOM}

    assert len(recorded_runs(cql, config, began)) == 2  # the killed run and the restarted one
