"""Client input that once gave a 500 on the write service: each is a 400 with a reason,
counted by reason, and kept on the invalid-events topic (the payload truncated)."""

from __future__ import annotations

import json

import pytest

from analytics.enrich.visitor_id import client_id_hash
from tests.unit.api.write.conftest import PAGEVIEW, SHOP, refused_count

DEEP = "[" * 1000 + "]" * 1000
LIMIT = 4096  # Config.invalid_payload_max_bytes


def _as_kept(body: str) -> str:
    """The body with its client id hashed, as the invalid-events topic keeps it (no key
    in the test config; a Measurement Protocol body names no site)."""
    for raw, value in (('"c"', "c"), ('"\\ud800"', "\ufffd")):
        body = body.replace(f'"client_id":{raw}',
                            f'"client_id":"{client_id_hash(b"", "", value)}"')
    return body


def _kept(world, reason: str, body: str) -> dict:
    [kept] = world.sink.invalid
    assert (kept["reason"], kept["payload"], kept["truncated"]) == (
        reason, _as_kept(body)[:LIMIT], len(body) > LIMIT)
    assert world.sink.accepted == []
    return kept


@pytest.mark.parametrize("body", [
    json.dumps({**PAGEVIEW, "url": "@"})[:-1].replace('"@"', DEEP) + "}",
    json.dumps({**PAGEVIEW, "props": {"plan": "@"}}).replace('"@"', DEEP),
    json.dumps([PAGEVIEW, "@"]).replace('"@"', DEEP),
    DEEP,
])
def test_deep_nesting_on_the_collect_endpoint_is_refused(write_world, body):
    before = refused_count("too_deep")
    result = write_world.post("/api/event", body)
    assert result.status_code == 400
    assert result.json["title"] == "too_deep"
    assert result.json["description"].startswith("JSON nested deeper than 32 levels at ")
    assert refused_count("too_deep") == before + 1
    kept = _kept(write_world, "too_deep", body)
    assert (kept["status"], kept["source"]) == (400, "tracker")


def test_deep_nesting_in_measurement_protocol_params_is_refused(write_world):
    body = '{"client_id":"c","events":[{"name":"x","params":{"v":' + DEEP + '}}]}'
    before = refused_count("too_deep")
    result = write_world.mp(body)
    assert (result.status_code, result.json["title"]) == (400, "too_deep")
    assert result.json["description"] == ("JSON nested deeper than 32 levels at "
                                     "events/0/params/v" + "/0" * 28)
    assert refused_count("too_deep") == before + 1
    _kept(write_world, "too_deep", body)


@pytest.mark.parametrize("body", [
    '{"client_id":"\\ud800","events":[{"name":"x"}]}',
    '{"client_id":"c","events":[{"name":"x","params":{"page_location":'
    '"https://shop.example/\\udc00"}}]}',
    '{"client_id":"c","events":[{"name":"x\\udfff","params":{}}]}',
])
def test_lone_surrogates_on_the_measurement_protocol_are_refused(write_world, body):
    before = refused_count("malformed_mp_payload")
    result = write_world.mp(body)
    assert (result.status_code, result.json["title"]) == (400, "malformed_mp_payload")
    assert "surrogate" in result.json["description"]
    assert refused_count("malformed_mp_payload") == before + 1
    _kept(write_world, "malformed_mp_payload", body)


@pytest.mark.parametrize("body", [
    json.dumps({**PAGEVIEW, "title": "\ud800"}),  # json.dumps escapes it: \ud800
    json.dumps({**PAGEVIEW, "props": {"k": "a\udfffb"}}),
    b'{"site_id":"shop.example","kind":"pageview","url":"https://shop.example/\xed\xa0\x80"}',
])
def test_lone_surrogates_on_the_collect_endpoint_are_refused(write_world, body):
    before = refused_count("malformed_json")
    result = write_world.post("/api/event", body)
    assert (result.status_code, result.json["title"]) == (400, "malformed_json")
    assert refused_count("malformed_json") == before + 1
    [kept] = write_world.sink.invalid
    assert kept["reason"] == "malformed_json"


def test_a_measurement_protocol_number_beyond_a_double_is_refused(write_world):
    result = write_world.mp('{"client_id":"c","events":[{"name":"x","params":{"v":1e400}}]}')
    assert (result.status_code, result.json["title"]) == (400, "malformed_mp_payload")
    assert "infinity" in result.json["description"]


def test_the_same_events_without_the_hostile_part_are_accepted(write_world):
    result = write_world.post("/api/event", json.dumps({**PAGEVIEW, "title": "ok"}))
    assert (result.status_code, result.json) == (202, {"accepted": 1, "refused": [],
                                                       "spooled": 0})
    mp = write_world.mp('{"client_id":"c","events":[{"name":"page_view","params":'
                        '{"page_location":"https://shop.example/x"}}]}')
    assert (mp.status_code, mp.json["accepted"]) == (202, 1)
    assert [(e["site_id"], e["path"]) for e in write_world.sink.accepted] == [
        (SHOP.site_id, "/a"), (SHOP.site_id, "/x")]


@pytest.mark.parametrize(("first", "answer"), [("unknown.example", (404, "unknown_site")),
                                               (SHOP.site_id, (403, "origin_not_allowed"))])
def test_a_batch_is_refused_for_its_first_site_in_request_order(write_world, first, answer):
    # the sites were checked in set order: the answer changed with the worker's hash seed
    second = "unknown.example" if first == SHOP.site_id else SHOP.site_id
    body = json.dumps([{**PAGEVIEW, "site_id": first}, {**PAGEVIEW, "site_id": second}])
    result = write_world.post("/api/event", body, headers={"Origin": "https://evil.example"})
    assert (result.status_code, result.json["title"]) == answer
