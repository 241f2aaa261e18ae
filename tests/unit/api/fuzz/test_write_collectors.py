"""The compatible collectors (Plausible's Events API, Umami's /api/send) under bodies as
their clients send them, each as generated or with one hostile mutation, and under every
field of a valid body replaced by every hostile value (``test_hostile_fields``). Every
answer is Plausible's 202 "ok" / Umami's 200, or a 4xx with a reason; every refusal is
counted and kept (answers.WriteProbe)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.api.fuzz.answers import Sent, WriteProbe
from tests.unit.api.fuzz.conftest import fuzz
from tests.unit.api.fuzz.strategies import JSON, hostile_json
from tests.unit.api.fuzz.test_hostile_fields import bodies
from tests.unit.api.write.conftest import BROWSER, UMAMI_WEBSITE_ID, make_write_world


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` four times in five, else ``bad`` (so that many bodies reach the pipeline)."""
    return st.integers(0, 4).flatmap(lambda k: bad if k == 4 else good)


URLS = mostly(st.sampled_from(["https://shop.example/",
                               "http://www.shop.example/a?utm_source=x#h"]),
              st.one_of(st.sampled_from(["/relative", "https://[bad/", "app://localhost/x",
                                         "", "x" * 3000, "https://shop.example:99999/"]),
                        JSON))
TEXT = mostly(st.text(max_size=12), JSON)
PROPS = mostly(st.dictionaries(st.sampled_from(["plan", "seats", "ok"]),
                               st.one_of(st.text(max_size=8), st.integers(), st.booleans()),
                               max_size=3),
               st.one_of(st.dictionaries(st.sampled_from(["a b", "", "x" * 70]), JSON,
                                         max_size=2), st.text(max_size=10), JSON))
PLAUSIBLE = st.fixed_dictionaries(
    {"n": mostly(st.sampled_from(["pageview", "engagement", "Signup"]),
                 st.one_of(st.sampled_from(["", "x" * 121]), st.integers(), JSON)),
     "u": URLS},
    optional={"d": mostly(st.sampled_from(["shop.example", "www.shop.example,shop.example"]),
                          st.one_of(st.sampled_from(["unknown.example", " , ", ""]), JSON)),
              "r": TEXT, "p": PROPS, "m": mostly(PROPS.map(json.dumps), TEXT),
              "$": mostly(st.fixed_dictionaries(
                  {"amount": st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                                       st.decimals(allow_nan=False, allow_infinity=False,
                                                   places=2).map(str)),
                   "currency": st.sampled_from(["EUR", "USD"])}),
                  st.one_of(st.fixed_dictionaries({"amount": TEXT, "currency": TEXT}), JSON)),
              "e": mostly(st.integers(0, 10**6), st.one_of(st.text(max_size=4), JSON)),
              "sd": mostly(st.integers(0, 150), JSON), "w": mostly(st.integers(0, 4000), JSON),
              "h": JSON, "i": JSON})
UMAMI = st.fixed_dictionaries(
    {"type": mostly(st.sampled_from(["event", "event", "engagement"]),
                    st.sampled_from(["identify", "performance", "x"])),
     "payload": st.fixed_dictionaries(
         {"website": mostly(st.sampled_from([UMAMI_WEBSITE_ID, UMAMI_WEBSITE_ID.upper()]),
                            st.sampled_from(["00000000-0000-4000-8000-000000000000", "x"]))},
         optional={"hostname": mostly(st.sampled_from(["shop.example", "www.shop.example"]),
                                      TEXT),
                   "url": URLS, "screen": mostly(st.sampled_from(["1920x1080", "390x844"]),
                                                 TEXT)}
         | {name: TEXT for name in ("referrer", "title", "language", "name", "id", "tag")}
         | {"data": PROPS, "timestamp": st.one_of(st.integers(), TEXT),
            "engagement": mostly(st.integers(1, 10**6), JSON)})})
HEADERS = {"Content-Type": "text/plain", "User-Agent": BROWSER}


@pytest.fixture
def probe(request):
    return WriteProbe(make_write_world(), Sent(request.node.nodeid))


def test_plausible_bodies_and_hostile_mutations(probe):
    @fuzz(600)
    @given(hostile_json(PLAUSIBLE, date_fields=("e",)),
           st.sampled_from([{}, {"Origin": "https://shop.example"},
                            {"Origin": "https://evil.example"}]))
    def run(generated, origin):
        body, _clean = generated
        probe.send("POST", probe.plausible, body=body, headers={**HEADERS, **origin})

    run()
    assert probe.sent.count >= 500


def test_umami_bodies_and_hostile_mutations(probe):
    @fuzz(600)
    @given(hostile_json(UMAMI, date_fields=("timestamp",)))
    def run(generated):
        body, _clean = generated
        probe.send("POST", probe.umami, body=body, headers=HEADERS)

    run()
    assert probe.sent.count >= 500


PLAUSIBLE_BODY = {"n": "Signup", "u": "https://shop.example/a?utm_source=x",
                  "d": "shop.example", "r": "https://other.example/", "p": {"plan": "pro"},
                  "m": "{}", "$": {"amount": "1.5", "currency": "EUR"}, "e": 1, "sd": 1,
                  "w": 1, "h": 1, "i": False, "v": 1}
UMAMI_BODY = {"type": "event", "payload": {
    "website": UMAMI_WEBSITE_ID, "hostname": "shop.example", "url": "/a",
    "referrer": "https://other.example/", "title": "t", "language": "de", "screen": "1x1",
    "name": "signup", "data": {"plan": "pro", "n": {"m": 1}}, "id": "u-1",
    "engagement": 1, "tag": "b"}}
"""Valid bodies: each is accepted as it is (``test_the_valid_bodies_are_accepted``)."""


@pytest.mark.parametrize("valid", [
    PLAUSIBLE_BODY, {**PLAUSIBLE_BODY, "n": "engagement"}, UMAMI_BODY,
    {**UMAMI_BODY, "type": "engagement"},
    {**UMAMI_BODY, "payload": {**UMAMI_BODY["payload"], "timestamp": 1}}])
def test_every_field_of_a_collector_body(request, valid):
    probe = WriteProbe(make_write_world(), Sent(request.node.nodeid))
    path = probe.umami if "payload" in valid else probe.plausible
    for _place, body in bodies(valid):
        probe.send("POST", path, body=body, headers=HEADERS)
    assert probe.sent.count > 300


def test_the_valid_bodies_are_accepted(probe):
    for path, valid in ((probe.plausible, PLAUSIBLE_BODY),
                        (probe.plausible, {**PLAUSIBLE_BODY, "n": "engagement"}),
                        (probe.umami, UMAMI_BODY),
                        (probe.umami, {**UMAMI_BODY, "type": "engagement"})):
        result = probe.send("POST", path, body=json.dumps(valid).encode(), headers=HEADERS)
        assert (result.status_code, len(probe.world.sink.accepted)) == (
            202 if path == probe.plausible else 200, 1), result.text
