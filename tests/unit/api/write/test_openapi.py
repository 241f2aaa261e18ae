"""The write service describes itself at ``GET /openapi.json``: its endpoints at the
configured paths, the event JSON Schema file itself as the collect endpoint's body, and
the reasons a refusal names."""

from __future__ import annotations

from dataclasses import replace

from analytics.config import Config
from analytics.event_schema import envelope_schema
from api.write.app import API_VERSION
from api.write.openapi import document
from tests.unit.api.write.conftest import make_write_world


def test_the_app_serves_its_document(write_world):
    result = write_world.client.simulate_get("/openapi.json")
    assert result.status_code == 200
    assert result.headers["content-type"] == "application/json"
    assert result.json == document(write_world.config, API_VERSION)


def test_every_endpoint_is_described():
    found = document(Config(), API_VERSION)
    operations = {(method.upper(), path) for path, item in found["paths"].items()
                  for method in item}
    assert operations == {
        ("POST", "/api/event"), ("OPTIONS", "/api/event"), ("GET", "/api/pixel.gif"),
        ("POST", "/mp/collect"), ("POST", "/plausible/api/event"),
        ("OPTIONS", "/plausible/api/event"), ("POST", "/umami/api/send"),
        ("OPTIONS", "/umami/api/send"), ("GET", "/js/sl.js"), ("GET", "/healthz"),
        ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/demo")}
    assert found["openapi"] == "3.1.0"


def test_the_collect_body_is_the_event_schema_file():
    found = document(Config(), API_VERSION)
    assert found["components"]["schemas"]["Event"] == envelope_schema()
    body = found["paths"]["/api/event"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"oneOf": [
        {"$ref": "#/components/schemas/Event"},
        {"type": "array", "minItems": 1, "maxItems": 100,
         "items": {"$ref": "#/components/schemas/Event"}}]}
    pixel = {p["name"]: p["schema"] for p in found["paths"]["/api/pixel.gif"]["get"]
             ["parameters"]}
    assert pixel["url"] == envelope_schema()["properties"]["url"]


def test_first_party_paths_are_where_the_config_puts_them():
    config = replace(Config(), collect_path="/p/e", script_path="/p/s.js", serve_demo=False,
                     plausible_path="/p/pl/api/event", umami_path="/p/u/api/send")
    paths = set(document(config, API_VERSION)["paths"])
    assert {"/p/e", "/p/s.js", "/p/pl/api/event", "/p/u/api/send"} <= paths
    assert not {"/api/event", "/js/sl.js", "/demo", "/plausible/api/event",
                "/umami/api/send"} & paths
    served = make_write_world(config).client.simulate_get("/openapi.json").json
    assert set(served["paths"]) == paths


def test_a_refusal_is_described_with_its_reason():
    found = document(Config(), API_VERSION)
    refusal = found["paths"]["/mp/collect"]["post"]["responses"]["403"]
    assert refusal["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert found["components"]["schemas"]["Error"]["required"] == [
        "title", "description", "request_id"]
