"""Hypothesis strategies derived from the project's JSON Schemas, and hostile mutations
of what they make.

:func:`from_schema` covers the keywords the event, query and job schemas use (an unknown
keyword is an error, so a schema that grows one is noticed here). Values come out mostly
valid: types, bounds, patterns, enums, required and forbidden properties, and ``if``/
``then`` are honoured; ``overrides`` replace the values of named properties wherever they
appear (real site ids, so requests reach the code behind the site check).

:func:`hostile_json` turns a value into a request body, either as it is or with one
mutation: nesting far deeper than any schema allows, a value of the wrong type, a lone
surrogate (escaped or as raw UTF-8 bytes), a number beyond 64 bits or a double, an
extreme or malformed date, an oversized string, a missing or unknown property, truncated
or non-JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from functools import cache

from hypothesis import strategies as st
from jsonschema import Draft202012Validator

IGNORED = frozenset({"$schema", "$id", "title", "description", "default"})
SUPPORTED = frozenset({
    "type", "const", "enum", "oneOf", "anyOf", "allOf", "if", "then", "properties",
    "required", "additionalProperties", "propertyNames", "maxProperties", "items",
    "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "format",
    "minimum", "maximum"})
EXTREME_DATES = ("0001-01-01", "0001-01-02", "1969-12-31", "1970-01-01", "2999-12-31",
                 "3000-01-01", "9999-12-30", "9999-12-31", "2026-02-29", "2026-13-01",
                 "0000-01-01", "2026-W48-1", "20261201", "2026-12-01T00:00:00Z", "")
HUGE_NUMBERS = ("1e400", "-1e400", "1e-400", "1" + "0" * 400, "18446744073709551616",
                "-9223372036854775809", "9007199254740993", "NaN", "Infinity", "-0")
WRONG_TYPES = ([1, "a"], {"a": [None]}, None, True, 0, -1, 1.5, "", [], {}, False, "x")
"""Unhashable ones first: a list or an object where a key is expected breaks lookups."""
MARKER = "@@hostile@@"
TEXT_MAX = 24
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


def from_schema(schema, overrides: Mapping[str, st.SearchStrategy] | None = None):
    return _strategy(schema, dict(overrides or {}))


def _strategy(schema, overrides: dict) -> st.SearchStrategy:
    if schema is True or schema == {}:
        return JSON
    unknown = set(schema) - SUPPORTED - IGNORED
    if unknown:
        raise ValueError(f"no strategy for the keywords {sorted(unknown)}")
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for combined in ("oneOf", "anyOf"):
        if combined in schema:
            return st.one_of([_strategy(s, overrides) for s in schema[combined]])
    kinds = schema.get("type", "object" if "properties" in schema else None)
    if isinstance(kinds, list):
        return st.one_of([_strategy({**schema, "type": k}, overrides) for k in kinds])
    maker = {"object": _object, "array": _array, "string": _string, "integer": _integer,
             "number": _number, "boolean": lambda s, o: st.booleans(),
             "null": lambda s, o: st.none()}.get(kinds)
    if maker is None:
        raise ValueError(f"no strategy for type {kinds!r}")
    return maker(schema, overrides)


def _object(schema, overrides):
    properties = schema.get("properties", {})
    required = schema.get("required", [])

    def of(name, sub):
        return overrides[name] if name in overrides else _strategy(sub, overrides)

    extra = schema.get("additionalProperties", True)
    if not properties and isinstance(extra, dict):
        keys = st.from_regex(schema.get("propertyNames", {}).get("pattern", r"\A\w{1,8}\Z"),
                             fullmatch=True)
        base = st.dictionaries(keys, _strategy(extra, overrides),
                               max_size=schema.get("maxProperties", 5))
    else:
        base = st.fixed_dictionaries(
            {n: of(n, properties[n]) for n in required},
            optional={n: of(n, s) for n, s in properties.items()
                      if n not in required and s is not False})
    conditions = [c for c in [schema, *schema.get("allOf", [])] if "if" in c]
    if not conditions:
        return base

    @st.composite
    def conditional(draw):
        value = draw(base)
        for condition in conditions:
            if not _validator(json.dumps(condition["if"])).is_valid(value):
                continue
            then = condition["then"]
            for name in then.get("required", []):
                if name not in value:
                    value[name] = draw(of(name, properties[name]))
            for name, sub in then.get("properties", {}).items():
                if sub is False:
                    value.pop(name, None)
        return value

    return conditional()


@cache
def _validator(schema_text: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_text))


def _array(schema, overrides):
    items = _strategy(schema.get("items", True), overrides)
    unique = schema.get("uniqueItems", False)
    return st.lists(items, min_size=schema.get("minItems", 0),
                    max_size=schema.get("maxItems", 5),
                    unique_by=(lambda v: json.dumps(v, sort_keys=True)) if unique else None)


def _string(schema, overrides):
    low, high = schema.get("minLength", 0), schema.get("maxLength", 64)
    if schema.get("format") == "date":
        text = st.one_of(st.dates(date(2023, 1, 1), date(2027, 12, 31)),
                         st.dates()).map(date.isoformat)
    elif schema.get("format") == "uuid":
        text = st.uuids().map(str)
    elif "pattern" in schema:
        pattern = schema["pattern"]
        text = st.from_regex(pattern, fullmatch=pattern.endswith("$"))
    else:  # long strings cost many choices; the oversize mutation sends long ones
        return st.text(min_size=low, max_size=max(low, min(high, TEXT_MAX)))
    return text.filter(lambda s: low <= len(s) <= high)


def _integer(schema, overrides):
    return st.integers(schema.get("minimum"), schema.get("maximum"))


def _number(schema, overrides):
    low, high = schema.get("minimum"), schema.get("maximum")
    return st.one_of(st.integers(low, high),
                     st.floats(low, high, allow_nan=False, allow_infinity=False))


# -- hostile mutations -------------------------------------------------------------------

def _paths(value, prefix=()) -> list[tuple]:
    """Every place inside ``value`` a mutation can go (keys of objects, list items)."""
    found = []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return found
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _replace(value, path: tuple, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(copy[path[0]], path[1:], new)
    return copy


def _deep(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


@st.composite
def hostile_json(draw, values: st.SearchStrategy, *, date_fields=("start", "end"),
                 oversize: int = 70_000) -> tuple[bytes, bool]:
    """(body, clean): a value of ``values`` as JSON, or with one mutation
    (``clean`` False)."""
    value = draw(values)
    mutation = draw(st.sampled_from((
        "none", "none", "none", "none", "none", "none", "deep", "deep", "wrong_type",
        "surrogate", "raw_surrogate", "huge", "date", "oversize", "drop", "unknown",
        "truncate", "not_json")))  # a third as generated
    if mutation == "none":
        return json.dumps(value).encode(), True
    paths = _paths(value)
    if mutation in ("deep", "huge", "wrong_type", "oversize", "surrogate",
                    "raw_surrogate") and paths:
        path = draw(st.sampled_from(paths))
    else:
        path = ()
    if mutation == "deep":
        # ~1,000 exhausts Python's recursion limit; 1,023/1,100 are orjson's limit and past it
        depth = draw(st.sampled_from((1000, 1023, 1100, 33, 200)))
        text = _deep(depth, draw(st.sampled_from(("list", "dict"))))
        return json.dumps(_replace(value, path, MARKER)).replace(
            f'"{MARKER}"', text).encode(), False
    if mutation == "huge":
        return json.dumps(_replace(value, path, MARKER)).replace(
            f'"{MARKER}"', draw(st.sampled_from(HUGE_NUMBERS))).encode(), False
    if mutation == "wrong_type":
        return json.dumps(_replace(value, path, draw(st.sampled_from(WRONG_TYPES)))) \
            .encode(), False
    if mutation == "oversize":
        return json.dumps(_replace(value, path, "x" * oversize)).encode(), False
    if mutation in ("surrogate", "raw_surrogate"):
        lone = chr(draw(st.integers(0xD800, 0xDFFF)))
        text = draw(st.text(max_size=5))
        broken = _replace(value, path, text + lone + text)
        if mutation == "surrogate":
            return json.dumps(broken).encode(), False  # escaped: "\ud800"
        return json.dumps(broken, ensure_ascii=False).encode("utf-8", "surrogatepass"), False
    if mutation == "date" and isinstance(value, dict):
        fields = [f for f in date_fields if f in value] or list(date_fields)
        changed = {**value, draw(st.sampled_from(fields)): draw(st.sampled_from(EXTREME_DATES))}
        return json.dumps(changed).encode(), False
    if mutation == "drop" and isinstance(value, dict) and value:
        gone = draw(st.sampled_from(sorted(value)))
        return json.dumps({k: v for k, v in value.items() if k != gone}).encode(), False
    if mutation == "unknown" and isinstance(value, dict):
        return json.dumps({**value, draw(st.text(min_size=1, max_size=8)): draw(JSON)}) \
            .encode(), False
    text = json.dumps(value).encode()
    if mutation == "truncate" and len(text) > 1:
        return text[:draw(st.integers(1, len(text) - 1))], False
    return draw(st.sampled_from((b"", b"null", b"[]", b"{}", b"\xff\xfe", b"{'a': 1}",
                                 b"[1,]", b'"\\ud800"', b"1e400", text + b"garbage"))), False
