"""Snowplow's batches at ``Config.snowplow_path`` (``tp2``): the events of a batch are
taken one by one, as Matomo's bulk requests — each refused one is counted and kept with
its reason, the others are tracked — and the answer is Snowplow's 200 ``ok`` either way;
a body that is no batch at all is refused whole."""

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
    visitor,
)

KEY = "snowplow-test-key"
PAGE = "https://shop.example/a"
SCHEMA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
RECORDED_TRACKER = (  # what snowplow-tracker 1.1.0 (PyPI) POSTed to a recording server
    '{"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": '
    '[{"e": "pv", "url": "https://shop.example/a?utm_source=news", "page": "A", "refr": '
    '"https://www.google.com/", "p": "web", "uid": "user-42", "tz": "Europe/Berlin", "lang": '
    '"de-DE", "res": "1920x1080", "ua": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 '
    '(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "eid": "b52d6e0b-9dcb-44ab-b855-2040'
    '171565a7", "dtm": "1796197333952", "tv": "py-1.1.0", "tna": "sp", "aid": "website", '
    '"stm": "1796197333000"}, {"e": "se", "se_ca": "video", "se_ac": "play", "se_la": "intro"'
    ', "se_pr": "hd", "se_va": "2.5", "p": "web", "uid": "user-42", "tz": "Europe/Berlin", '
    '"lang": "de-DE", "res": "1920x1080", "ua": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit'
    '/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "eid": "e6f9bc1b-d723-49d4-'
    '8882-f1c1fdd4a414", "dtm": "1796197333952", "tv": "py-1.1.0", "tna": "sp", "aid": '
    '"website", "stm": "1796197333000"}, {"e": "ue", "ue_px": "eyJzY2hlbWEiOiAiaWdsdTpjb20u'
    "c25vd3Bsb3dhbmFseXRpY3Muc25vd3Bsb3cvdW5zdHJ1Y3RfZXZlbnQvanNvbnNjaGVtYS8xLTAtMCIsICJkYXRh"
    "IjogeyJzY2hlbWEiOiAiaWdsdTpjb20uc25vd3Bsb3dhbmFseXRpY3Muc25vd3Bsb3cvbGlua19jbGljay9qc29u"
    "c2NoZW1hLzEtMC0xIiwgImRhdGEiOiB7InRhcmdldFVybCI6ICJodHRwczovL3BhcnRuZXIuZXhhbXBsZS94In19"
    'fQ==", "p": "web", "uid": "user-42", "tz": "Europe/Berlin", "lang": "de-DE", "res": '
    '"1920x1080", "ua": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like '
    'Gecko) Chrome/131.0.0.0 Safari/537.36", "eid": "f1274d2c-6e0e-4182-9da7-aef32f99671d", '
    '"dtm": "1796197333952", "tv": "py-1.1.0", "tna": "sp", "aid": "website", "stm": '
    '"1796197333000"}, {"e": "pp", "url": "https://shop.example/a", "pp_mix": "0", "pp_max": '
    '"10", "pp_miy": "0", "pp_may": "500", "p": "web", "uid": "user-42", "tz": '
    '"Europe/Berlin", "lang": "de-DE", "res": "1920x1080", "ua": "Mozilla/5.0 (X11; Linux '
    'x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "eid": '
    '"e4699766-754c-4b49-b8a2-bd0edc6ac56f", "dtm": "1796197333952", "tv": "py-1.1.0", "tna":'
    ' "sp", "aid": "website", "stm": "1796197333000"}]}')


@pytest.fixture
def world(frozen):
    world = make_write_world(Config(client_id_hash_key=KEY, max_batch_events=5))
    world.sites.sites[SHOP.site_id] = replace(SHOP, snowplow_app_id="website")
    return world


def _batch(world, body, **headers):
    text = body if isinstance(body, str) else json.dumps({"schema": SCHEMA, "data": body})
    return world.client.simulate_post(world.config.snowplow_path, body=text,
                                      remote_addr=VISITOR_IP, headers={
                                          "User-Agent": BROWSER, "Content-Type":
                                          "application/json; charset=utf-8", **headers})


def _hash(value: str, site_id: str = SHOP.site_id) -> str:
    return client_id_hash(KEY.encode(), site_id, value)


def test_a_batch_recorded_from_snowplow_tracker(world, frozen):
    # it sends python-requests' User-Agent; the visitor's comes as ua (set on its Subject)
    result = _batch(world, RECORDED_TRACKER, **{"User-Agent": "python-requests/2.34.2"})
    assert (result.status_code, result.headers["content-type"], result.text) == (
        200, "text/plain; charset=utf-8", "ok")
    common = {"language": "de-DE", "time_zone": "Europe/Berlin", "screen_width": 1920,
              "screen_height": 1080, "created_at": 1796197333952, "sent_at": 1796197333000}
    # stm is cut to the second by the client, so it is before dtm: no correction
    assert world.sink.accepted == [
        enriched(event_id="b52d6e0b-9dcb-44ab-b855-2040171565a7",
                 url="https://shop.example/a?utm_source=news", path="/a", title="A",
                 referrer="https://www.google.com/", referrer_host="google.com",
                 utm_source="news", **common),
        enriched(event_id="e6f9bc1b-d723-49d4-8882-f1c1fdd4a414", kind="custom",
                 name="play", url="https://shop.example/", props={
                     "se_category": "video", "se_label": "intro", "se_property": "hd",
                     "se_value": "2.5"}, **common),
        enriched(event_id="f1274d2c-6e0e-4182-9da7-aef32f99671d", kind="custom",
                 name="Outbound Link: Click", url="https://shop.example/",
                 props={"url": "https://partner.example/x"}, **common),
        enriched(event_id="e4699766-754c-4b49-b8a2-bd0edc6ac56f", kind="engagement",
                 url=PAGE, path="/a", engagement_ms=0, **common)]
    assert world.sink.invalid == []


