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
        ("OPTIONS", "/umami/api/send"), ("GET", "/matomo/matomo.php"),
        ("POST", "/matomo/matomo.php"), ("OPTIONS", "/matomo/matomo.php"),
        ("GET", "/matomo/piwik.php"), ("POST", "/matomo/piwik.php"),
        ("OPTIONS", "/matomo/piwik.php"), ("POST", "/com.snowplowanalytics.snowplow/tp2"),
        ("OPTIONS", "/com.snowplowanalytics.snowplow/tp2"), ("GET", "/i"), ("OPTIONS", "/i"),
        ("GET", "/js/sl.js"), ("GET", "/healthz"),
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
                     plausible_path="/p/pl/api/event", umami_path="/p/u/api/send",
                     matomo_path="/p/m/matomo.php", snowplow_path="/p/sp/tp2",
                     snowplow_get_path="/p/sp/i")
    paths = set(document(config, API_VERSION)["paths"])
    assert {"/p/e", "/p/s.js", "/p/pl/api/event", "/p/u/api/send", "/p/m/matomo.php",
            "/p/m/piwik.php", "/p/sp/tp2", "/p/sp/i"} <= paths
    assert not {"/api/event", "/js/sl.js", "/demo", "/plausible/api/event",
                "/umami/api/send", "/matomo/matomo.php", "/matomo/piwik.php",
                "/com.snowplowanalytics.snowplow/tp2", "/i"} & paths
    served = make_write_world(config).client.simulate_get("/openapi.json").json
    assert set(served["paths"]) == paths


def test_piwik_php_is_described_only_beside_a_matomo_php():
    config = replace(Config(), matomo_path="/t/track")
    found = document(config, API_VERSION)["paths"]
    assert {path for path in found if "matomo" in path or "piwik" in path or
            path.startswith("/t/")} == {"/t/track"}
    assert {op["operationId"] for op in found["/t/track"].values()} == {
        "matomo", "matomoPost", "matomoPreflight"}


def test_the_matomo_parameters_are_those_the_collector_reads():
    found = document(Config(), API_VERSION)
    get = found["paths"]["/matomo/piwik.php"]["get"]
    assert [(p["name"], p["required"]) for p in get["parameters"]] == [
        ("idsite", True), ("rec", True), ("url", True), ("action_name", False),
        ("urlref", False), ("res", False), ("lang", False), ("ua", False),
        ("uid", False), ("cid", False), ("_id", False), ("cdt", False), ("e_c", False),
        ("e_a", False), ("e_n", False), ("e_v", False), ("link", False),
        ("download", False), ("search", False), ("search_cat", False),
        ("search_count", False), ("ping", False), ("send_image", False),
        ("_cvar", False), ("cvar", False)]
    assert "dimensionN" in get["description"]
    schemas = found["components"]["schemas"]
    form = schemas["Matomo"]
    assert set(form["properties"]) == {p["name"] for p in get["parameters"]}
    assert form["required"] == ["idsite", "rec", "url"]
    assert form["patternProperties"] == {"^dimension\\d{1,4}$": {
        "type": "string", "description": "a custom dimension: the prop of its name"}}
    assert schemas["MatomoBulk"]["properties"]["requests"]["maxItems"] == 100
    post = found["paths"]["/matomo/piwik.php"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/x-www-form-urlencoded",
                                                   "application/json"}
    assert set(post["responses"]["200"]["content"]) == {"image/gif", "application/json"}
    assert set(post["responses"]) == {"200", "204", "400", "403", "404", "409", "413", "429"}


def test_a_refusal_is_described_with_its_reason():
    found = document(Config(), API_VERSION)
    refusal = found["paths"]["/mp/collect"]["post"]["responses"]["403"]
    assert refusal["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert found["components"]["schemas"]["Error"]["required"] == [
        "title", "description", "request_id"]


def test_the_snowplow_parameters_are_those_the_collector_reads():
    found = document(Config(), API_VERSION)
    get = found["paths"]["/i"]["get"]
    assert [(p["name"], p["required"]) for p in get["parameters"]] == [
        ("aid", True), ("e", True), ("url", False), ("page", False), ("refr", False),
        ("res", False), ("lang", False), ("tz", False), ("ua", False), ("eid", False),
        ("uid", False), ("duid", False), ("tnuid", False), ("nuid", False), ("dtm", False),
        ("stm", False), ("ttm", False), ("se_ca", False), ("se_ac", False),
        ("se_la", False), ("se_pr", False), ("se_va", False), ("ue_pr", False),
        ("ue_px", False)]
    assert set(get["responses"]["200"]["content"]) == {"image/gif"}
    batch = found["components"]["schemas"]["SnowplowBatch"]
    event = batch["properties"]["data"]["items"]
    assert set(event["properties"]) == {p["name"] for p in get["parameters"]}
    assert (event["required"], batch["properties"]["data"]["maxItems"]) == (["e", "aid"], 100)
    post = found["paths"]["/com.snowplowanalytics.snowplow/tp2"]["post"]
    assert set(post["responses"]) == {"200", "400", "413", "429"}
    assert set(post["responses"]["200"]["content"]) == {"text/plain"}
