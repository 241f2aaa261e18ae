import copy
import datetime as dt
import json

import pytest

from analytics.enrich import Pipeline, Refused, RequestContext, Step
from analytics.enrich.visitor_id import client_id_hash, cookieless_id

from .samples import (
    CHROME_ANDROID_PHONE,
    CHROME_WINDOWS,
    GOOGLEBOT,
    OPT_IN_SITE,
    PUBLIC_IP,
    RECEIVED,
    SAFARI_IPAD,
    SITE,
    make_ctx,
)

EVENT_ID = "0b5e8a2c-3f1d-4e6a-9c2b-7d8e9f0a1b2c"
PAGEVIEW = {
    "event_id": EVENT_ID,
    "site_id": "example.com",
    "kind": "pageview",
    "url": "https://www.example.com/blog/post-1?utm_source=news&utm_medium=email#comments",
    "referrer": "https://www.Google.com/search?q=analytics",
    "title": "Post 1",
    "screen_width": 1920,
    "screen_height": 1080,
    "language": "en-US",
    "time_zone": "Europe/Berlin",
    "utm_campaign": "spring",
    "props": {"plan": "pro", "seats": 3, "ratio": 2.5, "trial": True},
    "created_at": 1_700_000_000_000,
    "sent_at": 1_700_000_005_000,
}


def test_default_steps_in_order(pipeline):
    assert pipeline.names == (
        "event_time", "url_parts", "user_agent", "bots", "referrer_spam", "country",
        "visitor_id", "finalize",
    )


def test_whole_pipeline_output_exactly(pipeline, salts, event_validator, enriched_validator):
    event_validator.validate(PAGEVIEW)
    out = pipeline.run(PAGEVIEW, make_ctx())
    salt = salts.salt_for(dt.date(2001, 9, 9))
    assert out == {
        "schema": "analytics/enriched_event/1-0-0",
        "event_id": EVENT_ID,
        "site_id": "example.com",
        "kind": "pageview",
        "name": None,
        "url": "https://www.example.com/blog/post-1?utm_source=news&utm_medium=email#comments",
        "host": "www.example.com",
        "path": "/blog/post-1",
        "referrer": "https://www.Google.com/search?q=analytics",
        "referrer_host": "google.com",
        "title": "Post 1",
        "screen_width": 1920,
        "screen_height": 1080,
        "language": "en-US",
        "time_zone": "Europe/Berlin",
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "utm_term": None,
        "utm_content": None,
        "props": {"plan": "pro", "seats": "3", "ratio": "2.5", "trial": "true"},
        "engagement_ms": None,
        "created_at": 1_700_000_000_000,
        "sent_at": 1_700_000_005_000,
        "received_at": 1_000_000_000_000,
        "event_time": 999_999_995_000,
        "visitor_id": cookieless_id(salt, "example.com", PUBLIC_IP, CHROME_WINDOWS),
        "id_source": "cookieless",
        "browser": "Chrome",
        "browser_version": "126",
        "os": "Windows",
        "os_version": "10",
        "device_type": "desktop",
        "country": "NL",
        "is_bot": False,
        "source_channel": "tracker",
    }
    enriched_validator.validate(out)


def test_the_callers_payload_is_left_as_it_was(pipeline):
    payload = copy.deepcopy(PAGEVIEW)
    pipeline.run(payload, make_ctx())
    assert payload == PAGEVIEW


def test_bot_events_continue_flagged(pipeline):
    out = pipeline.run(PAGEVIEW, make_ctx(user_agent=GOOGLEBOT))
    assert (out["is_bot"], out["browser"], out["device_type"]) == (True, "Googlebot", "other")