def test_a_batch_tracks_the_good_events_and_keeps_the_others(world, frozen):
    events = [
        {"e": "pv", "aid": "website", "url": PAGE, "page": "A", "dtm": RECEIVED - 3000,
         "stm": RECEIVED - 1000},                                   # numbers as their text
        {"e": "pv", "aid": "mobile-app", "url": PAGE, "duid": "d-1"},  # unknown app id
        {"e": "pv", "aid": "website", "url": "ftp://x/", "uid": "u-1"},  # schema violation
        {"e": "tr", "aid": "website", "tr_id": "o-1"},                  # unsupported
        {"e": "pv", "aid": "website", "url": PAGE, "ttm": RECEIVED - 4 * 86_400_000}]
    before = {r: refused_count(r) for r in ("unknown_site", "schema_violation",
                                            "unsupported_snowplow_event", "too_late")}
    result = _batch(world, events)
    assert (result.status_code, result.text) == (200, "ok")
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], url=PAGE, path="/a", title="A", created_at=RECEIVED - 3000,
        sent_at=RECEIVED - 1000, event_time=RECEIVED - 2000)]
    assert {r: refused_count(r) - n for r, n in before.items()} == {
        "unknown_site": 1, "schema_violation": 1, "unsupported_snowplow_event": 1,
        "too_late": 1}
    kept = world.sink.invalid
    assert [(r["reason"], r["status"], r["detail"]) for r in kept] == [
        ("unknown_site", 404, "no site has the Snowplow app id 'mobile-app'"),
        ("schema_violation", 400, "data[2].url: 'ftp://x/' does not match '^https?://'"),
        ("unsupported_snowplow_event", 400, "data[3]: ecommerce transactions (e=tr) are not "
         "collected: only page views, page pings, structured and self-describing events"),
        ("too_late", None, "buffered 345600000 ms before sending; the limit is 259200000 ms")]
    assert [json.loads(r["payload"]) for r in kept[:3]] == [
        {"e": "pv", "aid": "mobile-app", "url": PAGE, "duid": _hash("d-1", "")},
        {"e": "pv", "aid": "website", "url": "ftp://x/", "uid": _hash("u-1")},
        {"e": "tr", "aid": "website", "tr_id": "o-1"}]


def test_each_events_ua_is_its_visitors(world, frozen):
    events = [{"e": "pv", "aid": "website", "url": PAGE, "ua": agent}
              for agent in ("Googlebot/2.1 (+http://www.google.com/bot.html)", "", BROWSER)]
    assert _batch(world, events, **{"User-Agent": "curl/8.5.0"}).status_code == 200
    assert [(r["is_bot"], r["visitor_id"]) for r in world.sink.accepted] == [
        (True, visitor(agent="Googlebot/2.1 (+http://www.google.com/bot.html)")),
        (True, visitor(agent="curl/8.5.0")), (False, visitor())]


def test_a_foreign_origin_refuses_the_events_of_the_site(world):
    events = [{"e": "pv", "aid": "website", "url": PAGE}]
    result = _batch(world, events, Origin="https://evil.example")
    assert (result.status_code, result.headers["access-control-allow-origin"]) == (
        200, "https://evil.example")
    assert world.sink.accepted == []
    assert [r["reason"] for r in world.sink.invalid] == ["origin_not_allowed"]


HASHED = client_id_hash(KEY.encode(), "", "u-1")


@pytest.mark.parametrize(("body", "status", "reason", "payload"), [
    ('{"schema": "iglu:x", "data": [], "ip": "1.2.3.4"}', 400, "malformed_snowplow_payload",
     '{"schema": "iglu:x", "data": [], "ip":""}'),
    ("e=pv&aid=website&uid=u-1", 400, "malformed_snowplow_payload",
     f"e=pv&aid=website&uid={HASHED}"),
    ("[" * 40 + "]" * 40, 400, "too_deep", "[" * 40 + "]" * 40),
    (json.dumps({"schema": SCHEMA, "data": [{"e": "pv", "uid": "u-1"}] * 6}), 413,
     "too_many_events", json.dumps({"schema": SCHEMA, "data": [{"e": "pv", "uid": HASHED}] * 6}))])
def test_a_body_that_is_no_batch_is_refused_whole(world, body, status, reason, payload):
    before = refused_count(reason)
    result = _batch(world, body)
    assert (result.status_code, result.json["title"]) == (status, reason)
    assert refused_count(reason) == before + 1
    assert world.sink.accepted == []
    [kept] = world.sink.invalid
    assert (kept["reason"], kept["status"], kept["payload"]) == (reason, status, payload)
