"""The compatible collectors (Plausible's Events API, Umami's /api/send, Matomo's Tracking
HTTP API) under requests as their clients send them, each as generated or with one
hostile mutation, and under every field of a valid request replaced by every hostile
value (``test_hostile_fields``). Every answer is Plausible's 202 "ok" / Umami's 200 /
Matomo's GIF, 204 or bulk counts, or a 4xx with a reason; every refusal is counted and
kept (answers.WriteProbe)."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.api.fuzz.answers import Sent, WriteProbe
from tests.unit.api.fuzz.conftest import fuzz
from tests.unit.api.fuzz.strategies import (
    EXTREME_DATES,
    HUGE_NUMBERS,
    JSON,
    WRONG_TYPES,
    hostile_json,
)
from tests.unit.api.fuzz.test_hostile_fields import HOSTILE, bodies
from tests.unit.api.write.conftest import BROWSER, SHOP, UMAMI_WEBSITE_ID, make_write_world

IDSITE = 7
"""The site's Matomo idsite (:func:`matomo_world`)."""


def matomo_world():
    """The write service's app whose one site also has the Matomo idsite :data:`IDSITE`."""
    world = make_write_world()
    world.sites.sites[SHOP.site_id] = replace(SHOP, matomo_idsite=IDSITE)
    return world


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
FORM = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": BROWSER}
ORIGINS = st.sampled_from([{}, {"Origin": "https://shop.example"},
                           {"Origin": "https://evil.example"}])


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


WORDS = mostly(st.text(max_size=12), JSON.map(_text))
NUMBERS = mostly(st.one_of(st.integers(-10, 10**6), st.floats(allow_nan=False,
                                                             allow_infinity=False)).map(str),
                 st.one_of(st.sampled_from(HUGE_NUMBERS), WORDS))
VARIABLES = mostly(st.dictionaries(st.sampled_from(["1", "2", "5"]), st.lists(
    st.sampled_from(["plan", "a b", "x" * 70, ""]), min_size=2, max_size=2), max_size=3)
                   .map(json.dumps), st.one_of(JSON.map(json.dumps), st.text(max_size=10)))
MATOMO = st.fixed_dictionaries(
    {"idsite": mostly(st.just(str(IDSITE)), st.one_of(st.sampled_from(
        ["0", "8", "-7", "7.0", " 7", "2147483648", "99999999999", ""]), WORDS)),
     "rec": mostly(st.just("1"), st.sampled_from(["0", "", "true", "01"])),
     "url": URLS.map(_text)},
    optional={"action_name": WORDS, "urlref": URLS.map(_text),
              "res": mostly(st.sampled_from(["1920x1080", "390x844"]), WORDS),
              "lang": mostly(st.sampled_from(["de-DE,de;q=0.9", "en"]), WORDS),
              "ua": mostly(st.just(BROWSER), st.sampled_from(["", "Googlebot/2.1", "x" * 2000])),
              "uid": WORDS, "cid": WORDS, "_id": mostly(st.just("3a1f0c2d4e5b6a79"), WORDS),
              "cdt": mostly(st.sampled_from(["1796000000", "2026-11-30 00:00:00",
                                             "2026-11-30T00:53:20+01:00"]),
                            st.sampled_from(EXTREME_DATES + HUGE_NUMBERS)),
              "e_c": WORDS, "e_a": WORDS, "e_n": WORDS, "e_v": NUMBERS,
              "link": URLS.map(_text), "download": URLS.map(_text), "search": WORDS,
              "search_cat": WORDS, "search_count": NUMBERS,
              "ping": st.sampled_from(["1", "0", ""]),
              "send_image": st.sampled_from(["0", "1", ""]),
              "_cvar": VARIABLES, "cvar": VARIABLES, "dimension1": WORDS,
              "dimension9999": WORDS, "dimension12345": WORDS,
              "idgoal": st.sampled_from(["", "1"]), "token_auth": WORDS,
              "cip": st.sampled_from(["1.2.3.4", "x"]), "pv_id": WORDS})
ESCAPES = ("&%", "&url=%zz", "&idsite=%u0037", "&%00=1", "&&&=", "&rec=1%00", ";idsite=8",
           "&e_c=%ff%fe&e_a=%c0%af", "&_cvar[1]=x", "&url[]=https://shop.example/", "&=")
UNSUPPORTED = ("idgoal", "ec_id", "ec_items", "c_n", "c_i", "ma_id", "cra")