def test_refusal_names_reason_and_step_and_leaves_the_payload(pipeline):
    late = {**PAGEVIEW, "created_at": 0, "sent_at": 73 * 3600 * 1000}
    before = copy.deepcopy(late)
    with pytest.raises(Refused) as refused:
        pipeline.run(late, make_ctx())
    assert (refused.value.reason, refused.value.step) == ("too_late", "event_time")
    assert late == before
    spam = {**PAGEVIEW, "referrer": "https://best.semalt.com/"}
    with pytest.raises(Refused) as refused:
        pipeline.run(spam, make_ctx())
    assert (refused.value.reason, refused.value.detail, refused.value.step) == (
        "referrer_spam", "best.semalt.com", "referrer_spam",
    )
    assert str(refused.value) == "referrer_spam: best.semalt.com"


CASES = [
    ("minimal", {"site_id": "example.com", "kind": "pageview", "url": "https://example.com/"},
     {}),
    ("custom", {"site_id": "example.com", "kind": "custom", "name": "signup",
                "url": "https://example.com/join", "props": {"n": 1}}, {"user_agent": SAFARI_IPAD}),
    ("engagement", {"site_id": "example.com", "kind": "engagement", "engagement_ms": 15000,
                    "url": "https://example.com/a"}, {"ip": "2a00:1450:4001:80b::200e"}),
    ("bot", {"site_id": "example.com", "kind": "pageview", "url": "https://example.com/"},
     {"user_agent": GOOGLEBOT, "ip": "66.249.66.1"}),
    ("empty ua", {"site_id": "example.com", "kind": "pageview", "url": "https://example.com/"},
     {"user_agent": "", "ip": "10.1.2.3"}),
    ("client id", {"site_id": "shop.example", "kind": "pageview",
                   "url": "https://shop.example/cart", "client_id": "abc.123"},
     {"site": OPT_IN_SITE, "ip": "2001:4860:4860::8888", "user_agent": CHROME_ANDROID_PHONE}),
    ("mp", {"site_id": "example.com", "kind": "custom", "name": "purchase",
            "url": "https://example.com/", "client_id": "555.777",
            "props": {"value": 9.99, "coupon": False}},
     {"source": "mp", "user_agent": "", "ip": "::ffff:8.8.4.4"}),
]


@pytest.mark.parametrize(("event", "ctx_args"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_output_validates_and_never_holds_the_ip(
    pipeline, event_validator, enriched_validator, event, ctx_args
):
    event_validator.validate(event)
    ctx = make_ctx(**ctx_args)
    out = pipeline.run(event, ctx)
    enriched_validator.validate(out)
    assert ctx.ip not in json.dumps(out)
    assert out["received_at"] == RECEIVED


def test_client_id_output_holds_the_hash_not_the_raw_id(pipeline):
    event = {"site_id": "shop.example", "kind": "pageview", "url": "https://shop.example/",
             "client_id": "abc.123"}
    out = pipeline.run(event, make_ctx(site=OPT_IN_SITE))
    assert (out["visitor_id"], out["id_source"]) == (
        client_id_hash(b"test-key", "shop.example", "abc.123"), "client",
    )
    assert "client_id" not in out


def test_custom_pipeline_of_plain_functions():
    def tag(event, ctx):
        event["tagged"] = ctx.source
        return event

    def refuse_admin(event, ctx):
        if event["url"].endswith("/admin"):
            raise Refused("admin_page", event["url"])
        return event

    pipeline = Pipeline([("tag", tag), Step("refuse_admin", refuse_admin)])
    assert pipeline.run({"url": "/x"}, make_ctx(source="api")) == {"url": "/x", "tagged": "api"}
    with pytest.raises(Refused) as refused:
        pipeline({"url": "/admin"}, make_ctx())
    assert refused.value.step == "refuse_admin"
    assert repr(pipeline) == "Pipeline(steps=['tag', 'refuse_admin'])"


def test_step_names_must_be_unique():
    with pytest.raises(ValueError, match="duplicate step names: a"):
        Pipeline([("a", lambda e, c: e), ("b", lambda e, c: e), ("a", lambda e, c: e)])


def test_request_context_checks_its_source():
    with pytest.raises(ValueError, match="source must be one of"):
        RequestContext(received_at_ms=RECEIVED, ip=PUBLIC_IP, user_agent="", site=SITE,
                       source="email")
