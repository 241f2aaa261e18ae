"""Every field of a valid request, one at a time, replaced by every hostile value: wrong
types (lists and objects where a key is expected first), ~1,000-deep arrays and objects,
lone surrogates, numbers beyond a double or 64 bits, extreme dates, an oversized string.
Systematic where the property-based tests sample: each (field, value) pair is sent once,
to the write service's collect and Measurement Protocol endpoints, and to the read
service's reports (POST and GET), ad-hoc jobs and exports. Every answer is a 2xx or a 4xx
with a reason; on the write service every refusal is counted and kept."""

from __future__ import annotations

import json

import pytest

from analytics.event_schema import envelope_schema
from api.read.jobs import schema as job_schema
from api.read.query import schema as query_schema
from api.read.resources import REPORTS
from tests.unit.api.fuzz.answers import Sent, WriteProbe, check, simulate
from tests.unit.api.fuzz.strategies import EXTREME_DATES, HUGE_NUMBERS, WRONG_TYPES
from tests.unit.api.read.conftest import ALL_TOKEN, BLOG_TOKEN, make_full_world
from tests.unit.api.write.conftest import BROWSER, MP_SECRET, SHOP, make_write_world

MARKER = "@@field@@"
HOSTILE = [
    *(json.dumps(v) for v in WRONG_TYPES),
    "[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000, "[" * 40 + "]" * 40,
    '"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"',
    *HUGE_NUMBERS, *(json.dumps(d) for d in EXTREME_DATES),
    json.dumps("x" * 70_000), json.dumps("=HYPERLINK(\"https://evil.example\")"),
]
EVENT = {"site_id": SHOP.site_id, "kind": "custom", "name": "signup",
         "url": "https://shop.example/a", "referrer": "https://other.example/",
         "title": "A", "screen_width": 1, "screen_height": 1, "language": "de",
         "time_zone": "Europe/Berlin", "utm_source": "s", "utm_medium": "m",
         "utm_campaign": "c", "utm_term": "t", "utm_content": "c", "props": {"plan": "pro"},
         "engagement_ms": 1, "created_at": 1, "sent_at": 1, "client_id": "c1",
         "event_id": "123e4567-e89b-12d3-a456-426614174000"}
MP = {"client_id": "c1", "timestamp_micros": 1, "events": [
    {"name": "page_view", "params": {"page_location": "https://shop.example/a",
                                     "page_referrer": "r", "page_title": "t",
                                     "engagement_time_msec": 1, "language": "de",
                                     "value": 1}}]}
QUERY = {"site_id": "shop.example", "date_range": "custom", "start": "2026-11-01",
         "end": "2026-11-02", "metrics": ["visitors"], "dimensions": ["page"],
         "filters": [{"dimension": "page", "op": "is", "value": "/"}], "interval": "day",
         "order_by": [{"field": "visitors", "desc": True}], "limit": 10, "offset": 0}
BREAKDOWN = {"site_id": "shop.example", "kind": "breakdown", "start": "2026-11-01",
             "end": "2026-11-02", "dimension": "page", "metrics": ["visitors"],
             "filters": [{"dimension": "page", "op": "is", "value": "/"}], "limit": 10}
FUNNEL = {"site_id": "shop.example", "kind": "funnel", "start": "2026-11-01",
          "end": "2026-11-02", "steps": [{"type": "page", "value": "/"},
                                         {"type": "event", "value": "signup"}]}


