"""Matomo's bulk tracking at ``Config.matomo_path``: the requests of a bulk are taken one
by one, as Matomo does — each refused one is counted, kept with its reason and listed in
Matomo's answer ``{"status", "tracked", "invalid", "invalid_indices"}``, the others are
tracked — and a body that is no bulk at all is refused whole."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from analytics.config import Config
from analytics.enrich.visitor_id import client_id_hash
from tests.unit.api.write.conftest import (
    BROWSER,
    RECEIVED,
    SHOP,
    VISITOR_IP,
    enriched,
    make_write_world,
    refused_count,
)

KEY = "matomo-test-key"
PAGE = "https://shop.example/a"


@pytest.fixture
def world(frozen):
    world = make_write_world(Config(client_id_hash_key=KEY, max_batch_events=5))
    world.sites.sites[SHOP.site_id] = replace(SHOP, matomo_idsite=7)
    return world


def _bulk(world, body, **headers):
    text = body if isinstance(body, str) else json.dumps(body)
    return world.client.simulate_post(world.config.matomo_path, body=text,
                                      remote_addr=VISITOR_IP, headers={
                                          "User-Agent": BROWSER,
                                          "Content-Type": "application/json", **headers})


def test_a_bulk_tracks_the_good_requests_and_counts_the_others(world, frozen):
    # as matomo-tracker's trackBulk builds it (the event of its README, with a url)
    requests = [
        "?url=https%3A%2F%2Fshop.example%2Fa&action_name=A&idsite=7&rec=1",
        "?_id=AA814767-7B1F-5C81-8F1D-8E47AD7D2982&cdt=2026-11-30T00%3A52%3A20.000Z&e_c=Buy"
        "&e_a=rightButton&e_v=2&url=https%3A%2F%2Fshop.example%2Fa&idsite=7&rec=1",
        "?url=https%3A%2F%2Fshop.example%2Fa&idsite=99&rec=1",          # unknown site
        "/matomo.php?url=ftp%3A%2F%2Fx&idsite=7&rec=1&uid=u-1",          # schema violation
        f"?url={PAGE}&idsite=7&rec=1&cdt={RECEIVED // 1000 - 4 * 86400}",  # too late
    ]
    result = _bulk(world, {"requests": requests, "token_auth": "s3cret"})
    assert (result.status_code, result.json) == (200, {
        "status": "success", "tracked": 2, "invalid": 3, "invalid_indices": [2, 3, 4]})
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], url=PAGE, path="/a", title="A"),
        enriched(event_id=frozen[1], kind="custom", name="Buy", url=PAGE, path="/a",
                 props={"event_action": "rightButton", "event_value": "2"},
                 created_at=RECEIVED - 60_000, sent_at=RECEIVED,
                 event_time=RECEIVED - 60_000)]
    kept = world.sink.invalid
    assert [(k["reason"], k["status"]) for k in kept] == [
        ("unknown_site", 404), ("schema_violation", 400), ("too_late", None)]
    assert kept[0]["payload"] == requests[2][1:]
    assert kept[1]["detail"].startswith("requests[3].url: 'ftp://x' is too short")
    assert kept[1]["payload"] == (
        "url=ftp%3A%2F%2Fx&idsite=7&rec=1&uid=" + client_id_hash(KEY.encode(), SHOP.site_id,
                                                                  "u-1"))
    assert json.loads(kept[2]["payload"])["url"] == PAGE  # the envelope the pipeline refused


def test_malformed_requests_of_a_bulk_are_invalid_with_their_reason(world):
    before = refused_count("malformed_matomo_request")
    result = _bulk(world, {"requests": ["?idsite=7&url=x", 5, "idsite=7&rec=1&url=" + PAGE]})
    assert result.json == {"status": "success", "tracked": 1, "invalid": 2,
                           "invalid_indices": [0, 1]}
    assert refused_count("malformed_matomo_request") == before + 2
    assert [(k["detail"], k["payload"]) for k in world.sink.invalid] == [
        ("requests[0]: rec=1 is required: Matomo tracks only requests with rec=1",
         "idsite=7&url=x"),
        ("requests[1] must be a query string like ?idsite=1&rec=1&url=...", "5")]


def test_a_bulk_from_a_foreign_origin_tracks_nothing(world):
    result = _bulk(world, {"requests": [f"?idsite=7&rec=1&url={PAGE}"]},
                   Origin="https://evil.example")
    assert result.json == {"status": "success", "tracked": 0, "invalid": 1,
                           "invalid_indices": [0]}
    assert [k["reason"] for k in world.sink.invalid] == ["origin_not_allowed"]


@pytest.mark.parametrize(("body", "status", "reason", "detail"), [
    ('{"requests": [', 400, "malformed_matomo_request", "a bulk request must be JSON: "),
    ('{"requests": []}', 400, "malformed_matomo_request",
     'a bulk request is {"requests": ["?idsite=1&rec=1&url=...", ...]} with at least one'),
    ('{"requests": "?idsite=7&rec=1"}', 400, "malformed_matomo_request",
     'a bulk request is {"requests": '),
    (json.dumps({"requests": [f"?idsite=7&rec=1&url={PAGE}"] * 6}), 413, "too_many_events",
     "6 requests in the bulk; at most 5"),
    ('{"requests": ' + "[" * 40 + "]" * 40 + "}", 400, "too_deep", "a bulk request must be"),
])
def test_a_body_that_is_no_bulk_is_refused_whole(world, body, status, reason, detail):
    result = _bulk(world, body)
    assert (result.status_code, result.json["title"]) == (status, reason)
    assert result.json["description"][:len(detail)] == detail
    assert world.sink.accepted == []
    [kept] = world.sink.invalid
    assert (kept["reason"], kept["payload"]) == (reason, body[:4096])


def test_a_refused_bulk_keeps_no_token_and_no_raw_id(world):
    body = '{"token_auth": "s3cret", "requests": ["?_id=abc&idsite=7"'
    assert _bulk(world, body).status_code == 400
    [kept] = world.sink.invalid
    assert kept["payload"] == ('{"token_auth":"", "requests": ["?_id='
                               + client_id_hash(KEY.encode(), "", "abc") + '&idsite=7"')
