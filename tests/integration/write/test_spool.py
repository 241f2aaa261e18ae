"""Nothing is lost when Kafka is down: stop Kafka, send events, restart the service,
start Kafka, and every accepted event is in the topic exactly once.

Uses a private Kafka broker (own state folder and ports) so the shared broker of the test
run keeps serving the other tests; Cassandra (sites, salts) is the shared node.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from stack import lifecycle
from tests.integration.write.conftest import WriteService, http, post_json, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.lifecycle]


@pytest.fixture
def private_kafka(write_config, test_sites, tmp_path):
    config = write_config.replace(
        state_dir=tmp_path / "stack", kafka_port=19192, kafka_controller_port=19193,
        write_api_port=18100, kafka_delivery_timeout_ms=2000)
    lifecycle.start(config, ["kafka"], log=lambda _: None)
    from analytics.kafka_topics import ensure_topics

    ensure_topics(config)
    yield config
    lifecycle.stop(config, log=lambda _: None)


def _events(run: str, n: int) -> list[dict]:
    return [{"event_id": str(uuid.uuid4()), "site_id": "shop.test", "kind": "pageview",
             "url": f"https://shop.example/{run}/{i}"} for i in range(n)]


def _health(service: WriteService) -> dict:
    return json.loads(http("GET", service.base + "/healthz")[2])


def test_kafka_down_spool_restart_replay_exactly_once(private_kafka, tmp_path):
    config = private_kafka
    # the service is not part of the private stack (which would stop it as a leftover)
    service_config = config.replace(state_dir=tmp_path / "service")
    run = uuid.uuid4().hex
    service = WriteService(service_config).start()
    try:
        before = _events(run, 5)
        assert post_json(service.base + "/api/event", before)[2]["spooled"] == 0

        lifecycle.stop(config, ["kafka"], log=lambda _: None)
        during = [_events(run, 10) for _ in range(3)]
        for batch in during:
            status, _, body = post_json(service.base + "/api/event", batch)
            assert (status, body["accepted"], body["spooled"]) == (202, 10, 10)
        status, _, _ = http("GET", service.base + "/healthz")
        assert status == 503
        assert _health(service)["spool_pending"] == 30
    finally:
        service.stop()  # the spool must survive a restart of the service

    service = WriteService(service_config).start()
    try:
        assert _health(service)["spool_pending"] == 30
        lifecycle.start(config, ["kafka"], log=lambda _: None)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _health(service)["spool_pending"]:
            time.sleep(0.5)
        assert _health(service) == {"kafka": "up", "spool_pending": 0, "breaker_open": False}
        after = _events(run, 5)
        status, _, body = post_json(service.base + "/api/event", after)
        assert (status, body["spooled"]) == (202, 0)
    finally:
        service.stop()

    sent = [e["event_id"] for e in before + [e for b in during for e in b] + after]
    records = read_topic(config, config.topic_raw_events, lambda r: run in r.get("url", ""),
                         expected=len(sent))
    got = [r["event_id"] for r in records]
    assert sorted(got) == sorted(sent)  # all there, none twice
    # replayed in the order they were accepted (one client, so one key and one partition)
    assert len({r["visitor_id"] for r in records}) == 1
    spooled = {e["event_id"] for b in during for e in b}
    assert [g for g in got if g in spooled] == [e["event_id"] for b in during for e in b]
