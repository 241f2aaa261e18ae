"""Umami's ``/api/send`` at ``Config.umami_path``: what its script and ``@umami/node``
send becomes exactly the enriched records the tracker's own events become; refusals are
the other endpoints' (a 4xx naming the reason, counted, kept on the invalid-events topic,
with Umami's distinct id hashed there), and the answer is one Umami's clients read."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from analytics.config import Config
from analytics.enrich.visitor_id import client_id_hash
from api.write.collectors.umami import UmamiError, flatten, kept_body, to_event
from tests.unit.api.write.conftest import (
    RECEIVED,
    SHOP,
    UMAMI_WEBSITE_ID,
    VISITOR_IP,
    enriched,
    make_write_world,
    refused_count,
    visitor,
)

NODE_AGENT = "Mozilla/5.0 Umami/v20.18.0"  # what @umami/node 0.4 sends by default
KEY = "umami-test-key"


@pytest.fixture
def world(frozen):
    return make_write_world(Config(client_id_hash_key=KEY))


def _send(world, body, **headers):
    text = body if isinstance(body, str | bytes) else json.dumps(body)
    return world.umami(text, remote_addr=VISITOR_IP, headers=headers)


def _event(**payload) -> dict:
    return {"type": "event", "payload": {"website": UMAMI_WEBSITE_ID, **payload}}


def test_a_pageview_of_the_newer_script(world, frozen):
    body = _event(hostname="shop.example", language="de-DE", screen="1920x1080",
                  title="Preise & mehr", referrer="https://www.google.com/",
                  url="https://shop.example/pricing?utm_source=news&utm_medium=mail")
    result = _send(world, body, Origin="https://shop.example",
                   **{"X-Umami-Website-Id": UMAMI_WEBSITE_ID})
    assert (result.status_code, result.json) == (
        200, {"cache": "", "accepted": 1, "refused": [], "spooled": 0})
    assert result.headers["access-control-allow-origin"] == "https://shop.example"
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], url="https://shop.example/pricing?utm_source=news&utm_medium=mail",
        path="/pricing", referrer="https://www.google.com/", referrer_host="google.com",
        title="Preise & mehr", language="de-DE", screen_width=1920, screen_height=1080,
        utm_source="news", utm_medium="mail")]
    assert world.sink.invalid == []


def test_an_older_script_sends_a_path_an_encoded_title_and_a_path_referrer(world, frozen):
    body = _event(hostname="www.shop.example", url="/blog/post-1?utm_campaign=w48",
                  title="Post%20one", referrer="/blog", screen="390x844")
    assert _send(world, body).status_code == 200
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], url="https://www.shop.example/blog/post-1?utm_campaign=w48",
        host="www.shop.example", path="/blog/post-1", title="Post one",
        referrer="https://www.shop.example/blog", screen_width=390, screen_height=844,
        utm_campaign="w48")]


def test_a_custom_event_of_umami_node(world, frozen):
    # umami.track("signup", {plan: "pro", seats: 3, meta: {source: "ad"}})
    body = _event(name="signup", data={"plan": "pro", "seats": 3, "trial": False,
                                       "meta": {"source": "ad", "none": None}})
    result = world.umami(json.dumps(body), remote_addr=VISITOR_IP,
                         headers={"User-Agent": NODE_AGENT})
    assert result.status_code == 200
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], kind="custom", name="signup", url="https://shop.example/",
        props={"plan": "pro", "seats": "3", "trial": "false", "meta.source": "ad"},
        visitor_id=visitor(agent=NODE_AGENT), browser=None, browser_version=None,
        os=None, device_type="other")]


RECORDED_NODE = [  # what @umami/node 0.4.0 (Node 20) sent to a recording server, verbatim
    '{"type":"event","payload":{"website":"3f2c5a8e-4b7d-4c1e-9a0f-6d8e2b1c7a45",'
    '"url":"/node/run123?utm_source=server","hostname":"compat.test","title":"From Node",'
    '"referrer":"https://referrer.example/"}}',
    '{"type":"event","payload":{"website":"3f2c5a8e-4b7d-4c1e-9a0f-6d8e2b1c7a45",'
    '"name":"signup","data":{"plan":"pro","seats":3,"run":"run123"}}}']


def test_bodies_recorded_from_umami_node(world, frozen):
    agent = "Mozilla/5.0 Umami/v20.20.2"
    answers = [world.umami(body, remote_addr=VISITOR_IP, headers={"User-Agent": agent})
               for body in RECORDED_NODE]
    assert [(a.status_code, a.json["cache"], a.json["accepted"]) for a in answers] == [
        (200, "", 1), (200, "", 1)]
    server = {"visitor_id": visitor(agent=agent), "browser": None, "browser_version": None,
              "os": None, "device_type": "other"}
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], url="https://compat.test/node/run123?utm_source=server",
                 host="compat.test", path="/node/run123", title="From Node",
                 referrer="https://referrer.example/", referrer_host="referrer.example",
                 utm_source="server", **server),
        enriched(event_id=frozen[1], kind="custom", name="signup", url="https://shop.example/",
                 props={"plan": "pro", "seats": "3", "run": "run123"}, **server)]


def test_an_engagement_and_a_stated_time(world, frozen):
    pings = [{"type": "engagement", "payload": {"website": UMAMI_WEBSITE_ID,
                                                "url": "/a", "engagement": 15000}},
             _event(url="/b", timestamp=str(RECEIVED // 1000 - 60))]
    assert [_send(world, ping).status_code for ping in pings] == [200, 200]
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], kind="engagement", url="https://shop.example/a",
                 path="/a", engagement_ms=15000),
        enriched(event_id=frozen[1], url="https://shop.example/b", path="/b",
                 created_at=RECEIVED - 60_000, sent_at=RECEIVED,
                 event_time=RECEIVED - 60_000)]


def test_an_event_too_old_is_refused_by_the_enrichment(world):
    body = _event(url="/old", timestamp=RECEIVED // 1000 - 4 * 86400)
    result = _send(world, body)
    assert result.status_code == 200
    assert result.json["accepted"] == 0
    assert [r["reason"] for r in result.json["refused"]] == ["too_late"]
    assert [r["reason"] for r in world.sink.invalid] == ["too_late"]


def test_the_distinct_id_is_the_client_id_of_sites_that_opted_in(world, frozen):
    body = _event(url="/", id="user-42")
    _send(world, body)
    world.sites.sites[SHOP.site_id] = replace(SHOP, client_id_opt_in=True)
    _send(world, body)
    first, second = world.sink.accepted
    assert (first["visitor_id"], first["id_source"]) == (visitor(), "cookieless")
    assert (second["visitor_id"], second["id_source"]) == (
        client_id_hash(KEY.encode(), SHOP.site_id, "user-42"), "client")


def test_the_website_id_is_found_in_any_case(world):
    assert _send(world, _event(url="/")).status_code == 200
    upper = {"type": "event", "payload": {"website": UMAMI_WEBSITE_ID.upper(), "url": "/"}}
    assert _send(world, upper).status_code == 200
    assert len(world.sink.accepted) == 2


@pytest.mark.parametrize(("body", "status", "reason", "detail"), [
    ("{", 400, "malformed_umami_payload", "body is not valid JSON"),
    ('{"type":"event"}', 400, "malformed_umami_payload", 'body must be {"type": ...'),
    ('{"type":"pixel","payload":{}}', 400, "malformed_umami_payload",
     "type must be one of event, engagement"),
    ('{"type":"performance","payload":{"website":"' + UMAMI_WEBSITE_ID + '","lcp":1}}', 400,
     "unsupported_umami_type", "type 'performance' is not collected"),
    ('{"type":"event","payload":{"website":"not-a-uuid"}}', 400, "malformed_umami_payload",
     "payload.website is required: the website id (a UUID)"),
    ('{"type":"event","payload":{"website":"' + UMAMI_WEBSITE_ID + '","url":7}}', 400,
     "malformed_umami_payload", "payload.url must be a string"),
    ('{"type":"event","payload":{"website":"' + UMAMI_WEBSITE_ID + '","hostname":"a/b"}}',
     400, "malformed_umami_payload", "payload.hostname 'a/b' is not a host name"),
    ('{"type":"event","payload":{"website":"' + UMAMI_WEBSITE_ID + '","data":[1]}}', 400,
     "malformed_umami_payload", "payload.data must be an object"),
    ('{"type":"event","payload":{"website":"' + UMAMI_WEBSITE_ID + '","timestamp":-5}}',
     400, "malformed_umami_payload", "payload.timestamp must be Unix seconds"),
    ('{"type":"engagement","payload":{"website":"' + UMAMI_WEBSITE_ID + '"}}', 400,
     "malformed_umami_payload", "payload.engagement must be the engaged time in ms"),
    ('{"type":"event","payload":{"website":"' + UMAMI_WEBSITE_ID + '","url":"ftp://x/"}}',
     400, "schema_violation", "events[0].url: 'ftp://x/' does not match '^https?://'"),
    ('{"type":"event","payload":{"website":"' + UMAMI_WEBSITE_ID + '","name":"x",'
     '"data":{"a":"' + "y" * 513 + '"}}}', 400, "schema_violation",
     "events[0].props/a: 'yyyy"),
    ('{"type":"event","payload":{"website":"00000000-0000-4000-8000-000000000000"}}', 404,
     "unknown_site", "no site has the Umami website id '00000000-0000-4000-8000-"),
])
def test_refusals_name_their_reason_and_keep_the_body(world, body, status, reason, detail):
    before = refused_count(reason)
    result = _send(world, body)
    assert (result.status_code, result.json["title"]) == (status, reason)
    assert result.json["description"][:len(detail)] == detail
    assert refused_count(reason) == before + 1
    assert world.sink.accepted == []
    [kept] = world.sink.invalid
    assert (kept["reason"], kept["status"], kept["source"], kept["payload"]) == (
        reason, status, "tracker", body)


def test_identify_is_refused_with_the_distinct_id_hashed(world):
    body = json.dumps({"type": "identify", "payload": {
        "website": UMAMI_WEBSITE_ID, "id": "user-42", "data": {"plan": "pro"}}})
    result = _send(world, body)
    assert (result.status_code, result.json["title"]) == (400, "unsupported_umami_type")
    [kept] = world.sink.invalid
    assert json.loads(kept["payload"]) == {"type": "identify", "payload": {
        "website": UMAMI_WEBSITE_ID, "data": {"plan": "pro"},
        "id": client_id_hash(KEY.encode(), "", "user-42")}}
    assert "user-42" not in json.dumps(kept)


def test_a_schema_violation_keeps_the_distinct_id_hashed_for_the_site(world):
    body = json.dumps(_event(url="ftp://x/", id="user-42"))
    assert _send(world, body).json["title"] == "schema_violation"
    [kept] = world.sink.invalid
    assert json.loads(kept["payload"])["payload"]["id"] == client_id_hash(
        KEY.encode(), SHOP.site_id, "user-42")


def test_a_body_that_does_not_parse_keeps_the_distinct_id_hashed():
    assert kept_body(b'{"payload":{"id":"user-42","url":', b"k", "") == (
        '{"payload":{"id":"' + client_id_hash(b"k", "", "user-42") + '","url":')


def test_answers_are_ascii_for_older_scripts_that_send_them_back_as_a_header(world):
    body = json.dumps(_event(url="/", referrer="https://bäst.semalt.com/")).encode()
    result = _send(world, body)  # referrer spam: its detail names the (non-ASCII) host
    assert result.status_code == 200 and result.text.isascii()
    assert result.json["refused"] == [{"index": 0, "reason": "referrer_spam",
                                       "detail": "bäst.semalt.com"}]
    refusal = _send(world, '{"type":"event","payload":{"website":"ü"}}')
    assert refusal.status_code == 400 and refusal.text.isascii()
    assert json.loads(refusal.text)["title"] == "malformed_umami_payload"


def test_the_preflight_allows_umamis_headers(world):
    asked = "content-type,x-umami-cache,x-umami-website-id,x-umami-hostname"
    result = world.client.simulate_options(world.config.umami_path, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Headers": asked})
    assert result.status_code == 204
    assert (result.headers["access-control-allow-origin"],
            result.headers["access-control-allow-headers"]) == ("https://shop.example", asked)
    odd = world.client.simulate_options(world.config.umami_path, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Headers": "a b\x7f"})
    assert odd.headers["access-control-allow-headers"] == (
        "Content-Type, X-Umami-Cache, X-Umami-Website-Id, X-Umami-Hostname")


def test_the_mapping_itself():
    event = to_event(_event(name="", data={"a": 1}), RECEIVED)
    assert (event.website_id, event.url, event.fields) == (
        UMAMI_WEBSITE_ID, None, {"kind": "pageview", "props": {"a": 1}})
    assert flatten({"a": {"b": {"c": 1}, "d": None}, "e": [1]}) == {"a.b.c": 1, "e": [1]}
    with pytest.raises(UmamiError, match="payload.name must be a string"):
        to_event(_event(name=5), RECEIVED)
