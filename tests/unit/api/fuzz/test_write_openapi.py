"""Schemathesis against the write service's own OpenAPI document (``GET /openapi.json``),
in-process: every operation, with values that follow the document (positive) and values
that break it (negative). Half the Measurement Protocol cases carry the site's real id
and secret, half the collect cases the real site id, half the Plausible and Umami cases
the site's domain and Umami website id, so they reach the enrichment.
Every answer is a 2xx or a 4xx with a reason, and every refusal is counted and kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.api.fuzz.answers import Sent, WriteProbe
from tests.unit.api.fuzz.cases import cases, operations, request_of, with_modes
from tests.unit.api.fuzz.conftest import fuzz
from tests.unit.api.write.conftest import MP_SECRET, SHOP, UMAMI_WEBSITE_ID, make_write_world

DOCUMENT = make_write_world().client.simulate_get("/openapi.json").json
LOADED, OPERATIONS = operations(DOCUMENT)
EXAMPLES = {("POST", "/api/event"): 250, ("GET", "/api/pixel.gif"): 200,
            ("POST", "/mp/collect"): 200, ("POST", "/plausible/api/event"): 200,
            ("POST", "/umami/api/send"): 200}
"""Per operation and mode; the others (no parameters, no body) need few."""


def _real_ids(case, use: bool) -> None:
    if not use:
        return
    if isinstance(case.body, dict):  # Plausible's domain, Umami's website id
        for name in ("d", "domain"):
            if isinstance(case.body.get(name), str):
                case.body[name] = SHOP.domain
        if isinstance(case.body.get("payload"), dict) and isinstance(
                case.body["payload"].get("website"), str):
            case.body["payload"]["website"] = UMAMI_WEBSITE_ID
    if isinstance(case.query, dict) and "measurement_id" in case.query:
        case.query["measurement_id"], case.query["api_secret"] = SHOP.site_id, MP_SECRET
    if isinstance(case.query, dict) and "site_id" in case.query:
        case.query["site_id"] = SHOP.site_id
    events = case.body if isinstance(case.body, list) else [case.body]
    for event in events:  # a site_id of the wrong type stays as it is
        if isinstance(event, dict) and isinstance(event.get("site_id"), str):
            event["site_id"] = SHOP.site_id


@pytest.mark.parametrize(("method", "path", "mode"), with_modes(DOCUMENT, OPERATIONS))
def test_every_operation_of_the_document(request, method, path, mode):
    probe = WriteProbe(make_write_world(), Sent(request.node.nodeid))

    @fuzz(EXAMPLES.get((method, path), 20))
    @given(cases(LOADED, method, path, mode), st.booleans())
    def run(case, real_ids):
        _real_ids(case, real_ids)
        sent = request_of(case)
        probe.send(sent["method"], sent["path"], body=sent["body"],
                   query=sent["query_string"], headers=sent["headers"])

    run()
    assert probe.sent.count >= 1


def test_the_document_covers_every_route():
    assert {path for _, path in OPERATIONS} == {
        "/api/event", "/api/pixel.gif", "/mp/collect", "/plausible/api/event",
        "/umami/api/send", "/js/sl.js", "/healthz", "/metrics", "/openapi.json", "/demo"}
