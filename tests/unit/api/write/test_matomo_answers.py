"""Matomo's endpoint under generated requests (hypothesis): whatever a query string, a
form body or a bulk body holds, the answer is Matomo's (the GIF, 204, the bulk's counts)
or a 4xx naming its reason — never a 5xx — and every request is either published or
counted and kept, exactly once."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from analytics.config import Config
from tests.unit.api.write.conftest import BROWSER, SHOP, VISITOR_IP, make_write_world

EXAMPLES = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
NAMES = st.sampled_from(["idsite", "rec", "url", "action_name", "urlref", "_id", "uid", "res",
                         "e_c", "e_a", "e_v", "link", "download", "search", "ping", "cdt",
                         "_cvar", "dimension1", "idgoal", "send_image", "token_auth", "x"])
VALUES = st.one_of(st.sampled_from(["7", "1", "0", "https://shop.example/a", "ftp://x/",
                                    "2026-11-30 00:00:00", '{"1":["a","b"]}', "x" * 600, ""]),
                   st.text(max_size=20))
QUERY = st.dictionaries(NAMES, VALUES, max_size=10).map(
    lambda p: urlencode({"idsite": "7", "rec": "1", "url": "https://shop.example/", **p}))
BULK = st.lists(st.one_of(QUERY.map(lambda q: "?" + q), st.integers(), st.text(max_size=10)),
                min_size=1, max_size=6).map(lambda r: json.dumps({"requests": r}))


def _refused_total() -> float:
    return sum(sample.value for metric in REGISTRY.collect()
               if metric.name == "analytics_write_events_refused"
               for sample in metric.samples if sample.name.endswith("_total"))


def _world():
    world = make_write_world(Config(client_id_hash_key="k", max_batch_events=5))
    world.sites.sites[SHOP.site_id] = replace(SHOP, matomo_idsite=7)
    return world


def _checked(world, result, requests: int) -> None:
    accepted, kept = len(world.sink.accepted), len(world.sink.invalid)
    assert result.status_code < 500, result.text
    if result.status_code >= 400:
        assert result.json["title"] and result.json["description"]
        assert (accepted, kept) == (0, 1)
    elif result.status_code == 200 and result.headers["content-type"].startswith(
            "application/json"):
        answer = result.json
        assert answer["tracked"] + answer["invalid"] == requests
        assert (accepted, kept) == (answer["tracked"], answer["invalid"])
    else:
        assert result.status_code in (200, 204)
        assert accepted + kept == 1


def test_generated_requests_are_answered_and_accounted_for():
    world = _world()

    @EXAMPLES
    @given(QUERY, st.booleans())
    def run(text, post):
        world.sink.clear()
        before = _refused_total()
        headers = {"User-Agent": BROWSER, "Content-Type": "application/x-www-form-urlencoded"}
        if post:
            result = world.client.simulate_post(world.config.matomo_path, body=text,
                                                remote_addr=VISITOR_IP, headers=headers)
        else:
            result = world.client.simulate_get(world.config.matomo_path, query_string=text,
                                               remote_addr=VISITOR_IP, headers=headers)
        _checked(world, result, 1)
        assert _refused_total() - before == len(world.sink.invalid)

    run()


def test_generated_bulks_are_answered_and_accounted_for():
    world = _world()

    @EXAMPLES
    @given(BULK)
    def run(body):
        world.sink.clear()
        before = _refused_total()
        result = world.client.simulate_post(world.config.matomo_path, body=body,
                                            remote_addr=VISITOR_IP,
                                            headers={"User-Agent": BROWSER})
        _checked(world, result, len(json.loads(body)["requests"]))
        assert _refused_total() - before == len(world.sink.invalid)

    run()
