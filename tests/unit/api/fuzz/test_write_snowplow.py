"""Snowplow's tracker protocol (batches POSTed to ``tp2``, one event by GET to ``/i``) under
requests as its trackers send them, each as generated or with one hostile mutation, and
under every parameter of a valid event replaced by every hostile value
(``test_hostile_fields``). Every answer is Snowplow's 200 "ok" or GIF, or a 4xx with a
reason; every event is published or counted and kept, once (answers.WriteProbe)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.write.collectors.snowplow_tp2 import PAYLOAD_DATA
from tests.unit.api.fuzz.answers import Sent, WriteProbe
from tests.unit.api.fuzz.conftest import fuzz
from tests.unit.api.fuzz.strategies import EXTREME_DATES, HUGE_NUMBERS, JSON, hostile_json
from tests.unit.api.fuzz.test_hostile_fields import HOSTILE, bodies
from tests.unit.api.fuzz.test_write_collectors import (
    NUMBERS,
    ORIGINS,
    URLS,
    WORDS,
    _text,
    matomo_world,
    mostly,
)
from tests.unit.api.write.conftest import BROWSER, SHOP

APP_ID = "website"
"""The site's Snowplow app id (:func:`snowplow_world`)."""
UNSTRUCT_EVENT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"


def snowplow_world():
    """The write service's app whose one site also has the Snowplow app id :data:`APP_ID`
    (and the Matomo idsite: the OpenAPI fuzzing sends every collector's requests to one
    app)."""
    world = matomo_world()
    world.sites.sites[SHOP.site_id] = replace(world.sites.sites[SHOP.site_id],
                                              snowplow_app_id=APP_ID)
    return world


def unstruct(schema: str, data: object) -> str:
    return json.dumps({"schema": UNSTRUCT_EVENT, "data": {"schema": schema, "data": data}})


def base64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode()


MILLIS = mostly(st.integers(1_790_000_000_000, 1_800_000_000_000).map(str),
                st.one_of(st.sampled_from([*HUGE_NUMBERS, *EXTREME_DATES, "-1", "1.5", ""]),
                          WORDS))
EVENT_DATA = mostly(
    st.one_of(st.dictionaries(st.sampled_from(["plan", "seats", "ok", "a b", "x" * 70]),
                              st.one_of(st.text(max_size=8), st.integers(), st.booleans(),
                                        st.none()), max_size=3),
              URLS.map(lambda url: {"targetUrl": url, "elementId": "cta"})),
    JSON)
UNSTRUCT = st.builds(unstruct, mostly(st.sampled_from(
    ["iglu:com.acme/signup/jsonschema/1-0-0", LINK_CLICK]), WORDS), EVENT_DATA)
EVENT = st.fixed_dictionaries(
    {"e": mostly(st.sampled_from(["pv", "pv", "se", "ue", "pp"]),
                 st.sampled_from(["tr", "ti", "", "x", "PV"])),
     "aid": mostly(st.just(APP_ID), st.one_of(st.sampled_from(
         ["mobile", "", " website", "WEBSITE", "x" * 300]), WORDS))},
    optional={"url": URLS.map(_text), "page": WORDS, "refr": URLS.map(_text),
              "res": mostly(st.sampled_from(["1920x1080", "390x844"]), WORDS),
              "lang": mostly(st.sampled_from(["de-DE", "en"]), WORDS),
              "tz": mostly(st.just("Europe/Berlin"), WORDS),
              "ua": mostly(st.just(BROWSER), st.sampled_from(["", "Googlebot/2.1",
                                                              "x" * 2000])),
              "eid": mostly(st.uuids().map(str), WORDS), "uid": WORDS, "duid": WORDS,
              "tnuid": WORDS, "nuid": WORDS, "dtm": MILLIS, "stm": MILLIS, "ttm": MILLIS,
              "se_ca": WORDS, "se_ac": WORDS, "se_la": WORDS, "se_pr": WORDS,
              "se_va": NUMBERS, "ue_pr": mostly(UNSTRUCT, WORDS),
              "ue_px": mostly(UNSTRUCT.map(base64url), WORDS), "pp_may": NUMBERS,
              "co": WORDS, "ip": st.sampled_from(["1.2.3.4", "x"]),
              "p": st.sampled_from(["web", "srv"]), "tv": WORDS})
VALID = {"e": "pv", "aid": APP_ID, "url": "https://shop.example/a?utm_source=x",
         "page": "A", "refr": "https://other.example/", "res": "1920x1080", "lang": "de-DE",
         "tz": "Europe/Berlin", "ua": BROWSER, "eid": "5a305bf5-32fc-40d9-b0e8-66052f0f2c95",
         "uid": "u-1", "duid": "d-1", "tnuid": "t-1", "nuid": "n-1", "dtm": "1796000000000",
         "stm": "1796000000100", "se_ca": "c", "se_ac": "a", "se_la": "l", "se_pr": "p",
         "se_va": "2.5", "ue_pr": unstruct("iglu:com.acme/signup/jsonschema/1-0-0",
                                           {"plan": "pro"}),
         "ue_px": base64url(unstruct(LINK_CLICK, {"targetUrl": "https://partner.example/"})),
         "pp_may": "500", "co": "{}", "ip": "1.2.3.4", "p": "web", "tv": "py-1.1.0"}
VALID_EVENTS = [VALID, {**VALID, "e": "se"}, {**VALID, "e": "ue"},
                {**VALID, "e": "ue", "ue_pr": ""}, {**VALID, "e": "pp"},
                {**VALID, "e": "se", "url": "", "ttm": "1796000000000"}]
