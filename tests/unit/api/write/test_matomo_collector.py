"""Matomo's Tracking HTTP API at ``Config.matomo_path`` (and ``piwik.php`` beside it): what
``matomo.js`` and ``matomo-tracker`` send, by GET or POST, becomes exactly the enriched
records the tracker's own events become; a request that is refused is refused as on the
other endpoints (a 4xx naming the reason, counted, kept on the invalid-events topic with
client ids hashed and ``token_auth`` emptied); the answer is Matomo's (its GIF, or 204)."""

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

KEY = "matomo-test-key"
IDSITE = 7
FORM = "application/x-www-form-urlencoded; charset=UTF-8"  # matomo.js's POST


@pytest.fixture
def world(frozen):
    world = make_write_world(Config(client_id_hash_key=KEY))
    world.sites.sites[SHOP.site_id] = replace(SHOP, matomo_idsite=IDSITE)
    return world


def query(**params) -> str:
    return urlencode({"idsite": IDSITE, "rec": 1, **params})


def _get(world, text: str, path: str | None = None, **headers):
    return world.client.simulate_get(path or world.config.matomo_path, query_string=text,
                                     remote_addr=VISITOR_IP,
                                     headers={"User-Agent": BROWSER, **headers})


def _post(world, body: str, path: str | None = None, **headers):
    return world.client.simulate_post(path or world.config.matomo_path, body=body,
                                      remote_addr=VISITOR_IP, headers={
                                          "User-Agent": BROWSER, "Content-Type": FORM,
                                          **headers})


def _hash(value: str, site_id: str = SHOP.site_id) -> str:
    return client_id_hash(KEY.encode(), site_id, value)


def test_a_pageview_of_matomo_js_is_answered_with_the_gif(world, frozen):
    # as matomo.js 5 sends an image request (parameters it sends that are not used too)
    text = query(action_name="Preise & mehr", r="581942", h=9, m=15, s=2,
                 url="https://www.shop.example/pricing?utm_source=news&utm_medium=mail",
                 urlref="https://www.google.com/", _id="3a1f0c2d4e5b6a79", _idn=0,
                 send_image=1, _refts=0, pv_id="Xy12Ab", cookie=1, res="1920x1080",
                 pf_net=12, pf_srv=80, uadata="{}", lang="de-DE,de;q=0.9")
    result = _get(world, text, Origin="https://shop.example")
    assert (result.status_code, result.headers["content-type"]) == (200, "image/gif")
    assert result.content == PIXEL
    assert result.headers["cache-control"] == "no-store"
    assert result.headers["access-control-allow-origin"] == "https://shop.example"
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], url="https://www.shop.example/pricing?utm_source=news&utm_medium=mail",
        host="www.shop.example", path="/pricing", referrer="https://www.google.com/",
        referrer_host="google.com", title="Preise & mehr", screen_width=1920,
        screen_height=1080, language="de-DE", utm_source="news", utm_medium="mail")]
    assert world.sink.invalid == []


def test_a_post_with_send_image_0_is_answered_204_on_both_paths(world, frozen):
    body = query(url="https://shop.example/a", send_image=0)
    for path in ("/matomo/matomo.php", "/matomo/piwik.php"):
        result = _post(world, body, path, Origin="https://shop.example")
        assert (result.status_code, result.content) == (204, b"")
        assert result.headers["access-control-allow-origin"] == "https://shop.example"
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], url="https://shop.example/a", path="/a"),
        enriched(event_id=frozen[1], url="https://shop.example/a", path="/a")]


def test_the_url_parameters_win_over_the_form_body(world, frozen):
    result = world.client.simulate_post(
        world.config.matomo_path, query_string="action_name=From%20URL&send_image=0",
        body=query(url="https://shop.example/a", action_name="From body"),
        remote_addr=VISITOR_IP, headers={"User-Agent": BROWSER, "Content-Type": FORM})
    assert result.status_code == 204
    assert world.sink.accepted[0]["title"] == "From URL"


def test_an_event_with_its_dimensions_and_custom_variables(world, frozen):
    text = query(e_c="Videos", e_a="Play", e_n="Intro video", e_v="30.5",
                 url="https://shop.example/watch?mtm_campaign=winter&pk_kwd=boots",
                 dimension1="pro", dimension12="", _cvar='{"1":["Member type","gold"]}',
                 cvar='{"2":["page kind",""]}')
    assert _get(world, text).status_code == 200
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], kind="custom", name="Videos",
        url="https://shop.example/watch?mtm_campaign=winter&pk_kwd=boots", path="/watch",
        utm_campaign="winter", utm_term="boots",
        props={"Member_type": "gold", "dimension1": "pro", "event_action": "Play",
               "event_name": "Intro video", "event_value": "30.5"})]


