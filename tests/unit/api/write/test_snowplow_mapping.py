"""The mapping of Snowplow's tracker protocol itself (no app): hand-worked events, the forms
of self-describing events and timestamps, what a refused event keeps, and any query
string or tp2 body at all either maps or is refused with a reason — never another error."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.enrich.visitor_id import client_id_hash
from api.write.collectors.snowplow import (
    SnowplowError,
    SnowplowHit,
    envelope,
    kept_query,
    parse,
    to_hit,
)
from api.write.collectors.snowplow_tp2 import PAYLOAD_DATA, kept_body, parse_batch
from api.write.refusals import RequestRefused

NOW = 1_796_000_000_000
LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
BASE = {"aid": "website", "e": "pv", "url": "https://example.com/a"}
EXAMPLES = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def unstruct(schema: str, data: object) -> str:
    return json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/"
                                 "jsonschema/1-0-0", "data": {"schema": schema, "data": data}})


def test_a_pageview_of_the_pixel_tracker():
    # the page view tag of Snowplow's pixel tracker, as its documentation writes it
    text = ("&e=pv&page=Root%20README&url=http%3A%2F%2Fgithub.com%2Fsnowplow%2Fsnowplow"
            "&aid=snowplow&p=web&tv=no-js-0.1.0")
    assert parse(text, NOW, b"k") == SnowplowHit("snowplow", {
        "kind": "pageview", "url": "http://github.com/snowplow/snowplow",
        "title": "Root README"})


def test_every_field_of_a_pageview_and_its_limits():
    hit = to_hit({**BASE, "page": "t" * 600, "refr": "r" * 3000, "res": "390x844",
                  "lang": " fr-CA ;q=1", "tz": "America/Montreal", "ua": "u" * 1200,
                  "eid": "5a305bf5-32fc-40d9-b0e8-66052f0f2c95", "duid": "d" * 200,
                  "nuid": "n-1", "vp": "390x700", "ip": "8.8.8.8", "sid": "s-1",
                  "co": "{}"}, NOW)
    assert hit.fields == {
        "kind": "pageview", "url": BASE["url"], "title": "t" * 512, "referrer": "r" * 2048,
        "screen_width": 390, "screen_height": 844, "language": "fr-CA",
        "time_zone": "America/Montreal", "event_id": "5a305bf5-32fc-40d9-b0e8-66052f0f2c95",
        "client_id": "d" * 128}
    assert hit.user_agent == "u" * 1000
    assert envelope("shop", "shop.example", hit)["site_id"] == "shop"


def test_the_client_id_is_uid_then_duid_then_the_network_user_id():
    ids = {"uid": "user-42", "duid": "cookie-1", "tnuid": "network-1", "nuid": "network-2"}
    found = []
    for drop in range(4):
        params = {**BASE, **dict(list(ids.items())[drop:])}
        found.append(to_hit(params, NOW).fields["client_id"])
    assert found == ["user-42", "cookie-1", "network-1", "network-2"]


def test_a_structured_event_is_named_by_its_action():
    hit = to_hit({**BASE, "e": "se", "se_ca": "video", "se_ac": "play", "se_la": "intro",
                  "se_pr": "", "se_va": "2.0"}, NOW)
    assert hit.fields == {"kind": "custom", "name": "play", "url": BASE["url"],
                          "props": {"se_category": "video", "se_label": "intro",
                                    "se_value": 2}}
    assert to_hit({**BASE, "e": "se", "se_ca": "c", "se_ac": "a", "se_va": "-1.25e2"},
                  NOW).fields["props"]["se_value"] == -125


def test_a_page_ping_is_an_engagement_of_no_time():
    hit = to_hit({**BASE, "e": "pp", "pp_mix": "0", "pp_max": "10", "pp_miy": "0",
                  "pp_may": "500"}, NOW)
    assert hit.fields == {"kind": "engagement", "engagement_ms": 0, "url": BASE["url"]}


@pytest.mark.parametrize("param", ["ue_pr", "ue_px"])
def test_a_self_describing_event_is_named_by_its_schema(param):
    text = unstruct("iglu:com.acme/signup/jsonschema/1-0-2",
                    {"plan": "pro", "seats": 3, "note": None, "billing": {"yearly": True}})
    value = text if param == "ue_pr" else base64.urlsafe_b64encode(
        text.encode()).decode().rstrip("=")  # the browser tracker drops the padding
    hit = to_hit({"aid": "website", "e": "ue", param: value}, NOW)
    assert hit.fields == {"kind": "custom", "name": "signup",
                          "props": {"plan": "pro", "seats": 3, "billing.yearly": True}}
    assert envelope("shop", "shop.example", hit) == {
        "site_id": "shop", "url": "https://shop.example/", **hit.fields}


def test_base64_with_padding_and_the_standard_alphabet_is_taken_too():
    text = unstruct("iglu:com.acme/a_b/jsonschema/1-0-0", {"q": "??>>"})
    for encode in (base64.urlsafe_b64encode, base64.b64encode):
        assert to_hit({"aid": "w", "e": "ue", "ue_px": encode(text.encode()).decode()},
                      NOW).fields["props"] == {"q": "??>>"}


def test_a_link_click_to_another_host_is_an_outbound_link():
    def clicked(target: str, page: str | None = "https://www.shop.example/docs") -> dict:
        params = {"aid": "w", "e": "ue", "ue_pr": unstruct(
            LINK_CLICK, {"targetUrl": target, "elementId": "cta"})}
        if page:
            params["url"] = page
        fields = envelope("shop", "shop.example", to_hit(params, NOW))
        return {k: fields.get(k) for k in ("name", "props", "url")}

    outbound = {"name": "Outbound Link: Click", "props": {"url": "https://partner.example/"},
                "url": "https://www.shop.example/docs"}
    assert clicked("https://partner.example/") == outbound
    assert clicked("https://shop.example/pricing") == {
        "name": "link_click", "props": {"targetUrl": "https://shop.example/pricing",
                                        "elementId": "cta"},
        "url": "https://www.shop.example/docs"}
    assert clicked("/pricing")["name"] == "link_click"
    # as the browser tracker sends one: its classes an array, kept as JSON text
    inner = to_hit({"aid": "w", "e": "ue", "url": "https://shop.example/", "ue_pr": unstruct(
        LINK_CLICK, {"targetUrl": "/a", "elementClasses": ["btn", "cta"], "elementId": ""})},
        NOW)
    assert inner.fields["props"] == {"targetUrl": "/a", "elementClasses": '["btn","cta"]',
                                     "elementId": ""}
    assert clicked("https://partner.example/", page=None) == {
        **outbound, "url": "https://shop.example/"}  # the site's home page


@pytest.mark.parametrize(("params", "times"), [
    ({"dtm": str(NOW - 5000), "stm": str(NOW)}, {"created_at": NOW - 5000, "sent_at": NOW}),
    ({"dtm": str(NOW)}, {"created_at": NOW}),
    ({"ttm": str(NOW - 60_000), "dtm": "1", "stm": "2"},
     {"created_at": NOW - 60_000, "sent_at": NOW + 1000}),
    ({"dtm": "1796000000000.75"}, {"created_at": NOW})])
def test_the_timestamps(params, times):
    fields = to_hit({**BASE, **params}, NOW + 1000).fields
    assert {k: fields[k] for k in ("created_at", "sent_at") if k in fields} == times


@pytest.mark.parametrize(("params", "reason", "detail"), [
    ({"aid": ""}, "malformed_snowplow_payload", "aid is required"),
    ({"e": ""}, "malformed_snowplow_payload", "e is required: the event type, pv, pp, se"),
    ({"e": "xx"}, "malformed_snowplow_payload", "e is required"),
    ({"e": "tr"}, "unsupported_snowplow_event", "ecommerce transactions (e=tr) are not"),
    ({"e": "ti"}, "unsupported_snowplow_event", "transaction items (e=ti)"),
    ({"url": ""}, "malformed_snowplow_payload", "url is required of a page view"),
    ({"e": "pp", "url": ""}, "malformed_snowplow_payload", "url is required"),
    ({"e": "se", "se_ac": "play"}, "malformed_snowplow_payload",
     "a structured event (e=se) needs se_ca"),
    ({"e": "se", "se_ca": "c", "se_ac": "a", "se_va": "lots"}, "malformed_snowplow_payload",
     "se_va must be a number"),
    ({"e": "se", "se_ca": "c", "se_ac": "a", "se_va": "1e999"}, "malformed_snowplow_payload",
     "se_va must be a number"),
    ({"e": "ue"}, "malformed_snowplow_payload", "a self-describing event (e=ue) needs"),
    ({"e": "ue", "ue_pr": "{"}, "malformed_snowplow_payload", "ue_pr is not valid JSON"),
    ({"e": "ue", "ue_px": "e30"}, "malformed_snowplow_payload", 'ue_px must be {"schema"'),
    ({"e": "ue", "ue_pr": "[" * 40 + "]" * 40}, "too_deep", "ue_pr: JSON nested deeper"),
    ({"e": "ue", "ue_px": "!"}, "malformed_snowplow_payload", "ue_px must be base64url"),
    ({"e": "ue", "ue_pr": '{"schema": "iglu:x/y/jsonschema/1-0-0", "data": {}}'},
     "malformed_snowplow_payload", 'ue_pr must be {"schema": "iglu:com.snowplowanalytics'),
    ({"e": "ue", "ue_pr": unstruct("signup", {})}, "malformed_snowplow_payload",
     "ue_pr: the event's schema must be an Iglu URI"),
    ({"e": "ue", "ue_pr": unstruct("iglu:com.acme/signup/jsonschema/1-0-0", [1])},
     "malformed_snowplow_payload", "ue_pr: the event's schema must be an Iglu URI"),
    ({"dtm": "yesterday"}, "malformed_snowplow_payload", "dtm must be epoch milliseconds"),
    ({"stm": "99999999999999999"}, "malformed_snowplow_payload", "stm must be epoch"),
    ({"ttm": "-1"}, "malformed_snowplow_payload", "ttm must be epoch milliseconds"),
])
def test_refused_events_say_why(params, reason, detail):
    with pytest.raises(SnowplowError) as refused:
        to_hit({**BASE, **params}, NOW)
    assert (refused.value.reason, str(refused.value)[:len(detail)]) == (reason, detail)


def test_a_refused_query_is_kept_with_ids_hashed_and_no_address():
    text = "e=xx&aid=w&uid=user%2042&duid=d-1&tnuid=&ip=8.8.8.8&url=https://a.example/?uid=7"
    with pytest.raises(RequestRefused) as refused:
        parse(text, NOW, b"k")
    assert (refused.value.status, refused.value.reason) == (400, "malformed_snowplow_payload")
    assert refused.value.payload == (
        f"e=xx&aid=w&uid={client_id_hash(b'k', '', 'user 42')}"
        f"&duid={client_id_hash(b'k', '', 'd-1')}&tnuid=&ip=&url=https://a.example/?uid=7")
    assert kept_query("nuid=n&x=1", b"k", "shop") == f"nuid={client_id_hash(b'k', 'shop', 'n')}&x=1"


def test_a_kept_body_has_ids_hashed_and_no_address():
    text = '{"data":[{"uid":"u\\u00e9","duid": "d","ip":"8.8.8.8","nuid":"\\ud800"}]'
    assert kept_body(text, b"k", "") == (
        f'{{"data":[{{"uid":"{client_id_hash(b"k", "", "ué")}",'
        f'"duid": "{client_id_hash(b"k", "", "d")}","ip":"",'
        f'"nuid":"{client_id_hash(b"k", "", chr(0xFFFD))}"}}]')


def test_a_batch_maps_each_event_on_its_own():
    body = json.dumps({"schema": PAYLOAD_DATA, "data": [
        {**BASE, "dtm": 1796000000000, "res": "1x1"}, {**BASE, "e": "tr"}, "pv",
        {**BASE, "page": True}, {**BASE, "page": None}]}).encode()
    first, second, third, fourth, fifth = parse_batch(body, 5, NOW, b"k")
    assert first.hit.fields["created_at"] == NOW and first.error is None
    assert first.text == json.dumps({**BASE, "dtm": 1796000000000, "res": "1x1"},
                                    separators=(",", ":"))
    assert (second.error.reason, str(second.error)) == (
        "unsupported_snowplow_event", "data[1]: ecommerce transactions (e=tr) are not "
        "collected: only page views, page pings, structured and self-describing events")
    assert str(third.error) == "data[2]: must be an object of the tracker protocol's parameters"
    assert str(fourth.error) == "data[3]: page must be a string"
    assert fifth.hit.fields == {"kind": "pageview", "url": BASE["url"]}


@pytest.mark.parametrize(("body", "status", "reason", "detail"), [
    (b"{", 400, "malformed_snowplow_payload", "a tp2 body must be JSON"),
    (b"[" * 40 + b"]" * 40, 400, "too_deep", "a tp2 body must be JSON: JSON nested deeper"),
    (b'{"data": [{}]}', 400, "malformed_snowplow_payload", 'a tp2 body is {"schema": "iglu:'),
    (json.dumps({"schema": PAYLOAD_DATA, "data": []}).encode(), 400,
     "malformed_snowplow_payload", "a tp2 body is"),
    (json.dumps({"schema": "iglu:com.acme/payload_data/jsonschema/1-0-4", "data": [{}]}
                ).encode(), 400, "malformed_snowplow_payload", "a tp2 body is"),
    (json.dumps({"schema": PAYLOAD_DATA, "data": [{"uid": "u-1"}] * 3}).encode(), 413,
     "too_many_events", "3 events in the batch; at most 2")])
def test_a_body_that_is_no_batch_is_refused_whole(body, status, reason, detail):
    with pytest.raises(RequestRefused) as refused:
        parse_batch(body, 2, NOW, b"k")
    found = refused.value
    assert (found.status, found.reason, found.detail[:len(detail)]) == (status, reason, detail)
    assert "u-1" not in found.payload


VALUES = st.one_of(st.sampled_from(["pv", "pp", "se", "ue", "tr", "website", "",
                                    "https://example.com/", "1796000000000", "2.5", "x" * 600,
                                    unstruct("iglu:com.acme/a/jsonschema/1-0-0", {"a": 1})]),
                   st.text(max_size=20))
NAMES = st.sampled_from(["aid", "e", "url", "page", "refr", "res", "lang", "tz", "ua", "eid",
                         "uid", "duid", "nuid", "dtm", "stm", "ttm", "se_ca", "se_ac",
                         "se_va", "ue_pr", "ue_px", "ip", "x"])
PARAMS = st.dictionaries(NAMES, VALUES, max_size=10)


@EXAMPLES
@given(PARAMS)
def test_any_parameters_map_or_are_refused_with_a_reason(params):
    try:
        hit = to_hit(params, NOW)
    except SnowplowError as exc:
        assert exc.reason in ("malformed_snowplow_payload", "unsupported_snowplow_event",
                              "too_deep") and str(exc)
        return
    fields = envelope("shop", "shop.example", hit)
    assert fields["kind"] in ("pageview", "engagement", "custom") and fields["url"]


@EXAMPLES
@given(st.one_of(st.binary(max_size=200), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), PARAMS),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["schema", "data", "e"]), inner,
                                            max_size=3)), max_leaves=12).map(
    lambda v: json.dumps({"schema": PAYLOAD_DATA, "data": v}).encode())))
def test_any_body_maps_or_is_refused_with_a_reason(body):
    try:
        items = parse_batch(body, 5, NOW, b"k")
    except RequestRefused as refused:
        assert refused.status in (400, 413) and refused.detail
        return
    assert [item.index for item in items] == list(range(len(items)))
    assert all((item.hit is None) != (item.error is None) for item in items)
