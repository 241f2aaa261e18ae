"""Plausible's Events API at ``Config.plausible_path``: what its script, its npm package
and server-side callers send becomes exactly the enriched records the tracker's own events
become, and whatever is refused is refused as on the other endpoints (a 4xx naming the
reason, counted, kept on the invalid-events topic)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from falcon import testing

from analytics.config import Config
from analytics.enrich import StaticSaltProvider
from analytics.sites import Site
from api.write.app import create_app
from api.write.collectors.plausible import PlausibleError, to_event
from tests.unit.api.write.conftest import (
    BROWSER,
    SHOP,
    VISITOR_IP,
    enriched,
    make_write_world,
    refused_count,
    visitor,
)
from tests.unit.api.write.fakes import MemorySites, RecordingSink

BLOG = Site(site_id="blog", domain="blog.example",
            allowed_origins=frozenset({"https://shop.example"}))
ORIGIN = {"Origin": "https://shop.example"}


@pytest.fixture
def world(frozen):
    world = make_write_world()
    world.sites.sites[BLOG.site_id] = BLOG
    return world


def _send(world, body, **headers):
    text = body if isinstance(body, str | bytes) else json.dumps(body)
    return world.plausible(text, remote_addr=VISITOR_IP, headers=headers)


def test_the_scripts_pageview_is_a_pageview(world, frozen):
    # shaped as @plausible-analytics/tracker 0.4.6 builds it (n, v, u, d, r, p; h with
    # hash-based routing; the script's `w` of older versions)
    body = {"n": "pageview", "v": 36, "h": 1, "i": True, "w": 1280,
            "u": "https://www.shop.example/pricing?utm_source=news&utm_campaign=w48#faq",
            "d": "shop.example", "r": "https://www.google.com/search?q=x",
            "p": {"plan": "pro", "seats": 3, "trial": True, "empty": " ", "none": None}}
    result = _send(world, body, **ORIGIN)
    assert (result.status_code, result.text) == (202, "ok")
    assert result.headers["content-type"] == "text/plain; charset=utf-8"
    assert result.headers["access-control-allow-origin"] == "https://shop.example"
    assert "x-plausible-dropped" not in result.headers
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], url=body["u"], host="www.shop.example", path="/pricing",
        referrer="https://www.google.com/search?q=x", referrer_host="google.com",
        screen_width=1280, utm_source="news", utm_campaign="w48",
        props={"plan": "pro", "seats": "3", "trial": "true"})]
    assert world.sink.invalid == []


def test_a_custom_event_with_legacy_meta_and_revenue(world, frozen):
    body = {"name": "Purchase", "url": "https://shop.example/checkout",
            "domain": "shop.example", "meta": json.dumps({"plan": "pro", "seats": 3}),
            "revenue": {"amount": "49.90", "currency": "EUR"}}
    assert _send(world, body).status_code == 202
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], kind="custom", name="Purchase", url=body["url"],
        path="/checkout", props={"plan": "pro", "seats": "3", "revenue_amount": "49.90",
                                 "revenue_currency": "EUR"})]


def test_an_integer_name_is_a_custom_event_and_revenue_may_be_a_json_string(world, frozen):
    body = {"n": 404, "u": "https://shop.example/gone", "d": "shop.example",
            "$": json.dumps({"amount": 12.5, "currency": "USD"})}
    assert _send(world, body).status_code == 202
    assert world.sink.accepted == [enriched(
        event_id=frozen[0], kind="custom", name="404", url=body["u"], path="/gone",
        props={"revenue_amount": "12.5", "revenue_currency": "USD"})]


def test_an_engagement_keeps_its_time_and_scroll_depth(world, frozen):
    pings = [{"n": "engagement", "sd": 75, "d": "shop.example",  # as the script sends it
              "u": "https://shop.example/a", "p": {"plan": "pro"}, "e": 4200, "v": 36},
             {"n": "engagement", "u": "https://shop.example/a", "d": "shop.example",
              "e": "90000000", "sd": 130},  # a string; over a day; over 100 %
             {"n": "engagement", "u": "https://shop.example/a", "d": "shop.example",
              "sd": "40"}]
    assert [_send(world, ping).status_code for ping in pings] == [202, 202, 202]
    common = {"kind": "engagement", "url": "https://shop.example/a", "path": "/a"}
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], engagement_ms=4200, props={"scroll_depth": "75"},
                 **common),
        enriched(event_id=frozen[1], engagement_ms=86_400_000,
                 props={"scroll_depth": "100"}, **common),
        enriched(event_id=frozen[2], engagement_ms=0, props={"scroll_depth": "40"},
                 **common)]


def test_without_a_domain_the_page_host_names_the_site(world, frozen):
    assert _send(world, {"n": "pageview", "u": "https://WWW.Shop.Example/x"}).status_code \
        == 202
    [record] = world.sink.accepted
    assert (record["site_id"], record["host"], record["path"]) == (
        "shop.example", "www.shop.example", "/x")


def test_several_domains_send_the_event_to_each_site(world, frozen):
    body = {"n": "Signup", "u": "https://shop.example/join",
            "d": "shop.example, www.blog.example,shop.example"}
    assert _send(world, body, **ORIGIN).status_code == 202
    common = {"kind": "custom", "name": "Signup", "url": body["u"], "path": "/join"}
    assert world.sink.accepted == [
        enriched(event_id=frozen[0], **common),
        enriched(event_id=frozen[1], site_id="blog", visitor_id=visitor("blog"),
                 **common)]


def test_a_site_of_the_list_that_refuses_the_origin_refuses_the_request(world):
    world.sites.sites[BLOG.site_id] = replace(BLOG, allowed_origins=frozenset())
    body = json.dumps({"n": "pageview", "u": "https://shop.example/",
                       "d": "shop.example,blog.example"})
    result = _send(world, body, **ORIGIN)
    assert (result.status_code, result.json["title"]) == (403, "origin_not_allowed")
    assert result.json["description"] == "origin https://shop.example may not send events for blog"
    assert world.sink.accepted == []
    assert [(r["reason"], r["payload"]) for r in world.sink.invalid] == [
        ("origin_not_allowed", body)]


@pytest.mark.parametrize(("body", "reason", "detail"), [
    ("{", "malformed_plausible_payload", "body is not valid JSON"),
    ("[1]", "malformed_plausible_payload", "body must be a JSON object"),
    ('{"u":"https://shop.example/","d":"shop.example"}', "malformed_plausible_payload",
     "n (or name) is required"),
    ('{"n":"pageview","d":"shop.example"}', "malformed_plausible_payload",
     "u (or url) is required"),
    ('{"n":"pageview","u":"https://shop.example/","d":7}', "malformed_plausible_payload",
     "d (or domain) must be a string"),
    ('{"n":"pageview","u":"https://shop.example/","d":" , "}',
     "malformed_plausible_payload", "d (or domain) is empty"),
    ('{"n":"pageview","u":"/relative"}', "malformed_plausible_payload",
     "d (or domain) is missing and u names no host"),
    ('{"n":"x","u":"https://shop.example/","d":"shop.example","p":[1]}',
     "malformed_plausible_payload", "props (m, meta, p or props) must be an object"),
    ('{"n":"x","u":"https://shop.example/","d":"shop.example","m":"{plan"}',
     "malformed_plausible_payload", "props is not valid JSON"),
    ('{"n":"x","u":"https://shop.example/","d":"shop.example","$":{"amount":"lots",'
     '"currency":"EUR"}}', "malformed_plausible_payload", "revenue.amount 'lots'"),
    ('{"n":"x","u":"https://shop.example/","d":"shop.example","$":{"amount":1,'
     '"currency":"eur"}}', "malformed_plausible_payload", "revenue.currency 'eur'"),
    ('{"n":"engagement","u":"https://shop.example/","d":"shop.example","e":-1}',
     "malformed_plausible_payload", "an engagement needs e"),
    ('{"n":"x","u":"https://shop.example/","d":"shop.example","m":"' + "[" * 40 + "]" * 40
     + '"}', "too_deep", "props: JSON nested deeper than 32 levels"),
    ('{"n":"pageview","u":"app://localhost/login","d":"shop.example"}', "schema_violation",
     "events[0].url: 'app://localhost/login' does not match '^https?://'"),
    ('{"n":"x","u":"https://shop.example/","d":"shop.example","p":{"a b":"c"}}',
     "schema_violation", "events[0].props: 'a b' does not match"),
    ('{"n":"x","u":"https://shop.example/","d":"shop.example","p":{"tags":["a"]}}',
     "schema_violation", "events[0].props/tags: ['a'] is not valid"),
    ('{"n":"pageview","u":"https://shop.example/","d":"other.example"}', "unknown_site",
     "no site has the domain 'other.example'"),
])
def test_refusals_name_their_reason_and_keep_the_body(world, body, reason, detail):
    before = refused_count(reason)
    result = _send(world, body)
    assert result.status_code == (404 if reason == "unknown_site" else 400)
    assert (result.json["title"], result.json["description"][:len(detail)]) == (reason, detail)
    assert refused_count(reason) == before + 1
    assert world.sink.accepted == []
    [kept] = world.sink.invalid
    assert (kept["reason"], kept["status"], kept["source"], kept["payload"]) == (
        reason, result.status_code, "tracker", body)


def test_a_domain_of_two_sites_is_refused_as_ambiguous(world):
    world.sites.sites["shop-copy"] = Site(site_id="shop-copy", domain="www.shop.example")
    result = _send(world, {"n": "pageview", "u": "https://shop.example/"})
    assert (result.status_code, result.json["title"], result.json["description"]) == (
        409, "ambiguous_site", "the domain 'shop.example' belongs to several sites "
                               "(shop-copy, shop.example); give it to one of them")
    assert [r["reason"] for r in world.sink.invalid] == ["ambiguous_site"]


def test_an_event_the_enrichment_refuses_is_answered_as_dropped(world):
    body = {"n": "pageview", "u": "https://shop.example/", "d": "shop.example",
            "r": "https://best.semalt.com/"}
    result = _send(world, body)
    assert (result.status_code, result.text) == (202, "ok")
    assert result.headers["x-plausible-dropped"] == "1"
    assert world.sink.accepted == []
    [kept] = world.sink.invalid
    assert (kept["reason"], kept["detail"], json.loads(kept["payload"])) == (
        "referrer_spam", "best.semalt.com",
        {"site_id": "shop.example", "kind": "pageview", "url": "https://shop.example/",
         "referrer": "https://best.semalt.com/"})


def test_a_crawler_is_kept_flagged_as_a_bot(world, frozen):
    crawler = "Googlebot/2.1 (+http://www.google.com/bot.html)"
    result = world.plausible(json.dumps({"n": "pageview", "u": "https://shop.example/"}),
                             remote_addr=VISITOR_IP, headers={"User-Agent": crawler})
    assert result.status_code == 202
    [record] = world.sink.accepted
    assert (record["is_bot"], record["visitor_id"]) == (True, visitor(agent=crawler))


def test_a_referrer_is_cut_to_the_envelopes_length(world):
    referrer = "https://a.example/" + "x" * 3000
    assert _send(world, {"n": "pageview", "u": "https://shop.example/", "r": referrer}
                 ).status_code == 202
    assert world.sink.accepted[0]["referrer"] == referrer[:2048]


def test_body_size_and_rate_limits_are_the_trackers():
    config = Config().replace(rate_limit_per_s=0.001, rate_limit_burst=1.0,
                              max_body_bytes=200)
    sink = RecordingSink()
    client = testing.TestClient(create_app(config, sites=MemorySites(SHOP), sink=sink,
                                           salts=StaticSaltProvider()))
    send = lambda body: client.simulate_post(  # noqa: E731
        config.plausible_path, body=body, headers={"User-Agent": BROWSER})
    big = json.dumps({"n": "pageview", "u": "https://shop.example/" + "x" * 300})
    answers = [send(big), send('{"n":"pageview","u":"https://shop.example/"}')]
    assert [(a.status_code, a.json["title"]) for a in answers] == [
        (413, "body_too_large"), (429, "rate_limited")]
    assert answers[1].headers["retry-after"]
    assert [r["reason"] for r in sink.invalid] == ["body_too_large"]  # a 429 is not kept


def test_the_preflight_allows_the_origin(world):
    result = world.client.simulate_options(world.config.plausible_path, headers={
        **ORIGIN, "Access-Control-Request-Headers": "content-type"})
    assert result.status_code == 204
    assert (result.headers["access-control-allow-origin"],
            result.headers["access-control-allow-methods"],
            result.headers["access-control-allow-headers"]) == (
        "https://shop.example", "POST, OPTIONS", "content-type")


def test_the_mapping_itself():
    event = to_event({"n": "pageview", "u": "https://x.example/",
                      "d": "X.example,www.y.example", "r": None, "p": "{}", "i": False})
    assert (event.domains, event.fields) == (
        ("x.example", "y.example"), {"kind": "pageview", "url": "https://x.example/"})
    with pytest.raises(PlausibleError, match="n \\(or name\\) is required"):
        to_event({"n": "", "u": "https://x.example/"})


def test_sites_that_cannot_be_found_now_are_a_503_to_retry(world, monkeypatch):
    def down():
        raise ConnectionError("store down")

    monkeypatch.setattr(world.sites, "all", down)
    result = _send(world, {"n": "pageview", "u": "https://shop.example/"})
    assert (result.status_code, result.json["title"]) == (503, "not_kept")
    assert result.headers["retry-after"] == "5"
    assert world.sink.records == []
