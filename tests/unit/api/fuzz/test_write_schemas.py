"""The write service under events derived from the event JSON Schema (single events and
batches), Measurement Protocol payloads and pixel query strings, each as generated or
with one hostile mutation. A valid event for a known site is accepted (202); anything
else is a 4xx with a reason, counted and kept (answers.WriteProbe)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.event_schema import envelope_schema, envelope_validator
from api.write.resources import PIXEL_FIELDS
from tests.unit.api.fuzz.answers import Sent, WriteProbe
from tests.unit.api.fuzz.conftest import fuzz
from tests.unit.api.fuzz.strategies import JSON, from_schema, hostile_json
from tests.unit.api.write.conftest import BROWSER, MP_SECRET, SHOP, make_write_world

SCHEMA = envelope_schema()
VALIDATOR = envelope_validator()
SITE_IDS = st.sampled_from([SHOP.site_id, SHOP.site_id, SHOP.site_id, "unknown.example"])
URLS = st.one_of(st.sampled_from(["https://shop.example/", "http://shop.example/a?utm_source=x",
                                  "https://[::1]/", "https://[bad/", "http://:80/",
                                  "https://shop.example:99999/"]),
                 from_schema(SCHEMA["properties"]["url"]))
EVENTS = from_schema(SCHEMA, {"site_id": SITE_IDS, "url": URLS})
HEADERS = st.fixed_dictionaries({"Content-Type": st.just("application/json"),
                                 "User-Agent": st.sampled_from([BROWSER, "curl/8.0", ""])},
                                optional={"Origin": st.sampled_from([
                                    "https://shop.example", "https://evil.example", "null",
                                    "https://a.shop.example:8443"])})


@pytest.fixture
def probe(request):
    return WriteProbe(make_write_world(), Sent(request.node.nodeid))


def _valid_for_shop(body: bytes) -> bool:
    events = json.loads(body)
    events = events if isinstance(events, list) else [events]
    return (0 < len(events) <= 100 and all(VALIDATOR.is_valid(e) for e in events)
            and all(e["site_id"] == SHOP.site_id for e in events))


def test_events_from_the_schema_and_hostile_mutations(probe):
    @fuzz(1200)
    @given(st.one_of(hostile_json(EVENTS), hostile_json(st.lists(EVENTS, min_size=1,
                                                                 max_size=4))), HEADERS)
    def run(generated, headers):
        body, clean = generated
        result = probe.send("POST", "/api/event", body=body, headers=headers)
        origin_ok = headers.get("Origin") in (None, "https://shop.example",
                                              "https://a.shop.example:8443")
        if clean and origin_ok and _valid_for_shop(body):
            assert result.status_code == 202, (body, result.text)

    run()
    assert probe.sent.count >= 1000


MP_NAMES = st.sampled_from(["page_view", "user_engagement", "purchase", "", "x" * 121])
MP_PARAMS = st.fixed_dictionaries({}, optional={
    "page_location": URLS, "page_referrer": st.text(max_size=20), "page_title": JSON,
    "engagement_time_msec": st.one_of(st.integers(), st.floats()), "language": JSON,
    "session_id": JSON, "value": st.one_of(st.integers(), st.floats(allow_nan=False)),
    "currency": st.text(max_size=4), "items": JSON})
MP_BODIES = st.fixed_dictionaries(
    {"client_id": st.one_of(st.text(min_size=1, max_size=40), JSON),
     "events": st.lists(st.fixed_dictionaries({"name": MP_NAMES},
                                              optional={"params": MP_PARAMS}),
                        min_size=0, max_size=27)},
    optional={"timestamp_micros": st.one_of(st.integers(), st.floats(allow_nan=False)),
              "user_id": JSON, "non_personalized_ads": st.booleans()})
MP_QUERY = st.tuples(st.sampled_from([SHOP.site_id, SHOP.site_id, "unknown.example", "",
                                      "%ED%A0%80", "a" * 300]),
                     st.sampled_from([MP_SECRET, MP_SECRET, MP_SECRET, "wrong", ""]))


def test_measurement_protocol_payloads_and_hostile_mutations(probe):
    @fuzz(800)
    @given(hostile_json(MP_BODIES, date_fields=("timestamp_micros",)), MP_QUERY)
    def run(generated, query):
        (body, _clean), (site_id, secret) = generated, query
        probe.send("POST", "/mp/collect", body=body,
                   query=f"measurement_id={site_id}&api_secret={quote(secret)}",
                   headers={"Content-Type": "application/json"})

    run()
    assert probe.sent.count >= 650


HOSTILE_TEXT = st.sampled_from(["%ED%A0%80", "%FF%FE", "%00", "=HYPERLINK(1)", "x" * 5000,
                                "https://[bad/", "%F0%9F%98%80", "a&b=c", "%"])


def test_pixel_query_strings(probe):
    field_values = {name: st.one_of(from_schema(SCHEMA["properties"][name]), HOSTILE_TEXT)
                    for name in sorted(PIXEL_FIELDS)}
    field_values["site_id"] = st.one_of(SITE_IDS, HOSTILE_TEXT)
    field_values["url"] = st.one_of(URLS, HOSTILE_TEXT)

    @fuzz(600)
    @given(st.fixed_dictionaries({}, optional=field_values),
           st.lists(st.sampled_from(sorted(PIXEL_FIELDS)), max_size=2),
           st.sampled_from(["", "https://shop.example/from-referer"]))
    def run(fields, repeated, referer):
        parts = [f"{k}={v if '%' in v or '&' in v else quote(v, safe='')}"
                 for k, v in fields.items()]
        parts += [f"{k}=again" for k in repeated]  # repeated names are lists in Falcon
        headers = {"User-Agent": BROWSER, **({"Referer": referer} if referer else {})}
        probe.send("GET", "/api/pixel.gif", query="&".join(parts), headers=headers)

    run()
    assert probe.sent.count >= 500
