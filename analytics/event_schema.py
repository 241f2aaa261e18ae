"""The one event contract: versioned JSON Schema files, and what is derived from them.

``analytics/schemas/event/<version>.json`` is what clients send (the write service
validates against it); ``analytics/schemas/enriched_event/<version>.json`` is what goes on
the raw-events topic. Spark's read schema is derived from the enriched file, so a field
added there reaches both Spark layers with no second definition.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

SCHEMAS = Path(__file__).with_name("schemas")
ENVELOPE_VERSION = "1-0-0"
ENRICHED_VERSION = "1-0-0"


@cache
def load(name: str, version: str) -> dict:
    return json.loads((SCHEMAS / name / f"{version}.json").read_text())


def envelope_schema() -> dict:
    return load("event", ENVELOPE_VERSION)


def enriched_schema() -> dict:
    return load("enriched_event", ENRICHED_VERSION)


UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class Validator:
    """Validation for the hot path: a compiled check (fastjsonschema) answers "valid?" in a
    few microseconds; the reference implementation (jsonschema) explains what is wrong."""

    def __init__(self, schema: dict):
        import fastjsonschema
        from jsonschema.validators import validator_for

        reference = validator_for(schema)
        reference.check_schema(schema)
        self._reference = reference(schema, format_checker=reference.FORMAT_CHECKER)
        self._compiled = fastjsonschema.compile(schema, formats={"uuid": UUID_PATTERN})
        self._invalid = fastjsonschema.JsonSchemaValueException

    def is_valid(self, instance) -> bool:
        try:
            self._compiled(instance)
        except self._invalid:
            return False
        return True

    def iter_errors(self, instance):
        if self.is_valid(instance):
            return iter(())
        return self._reference.iter_errors(instance)

    def validate(self, instance) -> None:
        self._reference.validate(instance)


def envelope_validator():
    return Validator(envelope_schema())


def enriched_validator():
    return Validator(enriched_schema())


def _json_types(spec: dict) -> list[str]:
    if "const" in spec:
        return ["string"]
    if "enum" in spec:
        kinds = {type(v).__name__ for v in spec["enum"] if v is not None}
        return ["string" if k == "str" else k for k in kinds]
    types = spec.get("type", "string")
    types = [types] if isinstance(types, str) else types
    return [t for t in types if t != "null"]


def spark_schema(schema: dict | None = None):
    """A pyspark StructType for the enriched event (every field nullable)."""
    from pyspark.sql import types as T

    schema = schema or enriched_schema()
    simple = {"string": T.StringType(), "integer": T.LongType(), "number": T.DoubleType(),
              "boolean": T.BooleanType()}
    fields = []
    for name, spec in schema["properties"].items():
        kinds = _json_types(spec)
        if kinds == ["object"]:
            value_kind = _json_types(spec.get("additionalProperties", {"type": "string"}))
            data_type = T.MapType(T.StringType(), simple[value_kind[0]])
        elif len(kinds) == 1 and kinds[0] in simple:
            data_type = simple[kinds[0]]
        else:
            raise ValueError(f"field {name}: cannot map JSON types {kinds} to Spark")
        fields.append(T.StructField(name, data_type, nullable=True))
    return T.StructType(fields)