@st.composite
def hostile_query(draw, params: st.SearchStrategy) -> tuple[str, bool]:
    """(query string, clean): ``params`` url-encoded, or with one mutation: an oversized
    or lone-surrogate value (its UTF-8 bytes escaped), more parameters than a request may
    hold, a parameter given twice, broken escapes, a parameter dropped, one of Matomo's
    features that are not collected, a huge number, an extreme date, deep or wrongly
    typed custom variables, a cut."""
    value = draw(params)
    mutation = draw(st.sampled_from((
        "none", "none", "none", "none", "none", "none", "oversize", "surrogate", "many",
        "repeat", "escape", "drop", "unsupported", "huge", "date", "deep", "wrong_type",
        "truncate")))
    name = draw(st.sampled_from(sorted(value)))
    if mutation == "oversize":
        value[name] = "x" * 70_000
    elif mutation == "surrogate":
        text = draw(st.text(max_size=5))
        value[name] = text + chr(draw(st.integers(0xD800, 0xDFFF))) + text
    elif mutation == "drop":
        del value[name]
    elif mutation == "unsupported":
        value[draw(st.sampled_from(UNSUPPORTED))] = draw(st.sampled_from(["1", "x", "[]"]))
    elif mutation == "huge":
        number = draw(st.sampled_from(["idsite", "e_v", "search_count", "cdt", "res"]))
        value[number] = draw(st.sampled_from(HUGE_NUMBERS))
    elif mutation == "date":
        value["cdt"] = draw(st.sampled_from(EXTREME_DATES))
    elif mutation in ("deep", "wrong_type"):
        depth = draw(st.sampled_from((1000, 1100, 33)))
        value[draw(st.sampled_from(["_cvar", "cvar"]))] = (
            "[" * depth + "]" * depth if mutation == "deep"
            else json.dumps({"1": draw(st.sampled_from(WRONG_TYPES))}))
    text = urlencode(value, errors="surrogatepass")
    if mutation == "many":
        text += "".join(f"&p{n}=1" for n in range(600))
    elif mutation == "repeat":
        text += "&" + urlencode({name: draw(WORDS)}, errors="surrogatepass")
    elif mutation == "escape":
        text += draw(st.sampled_from(ESCAPES))
    elif mutation == "truncate" and len(text) > 1:
        text = text[:draw(st.integers(1, len(text) - 1))]
    return text, mutation == "none"


MATOMO_BULK = st.fixed_dictionaries(
    {"requests": mostly(
        st.lists(st.tuples(st.sampled_from(["?", "", "/matomo/matomo.php?"]),
                           hostile_query(MATOMO)).map(lambda t: t[0] + t[1][0]),
                 min_size=1, max_size=5),
        st.one_of(st.just([]), st.lists(JSON, min_size=1, max_size=3),
                  st.just([f"?idsite={IDSITE}&rec=1&url=https%3A%2F%2Fshop.example%2F"]
                          * 101)))},
    optional={"token_auth": WORDS})


def send_matomo(probe, text: str, *, post: bool, path: int = 0,
                headers: dict | None = None, query: str = ""):
    """One Matomo request to ``matomo.php`` or ``piwik.php`` (``path`` 0 or 1): ``text`` as
    the query string of a GET, or the form body of a POST (``query`` in its URL)."""
    where = probe.matomo[path % len(probe.matomo)]
    if post:
        return probe.send("POST", where, body=text.encode("utf-8", "surrogatepass"),
                          query=query, headers={**FORM, **(headers or {})})
    return probe.send("GET", where, query=text, headers={**FORM, **(headers or {})})


@pytest.fixture
def probe(request):
    return WriteProbe(matomo_world(), Sent(request.node.nodeid))


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


def test_matomo_requests_and_hostile_mutations(probe):
    @fuzz(800)
    @given(hostile_query(MATOMO), st.booleans(), st.integers(0, 1), ORIGINS,
           st.sampled_from(["", "", "send_image=0", "send_image=1",
                            f"idsite={IDSITE}&rec=1"]))
    def run(generated, post, path, origin, query):
        text, _clean = generated
        send_matomo(probe, text, post=post, path=path, headers=origin, query=query)

    run()
    assert probe.sent.count >= 700


def test_matomo_bulks_and_hostile_mutations(probe):
    @fuzz(500)
    @given(hostile_json(MATOMO_BULK, date_fields=("token_auth",)), st.integers(0, 1),
           ORIGINS)
    def run(generated, path, origin):
        body, _clean = generated
        probe.send("POST", probe.matomo[path % len(probe.matomo)], body=body,
                   headers={"Content-Type": "application/json", "User-Agent": BROWSER,
                            **origin})

    run()
    assert probe.sent.count >= 400


PLAUSIBLE_BODY = {"n": "Signup", "u": "https://shop.example/a?utm_source=x",
                  "d": "shop.example", "r": "https://other.example/", "p": {"plan": "pro"},
                  "m": "{}", "$": {"amount": "1.5", "currency": "EUR"}, "e": 1, "sd": 1,
                  "w": 1, "h": 1, "i": False, "v": 1}
