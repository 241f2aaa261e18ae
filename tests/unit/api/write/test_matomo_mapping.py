"""The mapping of Matomo's tracking requests itself (no app): hand-worked hits, and any
query string or bulk body at all either maps or is refused with a reason — never another
error."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.enrich.visitor_id import client_id_hash
from api.write.collectors.matomo import (
    MatomoError,
    MatomoHit,
    envelope,
    kept_text,
    parse,
    parse_query,
    request_text,
    to_hit,
)
from api.write.collectors.matomo_bulk import answer, parse_bulk, query_of
from api.write.refusals import RequestRefused

NOW = 1_796_000_000_000
BASE = {"idsite": "3", "rec": "1", "url": "https://example.com/a"}
EXAMPLES = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def test_a_pageview_of_matomo_tracker():
    # matomo.track({url, action_name, ua, cvar}) of matomo-tracker's README, as sent
    text = ("url=http%3A%2F%2Fexample.com%2Ftrack%2Fthis%2Furl&action_name=This%20will%20be%20"
            "shown%20in%20your%20dashboard&ua=Node.js%20v0.10.24&cvar=%7B%221%22%3A%5B%22"
            "custom%20variable%20name%22%2C%22custom%20variable%20value%22%5D%7D&idsite=1&rec=1")
    assert parse(text, NOW, b"k") == MatomoHit(1, {
        "kind": "pageview", "url": "http://example.com/track/this/url",
        "title": "This will be shown in your dashboard",
        "props": {"custom_variable_name": "custom variable value"}},
        user_agent="Node.js v0.10.24")


def test_an_event_value_an_integer_screen_a_language_and_limits():
    hit = to_hit({**BASE, "e_c": "Buy", "e_a": "click", "e_v": "4.0", "res": "390x844",
                  "lang": " fr-CA ;q=1", "action_name": "t" * 600, "urlref": "r" * 3000,
                  "cid": "c" * 200, "send_image": "0"}, NOW)
    assert hit.image is False
    assert hit.fields == {
        "kind": "custom", "name": "Buy", "url": BASE["url"],
        "props": {"event_action": "click", "event_value": 4}, "title": "t" * 512,
        "referrer": "r" * 2048, "screen_width": 390, "screen_height": 844,
        "language": "fr-CA", "client_id": "c" * 128}
    assert envelope("shop", hit)["site_id"] == "shop"


@pytest.mark.parametrize(("cdt", "created_at"), [
    ("1796000000", NOW), ("1796000000.25", NOW + 250), ("2026-11-30 00:53:20", NOW),
    ("2026-11-30T01:53:20+01:00", NOW), ("2026-11-30T00:53:20.5Z", NOW + 500)])
def test_the_forms_of_cdt(cdt, created_at):
    fields = to_hit({**BASE, "cdt": cdt}, NOW + 1000).fields
    assert (fields["created_at"], fields["sent_at"]) == (created_at, NOW + 1000)


@pytest.mark.parametrize("params", [
    {"cdt": "-5"}, {"cdt": "99999999999"}, {"cdt": "0001-01-01"}, {"_cvar": '{"1": ["a"]}'},
    {"_cvar": '{"1": ["a", 2]}'}, {"search": "x", "search_count": "many"}])
def test_refused_parameters(params):
    with pytest.raises(MatomoError):
        to_hit({**BASE, **params}, NOW)


def test_a_screen_size_that_is_none_is_left_out():
    for res in ("1920x", "1920x1080x2", "999999x1"):
        assert "screen_width" not in to_hit({**BASE, "res": res}, NOW).fields


def test_the_campaign_parameters_fill_only_the_missing_utm_fields():
    url = "https://example.com/?utm_campaign=u&mtm_campaign=m&mtm_source=s&pk_medium=p"
    assert {k: v for k, v in to_hit({**BASE, "url": url}, NOW).fields.items()
            if k.startswith("utm_")} == {"utm_source": "s", "utm_medium": "p"}


def test_query_strings_and_bulk_items():
    assert parse_query("a=1&a=2&b=&c") == {"a": "2", "b": "", "c": ""}  # the last one wins
    assert request_text("a=1", b" b=2 ") == "b=2&a=1"
    assert [query_of(q) for q in ("?a=1", "/piwik.php?a=1", "a=1&u=https://x/?y", "")] == [
        "a=1", "a=1", "a=1&u=https://x/?y", ""]
    assert answer(2, [4, 1]) == {"status": "success", "tracked": 2, "invalid": 2,
                                 "invalid_indices": [1, 4]}


def test_kept_text_hashes_every_client_id_and_empties_the_token():
    key = b"k"
    text = 'x_id=1&_id=a%20b&uid=&token_auth=t&["?cid=c","?token_auth=t2"]'
    assert kept_text(text, key, "s") == (
        f'x_id=1&_id={client_id_hash(key, "s", "a b")}&uid=&token_auth=&["?cid='
        f'{client_id_hash(key, "s", "c")}","?token_auth="]')
    assert kept_text('{"token_auth": "t\\"x", "requests": []}', key, "") == (
        '{"token_auth":"", "requests": []}')


QUERY_NAMES = st.sampled_from(["idsite", "rec", "url", "action_name", "urlref", "_id", "uid",
                               "cid", "res", "lang", "e_c", "e_a", "e_n", "e_v", "link",
                               "download", "search", "search_count", "ping", "cdt", "_cvar",
                               "cvar", "dimension3", "idgoal", "send_image", "x"])
QUERY_VALUES = st.one_of(st.sampled_from(["1", "0", "3", "https://example.com/a?mtm_source=x",
                                          "1920x1080", '{"1":["a","b"]}', "2026-11-30", ""]),
                         st.text(max_size=30))


@EXAMPLES
@given(st.dictionaries(QUERY_NAMES, QUERY_VALUES, max_size=12))
def test_any_parameters_map_or_are_refused_with_a_reason(params):
    try:
        hit = to_hit(params, NOW)
    except MatomoError as exc:
        assert exc.reason in ("malformed_matomo_request", "unsupported_matomo_request")
        return
    assert hit.fields["kind"] in ("pageview", "custom", "engagement")
    json.dumps(envelope("shop", hit))  # what the intake validates and publishes


@EXAMPLES
@given(st.text(max_size=300))
def test_any_query_string_maps_or_is_refused(text):
    try:
        parse(text, NOW, b"k")
    except RequestRefused as exc:
        assert exc.status == 400 and exc.reason.endswith("_matomo_request")


@EXAMPLES
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                 st.lists(st.one_of(st.text(max_size=60), st.integers(), st.none()),
                          max_size=8).map(lambda r: json.dumps({"requests": r}).encode())))
def test_any_bulk_body_is_items_or_refused(body):
    try:
        items = parse_bulk(b"{" + body if body[:1] != b"{" else body, 5, NOW, b"k")
    except RequestRefused as exc:
        assert exc.status in (400, 413)
        return
    assert all((item.hit is None) != (item.error is None) for item in items)
