"""JSON that clients send, read strictly and bounded (no Falcon in here; both services).

- :func:`loads` parses with orjson, which refuses what is not RFC 8259 JSON in UTF-8:
  invalid UTF-8, lone surrogates (``"\\ud800"``), ``NaN``, numbers that overflow a
  double (``1e400``), and nesting deeper than orjson's own limit (1,024). Integers beyond
  64 bits come back as floats; the schemas' bounds refuse them where a bound exists.
- :func:`too_deep` then finds values nested deeper than :data:`MAX_DEPTH`. None of the
  project's schemas goes deeper than 5 levels, but validators, error messages (``repr``)
  and serialisers recurse over a value: ~1,000 levels exhaust Python's recursion limit
  there, long after parsing succeeded. The check itself does not recurse.

A :class:`ClientJSONError` carries a stable ``reason`` (``malformed_json``,
``too_deep``) and a detail a client can act on.
"""

from __future__ import annotations

import orjson

MAX_DEPTH = 32
"""Containers inside containers a client may send: the top level is depth 1."""


class ClientJSONError(ValueError):
    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def too_deep(value: object, limit: int = MAX_DEPTH) -> str | None:
    """Where ``value`` first nests more than ``limit`` containers (a path like
    ``events/0/params/v``), or None when it does not."""
    stack: list[tuple[object, int, tuple]] = [(value, 1, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            children = item.items()
        elif isinstance(item, list):
            children = enumerate(item)
        else:
            continue
        if depth > limit:
            return "/".join(str(p) for p in path) or "(top level)"
        stack.extend((child, depth + 1, (*path, key)) for key, child in children
                     if isinstance(child, dict | list))
    return None


def check_depth(value: object, limit: int = MAX_DEPTH) -> None:
    """:class:`ClientJSONError` ``too_deep`` when ``value`` nests deeper than ``limit``."""
    where = too_deep(value, limit)
    if where is not None:
        raise ClientJSONError("too_deep", f"JSON nested deeper than {limit} levels at "
                                          f"{where[:200]}")


def loads(body: bytes | str, limit: int = MAX_DEPTH) -> object:
    """The decoded value, or :class:`ClientJSONError` saying why it is refused."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ClientJSONError("malformed_json", f"body is not valid JSON ({exc})") from None
    check_depth(value, limit)
    return value