def test_outlinks_downloads_and_site_searches_are_custom_events(world, frozen):
    page = "https://shop.example/docs"
    for params in ({"link": "https://partner.example/x"},
                   {"download": "https://shop.example/manual.pdf"},
                   {"search": "boots", "search_cat": "shoes", "search_count": "4"}):
        assert _get(world, query(url=page, **params)).status_code == 200
    common = {"kind": "custom", "url": page, "path": "/docs"}
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], name="Outbound Link: Click",
                 props={"url": "https://partner.example/x"}, **common),
        enriched(event_id=frozen[1], name="File Download",
                 props={"url": "https://shop.example/manual.pdf"}, **common),
        enriched(event_id=frozen[2], name="Site Search",
                 props={"search_keyword": "boots", "search_category": "shoes",
                        "search_count": "4"}, **common)]


def test_a_heartbeat_ping_is_an_engagement_without_props(world, frozen):
    assert _get(world, query(ping=1, url="https://shop.example/a", dimension1="pro")
                ).status_code == 200
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], kind="engagement", url="https://shop.example/a", path="/a",
        engagement_ms=0)]


def test_a_stated_time_counts_within_the_lateness_limit_only(world, frozen):
    texts = [query(url="https://shop.example/a", cdt=str(RECEIVED // 1000 - 60)),
             query(url="https://shop.example/b", cdt="2026-11-30 00:52:20"),
             query(url="https://shop.example/c", cdt=str(RECEIVED // 1000 - 4 * 86400))]
    assert [_get(world, text).status_code for text in texts] == [200, 200, 200]
    stated = {"created_at": RECEIVED - 60_000, "sent_at": RECEIVED,
              "event_time": RECEIVED - 60_000}
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], url="https://shop.example/a", path="/a", **stated),
        enriched(event_id=frozen[1], url="https://shop.example/b", path="/b", **stated)]
    assert [(r["reason"], r["source"]) for r in world.sink.invalid] == [
        ("too_late", "tracker")]


def test_the_user_id_is_the_client_id_of_sites_that_opted_in(world, frozen):
    text = query(url="https://shop.example/", uid="user-42", _id="3a1f0c2d4e5b6a79")
    _get(world, text)
    world.sites.sites[SHOP.site_id] = replace(SHOP, matomo_idsite=IDSITE,
                                              client_id_opt_in=True)
    _get(world, text)
    _get(world, query(url="https://shop.example/", _id="3a1f0c2d4e5b6a79"))
    first, second, third = world.sink.accepted
    assert (first["visitor_id"], first["id_source"]) == (visitor(), "cookieless")
    assert (second["visitor_id"], second["id_source"]) == (_hash("user-42"), "client")
    assert third["visitor_id"] == _hash("3a1f0c2d4e5b6a79")


def test_a_claimed_address_is_not_used(world, frozen):
    text = query(url="https://shop.example/", cip="8.8.8.8", token_auth="secret")
    assert _get(world, text).status_code == 200
    assert world.sink.accepted == [enriched(event_id=frozen[0], url="https://shop.example/")]


def test_ua_is_the_visitors_user_agent_as_in_matomo(world, frozen):
    """A server-side tracker sends the visitor's user agent as ``ua``: it is used instead
    of the request's (for the visitor id and the bot rules), whatever ``token_auth`` says;
    a bot's is flagged either way."""
    for agent in ("Googlebot/2.1 (+http://www.google.com/bot.html)", BROWSER):
        assert _get(world, query(url="https://shop.example/", ua=agent),
                    **{"User-Agent": "matomo-php-tracker"}).status_code == 200
    bot, person = world.sink.accepted
    assert (bot["is_bot"], bot["visitor_id"]) == (
        True, visitor(agent="Googlebot/2.1 (+http://www.google.com/bot.html)"))
    assert person == enriched(event_id=frozen[1], url="https://shop.example/")


def test_first_party_paths_are_where_the_config_puts_them(frozen):
    world = make_write_world(Config(matomo_path="/s/t/matomo.php"))
    world.sites.sites[SHOP.site_id] = replace(SHOP, matomo_idsite=IDSITE)
    text = query(url="https://shop.example/")
    assert [_get(world, text, path).status_code for path in (
        "/s/t/matomo.php", "/s/t/piwik.php", "/matomo/matomo.php")] == [200, 200, 404]
    other = make_write_world(Config(matomo_path="/s/track"))
    assert [other.client.simulate_get(p).status_code for p in ("/s/track", "/s/piwik.php")
            ] == [400, 404]


@pytest.mark.parametrize(("text", "status", "reason", "detail"), [
    ("", 400, "malformed_matomo_request", "rec=1 is required"),
    ("idsite=7&rec=0&url=https://shop.example/", 400, "malformed_matomo_request",
     "rec=1 is required"),
    ("rec=1&url=https://shop.example/", 400, "malformed_matomo_request",
     "idsite is required: the site's Matomo id, a whole number from 1 to 2147483647"),
    ("idsite=abc&rec=1", 400, "malformed_matomo_request", "idsite is required"),
    ("idsite=0&rec=1", 400, "malformed_matomo_request", "idsite is required"),
    ("idsite=7&rec=1", 400, "malformed_matomo_request",
     "url is required: the full URL of the page"),
    ("idsite=7&rec=1&url=https://shop.example/&e_a=Play", 400, "malformed_matomo_request",
     "an event needs both e_c (its category) and e_a (its action)"),
    ("idsite=7&rec=1&url=https://shop.example/&e_c=V&e_a=P&e_v=lots", 400,
     "malformed_matomo_request", "e_v must be a number, like 4 or 2.5"),
    ("idsite=7&rec=1&url=https://shop.example/&cdt=yesterday", 400,
     "malformed_matomo_request", "cdt must be Unix seconds or a UTC date-time"),
    ("idsite=7&rec=1&url=https://shop.example/&_cvar=[1]", 400, "malformed_matomo_request",
     '_cvar must be a JSON object like {"1": ["name", "value"]}'),
    ("idsite=7&rec=1&url=https://shop.example/&idgoal=1&revenue=5", 400,
     "unsupported_matomo_request", "goal conversions (idgoal) are not collected"),
    ("idsite=7&rec=1&url=https://shop.example/&c_n=Banner", 400,
     "unsupported_matomo_request", "content tracking (c_n) are not collected"),
    ("idsite=7&rec=1&url=ftp://shop.example/", 400, "schema_violation",
     "events[0].url: 'ftp://shop.example/' does not match '^https?://'"),
    ("idsite=7&rec=1&url=https://shop.example/&e_c=" + "x" * 121 + "&e_a=P", 400,
     "schema_violation", "events[0].name: 'xxxx"),
    ("idsite=99&rec=1&url=https://shop.example/", 404, "unknown_site",
     "no site has the Matomo idsite '99'"),
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


def test_a_refused_request_is_kept_with_ids_hashed_and_no_token(world):
    text = "idsite=7&_id=3a1f0c2d4e5b6a79&uid=user%2042&token_auth=s3cret&url=x"
    assert _get(world, text).json["title"] == "malformed_matomo_request"
    violation = "idsite=7&rec=1&url=ftp://x/&cid=c-1"
    assert _get(world, violation).json["title"] == "schema_violation"
    first, second = (kept["payload"] for kept in world.sink.invalid)
    assert first == (f"idsite=7&_id={_hash('3a1f0c2d4e5b6a79', '')}"
                     f"&uid={_hash('user 42', '')}&token_auth=&url=x")
    assert second == f"idsite=7&rec=1&url=ftp://x/&cid={_hash('c-1')}"


def test_an_idsite_of_two_sites_is_ambiguous_and_a_foreign_origin_refused(world):
    world.sites.sites["blog"] = replace(world.sites.sites[SHOP.site_id], site_id="blog",
                                        domain="blog.example")
    text = query(url="https://shop.example/")
    assert _get(world, text).json["title"] == "ambiguous_site"
    del world.sites.sites["blog"]
    other = make_write_world(Config(client_id_hash_key=KEY))
    other.sites.sites[SHOP.site_id] = replace(SHOP, matomo_idsite=IDSITE)
    result = _get(other, text, Origin="https://evil.example")
    assert (result.status_code, result.json["title"]) == (403, "origin_not_allowed")


def test_the_preflight_allows_the_asked_headers(world):
    result = world.client.simulate_options(world.config.matomo_path, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Headers": "content-type"})
    assert result.status_code == 204
    assert (result.headers["access-control-allow-origin"],
            result.headers["access-control-allow-headers"]) == (
        "https://shop.example", "content-type")


RECORDED_TRACKER = [  # what matomo-tracker 2.2.4 (Node 20) sent to a recording server, verbatim
    "url=https%3A%2F%2Fmatomo.test%2Fmatomo%2Frun123%3Futm_source%3Dserver&action_name=From"
    "%20Matomo&urlref=https%3A%2F%2Freferrer.example%2F&res=1280x720&idsite=7&rec=1",
    "url=https%3A%2F%2Fmatomo.test%2Fmatomo%2Frun123&e_c=Videos&e_a=Play&e_n=run123&e_v=3"
    "&idsite=7&rec=1"]


def test_requests_recorded_from_matomo_tracker(world, frozen):
    # it sends no User-Agent (and these no ua): such events are flagged as bots
    answers = [world.client.simulate_get(world.config.matomo_path, query_string=text,
                                         remote_addr=VISITOR_IP, headers={"User-Agent": ""})
               for text in RECORDED_TRACKER]
    assert [(a.status_code, a.headers["content-type"]) for a in answers] == [
        (200, "image/gif"), (200, "image/gif")]
    server = {"host": "matomo.test", "visitor_id": visitor(agent=""), "browser": None,
              "browser_version": None, "os": None, "device_type": None, "is_bot": True}
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], url="https://matomo.test/matomo/run123?utm_source=server",
                 path="/matomo/run123", title="From Matomo",
                 referrer="https://referrer.example/", referrer_host="referrer.example",
                 screen_width=1280, screen_height=720, utm_source="server", **server),
        enriched(event_id=frozen[1], kind="custom", name="Videos",
                 url="https://matomo.test/matomo/run123", path="/matomo/run123",
                 props={"event_action": "Play", "event_name": "run123", "event_value": "3"},
                 **server)]
