"""Snowplow's tracker protocol, one event by GET at ``Config.snowplow_get_path`` (``/i``):
what its trackers send becomes exactly the enriched records the tracker's own events
become; an event that is refused is refused as on the other endpoints (a 4xx naming the
reason, counted, kept on the invalid-events topic with client ids hashed and no claimed
address); the answer is Snowplow's (a 1x1 GIF)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import pytest

from analytics.config import Config
from analytics.enrich.visitor_id import client_id_hash
from api.write.resources import PIXEL
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
APP_ID = "website"
EID = "5a305bf5-32fc-40d9-b0e8-66052f0f2c95"


@pytest.fixture
def world(frozen):
    world = make_write_world(Config(client_id_hash_key=KEY))
    world.sites.sites[SHOP.site_id] = replace(SHOP, snowplow_app_id=APP_ID)
    return world


def query(**params) -> str:
    return urlencode({"e": "pv", "aid": APP_ID, **params})


def _get(world, text: str, path: str | None = None, **headers):
    return world.client.simulate_get(path or world.config.snowplow_get_path,
                                     query_string=text, remote_addr=VISITOR_IP,
                                     headers={"User-Agent": BROWSER, **headers})


def _hash(value: str, site_id: str = SHOP.site_id) -> str:
    return client_id_hash(KEY.encode(), site_id, value)


def test_a_pageview_is_answered_with_the_gif(world, frozen):
    # as the browser tracker sends a GET (parameters it sends that are not used too)
    text = query(url="https://www.shop.example/pricing?utm_source=news&utm_medium=mail",
                 page="Preise & mehr", refr="https://www.google.com/", tv="js-3.24.0",
                 tna="sp", p="web", cookie="1", cs="UTF-8", lang="de-DE", res="1920x1080",
                 cd="24", tz="Europe/Berlin", dtm=str(RECEIVED - 3000), vp="1280x720",
                 ds="1280x4000", vid="2", sid="be9520e7-16a5-4d4e-afa1-8e269f99a1cf",
                 duid="85094061-f702-4b62-a46d-20f7226b4741", eid=EID,
                 stm=str(RECEIVED - 1000))
    result = _get(world, text, Origin="https://shop.example")
    assert (result.status_code, result.headers["content-type"]) == (200, "image/gif")
    assert (result.content, result.headers["cache-control"]) == (PIXEL, "no-store")
    assert result.headers["access-control-allow-origin"] == "https://shop.example"
    assert world.sink.accepted == [enriched(
        event_id=EID, url="https://www.shop.example/pricing?utm_source=news&utm_medium=mail",
        host="www.shop.example", path="/pricing", referrer="https://www.google.com/",
        referrer_host="google.com", title="Preise & mehr", screen_width=1920,
        screen_height=1080, language="de-DE", time_zone="Europe/Berlin", utm_source="news",
        utm_medium="mail", created_at=RECEIVED - 3000, sent_at=RECEIVED - 1000,
        event_time=RECEIVED - 2000)]  # held back 2 s by the tracker
    assert world.sink.invalid == []


def test_structured_self_describing_and_ping_events(world, frozen):
    page = "https://shop.example/watch"
    signup = ('{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/'
              '1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":'
              '{"plan":"pro","seats":3,"billing":{"yearly":true}}}}')
    for params in ({"e": "se", "se_ca": "video", "se_ac": "play", "se_la": "intro",
                    "se_va": "30.5"},
                   {"e": "ue", "ue_pr": signup},
                   {"e": "pp", "pp_miy": "0", "pp_may": "500"}):
        assert _get(world, query(url=page, **params)).status_code == 200
    common = {"url": page, "path": "/watch"}
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], kind="custom", name="play",
                 props={"se_category": "video", "se_label": "intro", "se_value": "30.5"},
                 **common),
        enriched(event_id=frozen[1], kind="custom", name="signup",
                 props={"plan": "pro", "seats": "3", "billing.yearly": "true"}, **common),
        enriched(event_id=frozen[2], kind="engagement", engagement_ms=0, **common)]


def test_an_event_without_a_page_is_on_the_sites_home_page(world, frozen):
    # what a server-side tracker sends: no url, and the visitor's user agent as ua
    text = urlencode({"e": "se", "aid": APP_ID, "se_ca": "api", "se_ac": "signup",
                      "ua": BROWSER, "uid": "user-42"})
    assert _get(world, text, **{"User-Agent": "python-requests/2.34.2"}).status_code == 200
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], kind="custom", name="signup", url="https://shop.example/",
        props={"se_category": "api"})]


def test_a_stated_time_counts_within_the_lateness_limit_only(world, frozen):
    texts = [query(url="https://shop.example/a", ttm=str(RECEIVED - 60_000),
                   dtm=str(RECEIVED + 5), stm=str(RECEIVED + 9)),
             query(url="https://shop.example/b", ttm=str(RECEIVED - 4 * 86_400_000))]
    assert [_get(world, text).status_code for text in texts] == [200, 200]
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], url="https://shop.example/a", path="/a",
        created_at=RECEIVED - 60_000, sent_at=RECEIVED, event_time=RECEIVED - 60_000)]
    assert [(r["reason"], r["source"]) for r in world.sink.invalid] == [
        ("too_late", "tracker")]


def test_the_user_id_is_the_client_id_of_sites_that_opted_in(world, frozen):
    text = query(url="https://shop.example/", uid="user-42", duid="cookie-1")
    _get(world, text)
    world.sites.sites[SHOP.site_id] = replace(SHOP, snowplow_app_id=APP_ID,
                                              client_id_opt_in=True)
    _get(world, text)
    _get(world, query(url="https://shop.example/", duid="cookie-1", ip="8.8.8.8"))
    first, second, third = world.sink.accepted
    assert (first["visitor_id"], first["id_source"]) == (visitor(), "cookieless")
    assert (second["visitor_id"], second["id_source"]) == (_hash("user-42"), "client")
    assert (third["visitor_id"], third["country"]) == (_hash("cookie-1"), "NL")


def test_ua_is_the_visitors_user_agent_and_a_bots_is_flagged(world, frozen):
    for agent in ("Googlebot/2.1 (+http://www.google.com/bot.html)", BROWSER):
        assert _get(world, query(url="https://shop.example/", ua=agent),
                    **{"User-Agent": "python-requests/2.34.2"}).status_code == 200
    bot, person = world.sink.accepted
    assert (bot["is_bot"], bot["visitor_id"]) == (
        True, visitor(agent="Googlebot/2.1 (+http://www.google.com/bot.html)"))
    assert person == enriched(event_id=frozen[1], url="https://shop.example/")


def test_first_party_paths_are_where_the_config_puts_them(frozen):
    world = make_write_world(Config(snowplow_get_path="/s/p.gif",
                                    snowplow_path="/s/track"))
    world.sites.sites[SHOP.site_id] = replace(SHOP, snowplow_app_id=APP_ID)
    text = query(url="https://shop.example/")
    assert [_get(world, text, path).status_code for path in ("/s/p.gif", "/i")] == [200, 404]
    assert [world.client.simulate_post(p, body="{}").status_code
            for p in ("/s/track", "/com.snowplowanalytics.snowplow/tp2")] == [400, 404]


@pytest.mark.parametrize(("text", "status", "reason", "detail"), [
    ("", 400, "malformed_snowplow_payload", "aid is required: the app id the site was given"),
    ("aid=website&url=https://shop.example/", 400, "malformed_snowplow_payload",
     "e is required: the event type, pv, pp, se or ue"),
    ("e=pv&aid=website", 400, "malformed_snowplow_payload",
     "url is required of a page view (e=pv) and a page ping (e=pp)"),
    ("e=tr&aid=website&tr_id=1&tr_tt=5", 400, "unsupported_snowplow_event",
     "ecommerce transactions (e=tr) are not collected"),
    ("e=se&aid=website&se_ac=play", 400, "malformed_snowplow_payload",
     "a structured event (e=se) needs se_ca (its category) and se_ac (its action)"),
    ("e=ue&aid=website&ue_px=e30", 400, "malformed_snowplow_payload",
     'ue_px must be {"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/'),
    ("e=pv&aid=website&url=https://shop.example/&dtm=yesterday", 400,
     "malformed_snowplow_payload", "dtm must be epoch milliseconds, like 1796000000000"),
    ("e=pv&aid=website&url=ftp://shop.example/", 400, "schema_violation",
     "events[0].url: 'ftp://shop.example/' does not match '^https?://'"),
    ("e=pv&aid=website&url=https://shop.example/&eid=42", 400, "schema_violation",
     "events[0].event_id: '42'"),
    ("e=se&aid=website&se_ca=c&se_ac=" + "x" * 121, 400, "schema_violation",
     "events[0].name: 'xxxx"),
    ("e=pv&aid=mobile-app&url=https://shop.example/", 404, "unknown_site",
     "no site has the Snowplow app id 'mobile-app'"),
])
def test_refusals_name_their_reason_and_keep_the_request(world, text, status, reason,
                                                         detail):
    before = refused_count(reason)
    result = _get(world, text)
    assert (result.status_code, result.json["title"]) == (status, reason)
    assert result.json["description"][:len(detail)] == detail
    assert refused_count(reason) == before + 1
    assert world.sink.accepted == []
    [kept] = world.sink.invalid
    assert (kept["reason"], kept["status"], kept["source"], kept["payload"]) == (
        reason, status, "tracker", text)


def test_a_refused_request_is_kept_with_ids_hashed_and_no_address(world):
    text = "e=xx&aid=website&duid=d-1&uid=user%2042&ip=8.8.8.8&url=x"
    assert _get(world, text).json["title"] == "malformed_snowplow_payload"
    violation = "e=pv&aid=website&url=ftp://x/&nuid=n-1"
    assert _get(world, violation).json["title"] == "schema_violation"
    first, second = (kept["payload"] for kept in world.sink.invalid)
    assert first == (f"e=xx&aid=website&duid={_hash('d-1', '')}&uid={_hash('user 42', '')}"
                     "&ip=&url=x")
    assert second == f"e=pv&aid=website&url=ftp://x/&nuid={_hash('n-1')}"


def test_an_app_id_of_two_sites_is_ambiguous_and_a_foreign_origin_refused(world):
    world.sites.sites["blog"] = replace(world.sites.sites[SHOP.site_id], site_id="blog",
                                        domain="blog.example")
    text = query(url="https://shop.example/")
    assert _get(world, text).json["title"] == "ambiguous_site"
    other = make_write_world(Config(client_id_hash_key=KEY))
    other.sites.sites[SHOP.site_id] = replace(SHOP, snowplow_app_id=APP_ID)
    result = _get(other, text, Origin="https://evil.example")
    assert (result.status_code, result.json["title"]) == (403, "origin_not_allowed")
    assert _get(other, query(url="https://shop.example/", aid="Website")).json["title"] == (
        "unknown_site")  # app ids are compared as sent, case included


@pytest.mark.parametrize("path", ["/i", "/com.snowplowanalytics.snowplow/tp2"])
def test_the_preflight_allows_the_asked_headers(world, path):
    result = world.client.simulate_options(path, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert result.status_code == 204
    assert (result.headers["access-control-allow-origin"],
            result.headers["access-control-allow-headers"]) == (
        "https://shop.example", "content-type")
    plain = world.client.simulate_options(path, headers={"Origin": "https://shop.example"})
    assert plain.headers["access-control-allow-headers"] == "Content-Type, SP-Anonymous"
    assert "access-control-allow-credentials" not in plain.headers
