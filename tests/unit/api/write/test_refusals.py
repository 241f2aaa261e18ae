"""One error model: a refused request is raised as ``RequestRefused`` and answered by the
app's one handler of it — counted by reason and by endpoint and status, its payload kept
on the invalid-events topic, the body ``{"title", "description", "request_id"}``."""

from __future__ import annotations

import json

from falcon import testing
from prometheus_client import REGISTRY

from analytics.config import Config
from analytics.enrich import StaticSaltProvider
from api.write.app import create_app
from api.write.spool import SpoolError
from tests.unit.api.write.conftest import BROWSER, PAGEVIEW, SHOP, make_write_world, refused_count
from tests.unit.api.write.fakes import MemorySites, RecordingSink

GIVEN_ID = "req-refusal-1"


def requests_count(endpoint: str, status: str) -> float:
    return REGISTRY.get_sample_value("analytics_write_requests_total",
                                     {"endpoint": endpoint, "status": status}) or 0.0


def test_a_refusal_is_counted_kept_and_answered_with_the_one_error_body():
    world = make_write_world()
    before = (refused_count("wrong_secret"), requests_count("mp", "403"))
    body = json.dumps({"client_id": "1.2", "events": [{"name": "page_view"}]})
    result = world.post("/mp/collect", body, headers={"X-Request-Id": GIVEN_ID},
                        params={"measurement_id": SHOP.site_id, "api_secret": "wrong"})
    assert (result.status_code, result.headers["content-type"], result.json) == (
        403, "application/json", {
            "title": "wrong_secret", "request_id": GIVEN_ID,
            "description": "api_secret is missing or does not match the site's "
                           "Measurement Protocol secret"})
    assert result.headers["x-request-id"] == GIVEN_ID
    assert (refused_count("wrong_secret"), requests_count("mp", "403")) == (
        before[0] + 1, before[1] + 1)
    [kept] = world.sink.invalid
    assert {k: kept[k] for k in ("reason", "status", "source", "truncated")} == {
        "reason": "wrong_secret", "status": 403, "source": "mp", "truncated": False}
    assert world.sink.accepted == []


def test_the_error_body_is_json_whatever_the_client_accepts():
    world = make_write_world()
    result = world.post("/api/event", "[]", headers={"Accept": "text/plain"})
    assert (result.status_code, result.headers["content-type"]) == (400, "application/json")
    assert (result.json["title"], result.json["description"]) == (
        "empty_batch", "no events in the request")


def test_a_rate_limited_request_is_answered_with_retry_after_and_counted_not_kept():
    sink = RecordingSink()
    app = create_app(Config().replace(rate_limit_per_s=0.001, rate_limit_burst=1.0),
                     sites=MemorySites(SHOP), sink=sink, salts=StaticSaltProvider())
    client = testing.TestClient(app)
    before = (refused_count("rate_limited"), requests_count("collect", "429"))
    first, second = (client.simulate_post("/api/event", body=json.dumps(PAGEVIEW),
                                          headers={"User-Agent": BROWSER}) for _ in range(2))
    assert (first.status_code, second.status_code, second.json["title"]) == (
        202, 429, "rate_limited")
    assert int(second.headers["retry-after"]) >= 1
    assert second.json["request_id"] == second.headers["x-request-id"]
    assert (refused_count("rate_limited"), requests_count("collect", "429")) == (
        before[0] + 1, before[1] + 1)
    assert sink.invalid == []


class InvalidTopicDown(RecordingSink):
    """Accepts events; the spool cannot keep a refusal."""

    async def publish(self, records):
        if any(topic == self.invalid_topic for topic, _key, _value in records):
            raise SpoolError("disk full")
        return await super().publish(records)


def test_a_refusal_that_cannot_be_kept_is_a_503_to_retry_not_a_4xx():
    sink = InvalidTopicDown()
    app = create_app(Config().replace(rate_limit_per_s=0.0), sites=MemorySites(SHOP),
                     sink=sink, salts=StaticSaltProvider())
    before = refused_count("unknown_site")
    result = testing.TestClient(app).simulate_post(
        "/api/event", body=json.dumps({**PAGEVIEW, "site_id": "nowhere.example"}),
        headers={"X-Request-Id": GIVEN_ID})
    assert (result.status_code, result.headers["retry-after"], result.json) == (
        503, "5", {"title": "not_kept", "description": "the event could not be kept now; retry",
                   "request_id": GIVEN_ID})
    assert refused_count("unknown_site") == before + 1
    assert sink.records == []
