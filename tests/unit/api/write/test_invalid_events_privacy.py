"""The invalid-events topic keeps no raw client ids: ``client_id`` / ``cid`` / ``user_id``
in a refused payload (and in the detail a schema error quotes them in) become the keyed
hash the enrichment step ``visitor_id`` makes of them, for the site of the event that
holds them ('' in a Measurement Protocol body, which names its site in the URL)."""

from __future__ import annotations

import json
from dataclasses import replace

from analytics.config import Config
from analytics.enrich.visitor_id import client_id_hash
from api.write.intake import pseudonymize
from tests.unit.api.write.conftest import PAGEVIEW, SHOP, make_write_world

KEY = "privacy-test-key"
CONFIG = Config(client_id_hash_key=KEY)


def _hash(site_id: str, value: str) -> str:
    return client_id_hash(KEY.encode(), site_id, value)


def test_a_schema_violation_keeps_the_event_with_its_client_id_hashed():
    world = make_write_world(CONFIG)
    long_id = "x" * 129  # over the schema's 128
    result = world.post("/api/event", json.dumps({**PAGEVIEW, "client_id": long_id}))
    assert (result.status_code, result.json["description"]) == (
        400, f"events[0].client_id: {long_id!r} is too long")  # the client sees its own
    [kept] = world.sink.invalid
    hashed = _hash("shop.example", long_id)
    assert kept["payload"] == ('{"site_id":"shop.example","kind":"pageview",'
                               '"url":"https://shop.example/a","client_id":"' + hashed + '"}')
    assert kept["detail"] == f"events[0].client_id: '{hashed}' is too long"
    assert (kept["reason"], kept["truncated"]) == ("schema_violation", False)


def test_a_batch_keeps_each_events_id_hashed_for_its_own_site():
    world = make_write_world(CONFIG)
    body = json.dumps([{**PAGEVIEW, "cid": "c-1"},
                       {**PAGEVIEW, "site_id": "other.example", "client_id": "c-2",
                        "props": {"user_id": 42}},
                       {**PAGEVIEW, "kind": "bogus"}])
    assert world.post("/api/event", body).status_code == 400  # the third is invalid
    [kept] = world.sink.invalid
    assert json.loads(kept["payload"]) == [
        {**PAGEVIEW, "cid": _hash("shop.example", "c-1")},
        {**PAGEVIEW, "site_id": "other.example", "client_id": _hash("other.example", "c-2"),
         "props": {"user_id": _hash("other.example", "42")}},
        {**PAGEVIEW, "kind": "bogus"}]


def test_an_event_the_pipeline_refuses_keeps_the_hash_its_visitor_id_would_be():
    world = make_write_world(CONFIG)
    world.sites.sites[SHOP.site_id] = replace(SHOP, client_id_opt_in=True)
    spam = {**PAGEVIEW, "client_id": "abc", "referrer": "https://best.semalt.com/"}
    result = world.post("/api/event", json.dumps([{**PAGEVIEW, "client_id": "abc"}, spam]))
    assert result.json["refused"] == [{"index": 1, "reason": "referrer_spam",
                                       "detail": "best.semalt.com"}]
    [accepted] = world.sink.accepted
    [kept] = world.sink.invalid
    assert accepted["visitor_id"] == json.loads(kept["payload"])["client_id"] == \
        _hash("shop.example", "abc") == "a83a07a126ab6e6f45ed68ad6b7aedf3"
    assert '"abc"' not in kept["payload"]


def test_a_measurement_protocol_body_keeps_client_and_user_id_hashed():
    world = make_write_world(CONFIG)
    body = '{"client_id":"555.777","user_id":"u-9","events":[{"name":"page_view"}]}'
    assert world.mp(body, secret="wrong").status_code == 403
    [kept] = world.sink.invalid
    assert kept["reason"] == "wrong_secret"
    assert kept["payload"] == ('{"client_id":"' + _hash("", "555.777") + '","user_id":"'
                               + _hash("", "u-9") + '","events":[{"name":"page_view"}]}')


def test_a_body_that_does_not_parse_is_rewritten_field_by_field():
    world = make_write_world(CONFIG)
    body = '{"site_id":"shop.example","client_id" : "abc","user_id":77,"url":'
    assert world.post("/api/event", body).json["title"] == "malformed_json"
    [kept] = world.sink.invalid
    assert kept["payload"] == ('{"site_id":"shop.example","client_id" : "'
                               + _hash("shop.example", "abc") + '","user_id":"'
                               + _hash("shop.example", "77") + '","url":')


def test_a_body_cut_at_the_size_limit_loses_the_id_it_was_cut_in():
    world = make_write_world(replace(CONFIG, max_body_bytes=100,
                                     invalid_payload_max_bytes=100))
    head = '{"site_id":"shop.example","url":"https://shop.example/a","cid":"'
    body = head + "9" * 200 + '"}'  # 266 bytes; the service reads the first 101
    assert world.post("/api/event", body).json["title"] == "body_too_large"
    [kept] = world.sink.invalid
    assert kept["payload"] == head + _hash("shop.example", "9" * 37) + '"'  # 97 characters
    assert kept["truncated"] is True  # cut when read


def test_a_payload_without_client_ids_is_kept_as_it_came():
    body = '{"site_id": "shop.example",  "kind": "nope"}'
    assert pseudonymize(body, "d", KEY.encode()) == (body, "d")
    event = {"site_id": "shop.example", "client_id": None, "cid": ""}
    assert pseudonymize(event, "d", KEY.encode()) == (
        '{"site_id":"shop.example","client_id":null,"cid":""}', "d")


def test_a_detail_quoting_a_cut_python_dict_loses_the_id_too():
    detail = "events[0]: {'site_id': 'shop.example', 'client_id': 'abcd"
    payload, kept = pseudonymize('{"site_id":"s"}', detail, KEY.encode())
    assert kept == ("events[0]: {'site_id': 'shop.example', 'client_id': '"
                    + _hash("s", "abcd") + "'")
