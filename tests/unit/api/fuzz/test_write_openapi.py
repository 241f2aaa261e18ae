"""Schemathesis against the write service's own OpenAPI document (``GET /openapi.json``),
in-process: every operation, with values that follow the document (positive) and values
that break it (negative). Half the Measurement Protocol cases carry the site's real id
and secret, half the collect cases the real site id, half the Plausible, Umami, Matomo
and Snowplow cases the site's domain, Umami website id, Matomo idsite and Snowplow app
id, so they reach the enrichment. Every answer is a 2xx or a 4xx with a reason, and every
refusal is counted and kept; the compatible collectors answer as the services they stand
in for."""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.api.fuzz.answers import Sent, WriteProbe
from tests.unit.api.fuzz.cases import cases, operations, request_of, with_modes
from tests.unit.api.fuzz.conftest import fuzz
from tests.unit.api.fuzz.test_write_collectors import IDSITE
from tests.unit.api.fuzz.test_write_snowplow import APP_ID, snowplow_world
from tests.unit.api.write.conftest import MP_SECRET, SHOP, UMAMI_WEBSITE_ID, make_write_world

DOCUMENT = make_write_world().client.simulate_get("/openapi.json").json
LOADED, OPERATIONS = operations(DOCUMENT)
EXAMPLES = {("POST", "/api/event"): 250, ("GET", "/api/pixel.gif"): 200,
            ("POST", "/mp/collect"): 200, ("POST", "/plausible/api/event"): 200,
            ("POST", "/umami/api/send"): 200, ("GET", "/matomo/matomo.php"): 200,
            ("POST", "/matomo/matomo.php"): 250, ("GET", "/matomo/piwik.php"): 50,
            ("POST", "/matomo/piwik.php"): 50,
            ("POST", "/com.snowplowanalytics.snowplow/tp2"): 200, ("GET", "/i"): 200}
"""Per operation and mode; the others (no parameters, no body) need few."""
MATOMO_REQUEST = f"?idsite={IDSITE}&rec=1&url=https%3A%2F%2Fshop.example%2F&"


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
    for params in (case.query, case.body):  # Matomo's idsite: a GET's, a form body's
        if isinstance(params, dict) and "idsite" in params:
            params["idsite"] = IDSITE
    if isinstance(case.body, dict) and isinstance(case.body.get("requests"), list):
        case.body["requests"] = [  # a Matomo bulk: each request of the site
            MATOMO_REQUEST + r.lstrip("?") if isinstance(r, str) else r
            for r in case.body["requests"]]
    if isinstance(case.query, dict) and "aid" in case.query:  # Snowplow's app id: a GET's
        case.query["aid"] = APP_ID
    if isinstance(case.body, dict) and isinstance(case.body.get("data"), list):
        for event in case.body["data"]:  # a Snowplow batch: each event of the site
            if isinstance(event, dict):
                event["aid"] = APP_ID
    events = case.body if isinstance(case.body, list) else [case.body]
    for event in events:  # a site_id of the wrong type stays as it is
        if isinstance(event, dict) and isinstance(event.get("site_id"), str):
            event["site_id"] = SHOP.site_id


def _form_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _form(body):
    """A form body as its client sends it (``application/x-www-form-urlencoded``): the
    fields' text (JSON for objects, as the document's encoding says of Matomo's custom
    variables), a list's items as repeated fields."""
    if not isinstance(body, Mapping):
        return body
    pairs = [(_form_text(k), _form_text(v)) for k, value in body.items()
             for v in (value if isinstance(value, list) else [value])]
    return urlencode(pairs, errors="surrogatepass").encode()


@pytest.mark.parametrize(("method", "path", "mode"), with_modes(DOCUMENT, OPERATIONS))
def test_every_operation_of_the_document(request, method, path, mode):
    probe = WriteProbe(snowplow_world(), Sent(request.node.nodeid))

    @fuzz(EXAMPLES.get((method, path), 20))
    @given(cases(LOADED, method, path, mode), st.booleans())
    def run(case, real_ids):
        _real_ids(case, real_ids)
        sent = request_of(case)
        probe.send(sent["method"], sent["path"], body=_form(sent["body"]),
                   query=sent["query_string"], headers=sent["headers"])

    run()
    assert probe.sent.count >= 1


def test_the_document_covers_every_route():
    assert {path for _, path in OPERATIONS} == {
        "/api/event", "/api/pixel.gif", "/mp/collect", "/plausible/api/event",
        "/umami/api/send", "/matomo/matomo.php", "/matomo/piwik.php",
        "/com.snowplowanalytics.snowplow/tp2", "/i", "/js/sl.js",
        "/healthz", "/metrics", "/openapi.json", "/demo"}
