import json
import uuid

from analytics.enrich.finalize import SCHEMA_NAME, Finalize, enriched_fields, prop_string

from .samples import load_schema, make_ctx

MINIMAL = {
    "site_id": "example.com",
    "kind": "pageview",
    "url": "https://example.com/",
    "received_at": 1_000_000_000_000,
    "event_time": 1_000_000_000_000,
    "visitor_id": "0" * 32,
    "is_bot": False,
}


def test_fields_are_the_enriched_schemas_properties_in_order():
    assert enriched_fields() == tuple(load_schema("enriched_event")["properties"])


def test_every_field_present_none_where_unknown_and_nothing_else(enriched_validator):
    event = {**MINIMAL, "event_id": "0B5E8A2C-3F1D-4E6A-9C2B-7D8E9F0A1B2C",
             "ip": "193.0.6.139", "client_id": "c-1", "private_note": 1}
    out = Finalize()(event, make_ctx(source="pixel"))
    assert list(out) == list(enriched_fields())
    assert out["event_id"] == "0b5e8a2c-3f1d-4e6a-9c2b-7d8e9f0a1b2c"
    assert out["schema"] == SCHEMA_NAME == "analytics/enriched_event/1-0-0"
    assert out["source_channel"] == "pixel"
    assert {k for k, v in out.items() if v is not None} == {
        "schema", "event_id", "site_id", "kind", "url", "received_at", "event_time",
        "visitor_id", "is_bot", "source_channel",
    }
    assert "193.0.6.139" not in json.dumps(out)
    enriched_validator.validate(out)


def test_missing_event_id_gets_a_uuid4():
    first = Finalize()(dict(MINIMAL), make_ctx())["event_id"]
    second = Finalize()(dict(MINIMAL), make_ctx())["event_id"]
    assert uuid.UUID(first).version == 4
    assert first != second


def test_props_values_become_strings():
    event = {**MINIMAL, "props": {
        "plan": "pro", "seats": 3, "ratio": 2.5, "trial": True, "paid": False,
        "big": 10**20, "tiny": 1e-07, "whole": 3.0, "gone": None,
    }}
    out = Finalize()(event, make_ctx())
    assert out["props"] == {
        "plan": "pro", "seats": "3", "ratio": "2.5", "trial": "true", "paid": "false",
        "big": "100000000000000000000", "tiny": "1e-07", "whole": "3.0",
    }


def test_props_are_copied_not_changed_in_the_callers_dict():
    props = {"seats": 3}
    Finalize()({**MINIMAL, "props": props}, make_ctx())
    assert props == {"seats": 3}


def test_prop_string_of_unexpected_values_is_json():
    assert prop_string(["a", 1]) == '["a",1]'
    assert prop_string({"k": "v"}) == '{"k":"v"}'