def _places(value, prefix=()) -> list[tuple]:
    """Every key and list item inside ``value``, parents first."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, child in items:
        found += [(*prefix, key), *_places(child, (*prefix, key))]
    return found


def _with(value, place: tuple, text: str) -> bytes:
    def put(node, rest):
        if not rest:
            return MARKER
        copy = dict(node) if isinstance(node, dict) else list(node)
        copy[rest[0]] = put(copy[rest[0]], rest[1:])
        return copy
    return json.dumps(put(value, place)).replace(f'"{MARKER}"', text).encode()


def bodies(valid: dict, schema: dict | None = None):
    """(place, body) for every place in ``valid`` (and every property of ``schema``,
    plus an unknown one) and every hostile value."""
    places = _places(valid) + [(name,) for name in (schema or {}).get("properties", {})
                               if name not in valid] + [("unknown",)]
    for place in places:
        for text in HOSTILE:
            yield place, _with({**valid, **({place[0]: None} if place[0] not in valid
                                            else {})}, place, text)


def test_every_field_of_an_event(request):
    probe = WriteProbe(make_write_world(), Sent(request.node.nodeid))
    for valid in (EVENT, [EVENT, {**EVENT, "kind": "pageview"}]):
        for _place, body in (bodies(valid, envelope_schema()) if isinstance(valid, dict)
                             else ((p, _with(valid, p, t)) for p in _places(valid)
                                   for t in HOSTILE)):
            probe.send("POST", "/api/event", body=body,
                       headers={"Content-Type": "application/json", "User-Agent": BROWSER})
    assert probe.sent.count > 2000


def test_every_field_of_a_measurement_protocol_payload(request):
    probe = WriteProbe(make_write_world(), Sent(request.node.nodeid))
    for _place, body in bodies(MP):
        probe.send("POST", "/mp/collect", body=body, headers={"Content-Type":
                                                              "application/json"},
                   query=f"measurement_id={SHOP.site_id}&api_secret={MP_SECRET}")
    assert probe.sent.count > 500


@pytest.fixture
def world(tmp_path):
    return make_full_world(tmp_path)


def _post(world, sent, path, body, token=ALL_TOKEN):
    result = simulate(world.client, "POST", path, body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    sent.add()
    check(result, f"POST {path} {body[:300]!r}")


def test_every_field_of_a_report_query(world, request):
    sent = Sent(request.node.nodeid)
    for place, body in bodies(QUERY, query_schema()):
        for kind in REPORTS:
            _post(world, sent, f"/api/v1/reports/{kind}", body)
        if place == ("site_id",):
            _post(world, sent, "/api/v1/reports/aggregate", body, BLOG_TOKEN)
    assert sent.count > 2000


def test_every_parameter_of_a_report_and_an_export(world, request):
    sent = Sent(request.node.nodeid)
    params = {"site_id": "shop.example", "date_range": "custom", "start": "2026-11-01",
              "end": "2026-11-02", "metrics": "visitors", "dimension": "page",
              "filters": '[{"dimension":"page","op":"is","value":"/"}]', "interval": "day",
              "order_by": "-visitors", "limit": "10", "offset": "0", "format": "csv",
              "tables": "pages"}
    paths = [*(f"/api/v1/reports/{k}" for k in REPORTS), "/api/v1/export/pages",
             "/api/v1/export/daily_stats", "/api/v1/realtime"]
    for name in params:
        for text in HOSTILE:
            value = text[1:-1] if text.startswith('"') else text
            for path in paths:
                result = simulate(world.client, "GET", path,
                                  params={**params, name: value},
                                  headers={"Authorization": f"Bearer {ALL_TOKEN}"})
                sent.add()
                check(result, f"GET {path} {name}={value[:200]!r}")
    assert sent.count > 2500


def test_every_field_of_a_job(world, request):
    sent = Sent(request.node.nodeid)
    for valid in (BREAKDOWN, FUNNEL):
        for _place, body in bodies(valid, job_schema()):
            _post(world, sent, "/api/v1/jobs", body)
            _post(world, sent, "/api/v1/jobs", body, BLOG_TOKEN)
    assert sent.count > 1000


def test_every_parameter_of_the_pixel(request):
    probe = WriteProbe(make_write_world(), Sent(request.node.nodeid))
    valid = {"site_id": SHOP.site_id, "kind": "custom", "name": "signup",
             "url": "https://shop.example/a", "referrer": "https://other.example/",
             "title": "A", "utm_source": "s", "utm_medium": "m", "utm_campaign": "c",
             "utm_term": "t", "utm_content": "c",
             "event_id": "123e4567-e89b-12d3-a456-426614174000"}
    values = ["%ED%A0%80", "%FF%FE", "%00", "%", "%%", "x" * 70_000, "[]", "{}", "1e400",
              "=HYPERLINK(1)", "https://[bad/", *(d for d in EXTREME_DATES if d)]
    for name in [*valid, "unknown"]:
        for value in values:
            query = "&".join(f"{k}={value if k == name else v}" for k, v in
                             {**valid, name: value}.items())
            probe.send("GET", "/api/pixel.gif", query=query, headers={"User-Agent": BROWSER})
            probe.send("GET", "/api/pixel.gif", query=f"{query}&{name}=again",
                       headers={"User-Agent": BROWSER})
    assert probe.sent.count > 400


ACCOUNT_BODIES = {
    ("POST", "/api/v1/auth/login"): {"email": "ada@example.com", "password": "x"},
    ("POST", "/api/v1/auth/password"): {"current_password": "x", "new_password": "y" * 12},
    ("PATCH", "/api/v1/sites/shop.example/settings"): {
        "domain": "shop.example", "allowed_origins": ["https://a.example"],
        "timezone": "Europe/Berlin", "goals": ["signup"], "retention_days": 30},
    ("POST", "/api/v1/sites/shop.example/members"): {"email": "vic@example.com",
                                                     "role": "viewer"},
    ("POST", "/api/v1/sites/shop.example/shared-links"): {"label": "x", "password": "p" * 12},
    ("POST", "/api/v1/share/x.y/unlock"): {"password": "x"},
}


def test_every_field_of_the_account_and_admin_bodies(world, request):
    sent = Sent(request.node.nodeid)
    admin = world.signed_in("ada@example.com")
    headers = {"Content-Type": "application/json", "X-CSRF-Token": admin.csrf}
    for (method, path), valid in ACCOUNT_BODIES.items():
        for _place, body in bodies(valid):
            result = simulate(world.client, method, path, body=body, headers=headers,
                              cookies=admin.cookies)
            sent.add()
            check(result, f"{method} {path} {body[:300]!r}")
    assert sent.count > 900
