"""The compiled validator and the reference one agree; Spark's schema comes from the file."""

import pytest

from analytics.event_schema import enriched_schema, envelope_validator, spark_schema

VALID = {"site_id": "shop.example", "kind": "pageview", "url": "https://shop.example/"}


@pytest.mark.parametrize("event", [
    VALID,
    {**VALID, "event_id": "0b9c3bde-9e8f-4d6a-8a53-0f3f0f1d2c3a", "props": {"a": 1, "b": True}},
    {**VALID, "kind": "custom", "name": "signup"},
    {**VALID, "kind": "engagement", "engagement_ms": 1200},
])
def test_valid_events(event):
    validator = envelope_validator()
    assert validator.is_valid(event)
    assert list(validator.iter_errors(event)) == []


@pytest.mark.parametrize("event", [
    {},
    {**VALID, "kind": "custom"},  # custom needs a name
    {**VALID, "kind": "engagement"},  # engagement needs engagement_ms
    {**VALID, "url": "ftp://x.example/"},
    {**VALID, "url": "https://x.example/" + "a" * 2048},
    {**VALID, "event_id": "not-a-uuid"},
    {**VALID, "site_id": "Upper.Case"},
    {**VALID, "props": {f"k{i}": "v" for i in range(31)}},
    {**VALID, "props": {"nested": {"a": 1}}},
    {**VALID, "props": {"long": "x" * 513}},
    {**VALID, "unknown_field": 1},
    {**VALID, "screen_width": -1},
])
def test_invalid_events_are_caught_by_both_and_explained(event):
    validator = envelope_validator()
    assert not validator.is_valid(event)
    assert list(validator.iter_errors(event))


def test_spark_schema_has_every_enriched_field_with_its_type():
    schema = spark_schema()
    assert schema.fieldNames() == list(enriched_schema()["properties"])
    types = {f.name: f.dataType.simpleString() for f in schema.fields}
    assert (types["event_time"], types["is_bot"], types["props"], types["url"]) == (
        "bigint", "boolean", "map<string,string>", "string")