UMAMI_BODY = {"type": "event", "payload": {
    "website": UMAMI_WEBSITE_ID, "hostname": "shop.example", "url": "/a",
    "referrer": "https://other.example/", "title": "t", "language": "de", "screen": "1x1",
    "name": "signup", "data": {"plan": "pro", "n": {"m": 1}}, "id": "u-1",
    "engagement": 1, "tag": "b"}}
MATOMO_PARAMS = {
    "idsite": str(IDSITE), "rec": "1", "url": "https://shop.example/a?mtm_campaign=x",
    "action_name": "A", "urlref": "https://other.example/", "res": "1920x1080",
    "lang": "de-DE,de;q=0.9", "ua": BROWSER, "uid": "u-1", "cid": "0123456789abcdef",
    "_id": "3a1f0c2d4e5b6a79", "e_c": "Buy", "e_a": "click", "e_n": "pro", "e_v": "2.5",
    "_cvar": '{"1":["plan","pro"]}', "cvar": '{"2":["seats","3"]}', "dimension1": "x",
    "send_image": "1", "token_auth": "t", "cip": "1.2.3.4"}
MATOMO_QUERIES = [urlencode(params) for params in (
    MATOMO_PARAMS, {**MATOMO_PARAMS, "e_c": "", "e_a": "", "send_image": "0"},
    {**MATOMO_PARAMS, "e_c": "", "e_a": "", "ping": "1"},
    {**MATOMO_PARAMS, "e_c": "", "e_a": "", "link": "https://other.example/"},
    {**MATOMO_PARAMS, "e_c": "", "e_a": "", "download": "https://shop.example/a.pdf"},
    {**MATOMO_PARAMS, "e_c": "", "e_a": "", "search": "shoes", "search_cat": "c",
     "search_count": "4"})]
MATOMO_BULK_BODY = {"requests": ["?" + MATOMO_QUERIES[0], MATOMO_QUERIES[1],
                                 "?" + MATOMO_QUERIES[2],
                                 "/matomo/matomo.php?" + MATOMO_QUERIES[3]],
                    "token_auth": "t"}
"""Valid requests: each is accepted as it is (``test_the_valid_bodies_are_accepted``)."""


@pytest.mark.parametrize("valid", [
    PLAUSIBLE_BODY, {**PLAUSIBLE_BODY, "n": "engagement"}, UMAMI_BODY,
    {**UMAMI_BODY, "type": "engagement"},
    {**UMAMI_BODY, "payload": {**UMAMI_BODY["payload"], "timestamp": 1}},
    MATOMO_BULK_BODY])
def test_every_field_of_a_collector_body(request, valid):
    probe = WriteProbe(matomo_world(), Sent(request.node.nodeid))
    path = (probe.umami if "payload" in valid else probe.matomo[0] if "requests" in valid
            else probe.plausible)
    for _place, body in bodies(valid):
        probe.send("POST", path, body=body, headers=HEADERS)
    assert probe.sent.count > 300


@pytest.mark.parametrize("post", [False, True])
def test_every_parameter_of_a_matomo_request(request, post):
    """Each parameter of a valid request (and an unknown one, a dimension) replaced by
    every hostile value, as its text."""
    probe = WriteProbe(matomo_world(), Sent(request.node.nodeid))
    for name in [*MATOMO_PARAMS, "x", "dimension2"]:
        for text in HOSTILE:
            send_matomo(probe, urlencode({**MATOMO_PARAMS, name: text},
                                         errors="surrogatepass"), post=post)
    assert probe.sent.count > 1000


def test_the_valid_bodies_are_accepted(probe):
    for path, valid in ((probe.plausible, PLAUSIBLE_BODY),
                        (probe.plausible, {**PLAUSIBLE_BODY, "n": "engagement"}),
                        (probe.umami, UMAMI_BODY),
                        (probe.umami, {**UMAMI_BODY, "type": "engagement"})):
        result = probe.send("POST", path, body=json.dumps(valid).encode(), headers=HEADERS)
        assert (result.status_code, len(probe.world.sink.accepted)) == (
            202 if path == probe.plausible else 200, 1), result.text
    for path in (0, 1):
        for post in (False, True):
            for query in MATOMO_QUERIES:
                result = send_matomo(probe, query, post=post, path=path)
                assert (result.status_code, len(probe.world.sink.accepted)) == (
                    204 if "send_image=0" in query else 200, 1), result.text
        result = probe.send("POST", probe.matomo[path], headers=HEADERS,
                            body=json.dumps(MATOMO_BULK_BODY).encode())
        assert (result.json, len(probe.world.sink.accepted)) == (
            {"status": "success", "tracked": 4, "invalid": 0, "invalid_indices": []}, 4)