"""Valid events: each is accepted as it is (``test_the_valid_events_are_accepted``)."""
TP2 = st.fixed_dictionaries(
    {"schema": mostly(st.just(PAYLOAD_DATA), st.one_of(st.sampled_from(
        ["iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-0", "iglu:x", ""]),
        JSON)),
     "data": mostly(st.lists(EVENT, min_size=1, max_size=5),
                    st.one_of(st.just([]), st.lists(JSON, min_size=1, max_size=3),
                              st.just([VALID] * 101)))})
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "User-Agent": BROWSER}


@st.composite
def hostile_query(draw) -> str:
    """One event's parameters url-encoded, or with one mutation: an oversized or
    lone-surrogate value, more parameters than an event may hold, a parameter given
    twice, broken escapes, a parameter dropped, a transaction, a huge number, an extreme
    date, a deep or wrongly typed self-describing event, a cut."""
    value = draw(EVENT)
    mutation = draw(st.sampled_from((
        "none", "none", "none", "none", "none", "none", "oversize", "surrogate", "many",
        "repeat", "escape", "drop", "transaction", "huge", "date", "deep", "wrong_type",
        "truncate")))
    name = draw(st.sampled_from(sorted(value)))
    if mutation == "oversize":
        value[name] = "x" * 70_000
    elif mutation == "surrogate":
        text = draw(st.text(max_size=5))
        value[name] = text + chr(draw(st.integers(0xD800, 0xDFFF))) + text
    elif mutation == "drop":
        del value[name]
    elif mutation == "transaction":
        value.update(e=draw(st.sampled_from(["tr", "ti"])), tr_id="o-1", tr_tt="5")
    elif mutation in ("huge", "date"):
        number = draw(st.sampled_from(["dtm", "stm", "ttm", "se_va", "res"]))
        value[number] = draw(st.sampled_from(HUGE_NUMBERS if mutation == "huge"
                                             else EXTREME_DATES))
    elif mutation in ("deep", "wrong_type"):
        depth = draw(st.sampled_from((1000, 1100, 33)))
        inner = ("[" * depth + "]" * depth if mutation == "deep"
                 else json.dumps({"schema": UNSTRUCT_EVENT, "data": draw(JSON)}))
        value.update(e="ue", **{draw(st.sampled_from(["ue_pr", "ue_px"])): inner})
        if "ue_px" in value and value["ue_px"] == inner:
            value["ue_px"] = base64url(inner)
    text = urlencode(value, errors="surrogatepass")
    if mutation == "many":
        text += "".join(f"&p{n}=1" for n in range(600))
    elif mutation == "repeat":
        text += "&" + urlencode({name: draw(WORDS)}, errors="surrogatepass")
    elif mutation == "escape":
        text += draw(st.sampled_from(("&%", "&url=%zz", "&aid=%u0077", "&%00=1", "&&&=",
                                      "&e=pv%00", ";aid=x", "&ue_pr=%ff%fe", "&=")))
    elif mutation == "truncate" and len(text) > 1:
        text = text[:draw(st.integers(1, len(text) - 1))]
    return text


@pytest.fixture
def probe(request):
    return WriteProbe(snowplow_world(), Sent(request.node.nodeid))


def test_snowplow_batches_and_hostile_mutations(probe):
    @fuzz(600)
    @given(hostile_json(TP2, date_fields=("schema",)), ORIGINS)
    def run(generated, origin):
        body, _clean = generated
        probe.send("POST", probe.snowplow[0], body=body, headers={**JSON_HEADERS, **origin})

    run()
    assert probe.sent.count >= 500


def test_snowplow_gets_and_hostile_mutations(probe):
    @fuzz(600)
    @given(hostile_query(), ORIGINS)
    def run(text, origin):
        probe.send("GET", probe.snowplow[1], query=text,
                   headers={"User-Agent": BROWSER, **origin})

    run()
    assert probe.sent.count >= 500


def test_every_parameter_of_a_snowplow_event(probe):
    """Each parameter of a valid event (and an unknown one) replaced by every hostile
    value, as its text: in a GET's query string, and in a batch."""
    for name in [*VALID, "x"]:
        for text in HOSTILE:
            params = {**VALID, name: text}
            probe.send("GET", probe.snowplow[1], query=urlencode(params,
                                                                 errors="surrogatepass"),
                       headers={"User-Agent": BROWSER})
            body = json.dumps({"schema": PAYLOAD_DATA, "data": [params, VALID]})
            probe.send("POST", probe.snowplow[0], body=body.encode("utf-8", "surrogatepass"),
                       headers=JSON_HEADERS)
    assert probe.sent.count > 1000


def test_every_field_of_a_snowplow_batch(probe):
    """Every value of a valid batch (its schema, each parameter) replaced by every hostile
    JSON value."""
    for _place, body in bodies({"schema": PAYLOAD_DATA, "data": [VALID, VALID]}):
        probe.send("POST", probe.snowplow[0], body=body, headers=JSON_HEADERS)
    assert probe.sent.count > 500


def test_the_valid_events_are_accepted(probe):
    for event in VALID_EVENTS:
        result = probe.send("GET", probe.snowplow[1], query=urlencode(event),
                            headers={"User-Agent": BROWSER})
        assert (result.status_code, len(probe.world.sink.accepted)) == (200, 1), result.text
    result = probe.send("POST", probe.snowplow[0], headers=JSON_HEADERS,
                        body=json.dumps({"schema": PAYLOAD_DATA, "data": VALID_EVENTS}).encode())
    assert (result.status_code, result.text, len(probe.world.sink.accepted)) == (
        200, "ok", len(VALID_EVENTS))
