"""Schemathesis cases (generated from a service's OpenAPI document) as requests for
``falcon.testing``: the operations of a document, and one case's method, path, query
string, headers, cookies and body as a client would put them on the wire."""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode

MODES = {"positive": GenerationMode.POSITIVE, "negative": GenerationMode.NEGATIVE}
_OWN_HEADERS = {"x-schemathesis-testcaseid", "connection", "accept-encoding", "user-agent"}


def operations(document: dict) -> tuple[schemathesis.BaseSchema, list[tuple[str, str]]]:
    """The loaded document and its operations as (METHOD, path)."""
    loaded = schemathesis.openapi.from_dict(document)
    found = [(op.method.upper(), op.path) for op in
             (result.ok() for result in loaded.get_all_operations())]
    return loaded, sorted(found)


def with_modes(document: dict, found: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(METHOD, path, mode): every operation positive; negative too when it has a body or
    a parameter to break (a string in the path cannot be broken: any text is one)."""
    def breakable(method, path):
        item = document["paths"][path]
        op = item[method.lower()]
        parameters = [*item.get("parameters", []), *op.get("parameters", [])]
        return bool(op.get("requestBody")) or any(
            p["in"] != "path" or p["schema"] != {"type": "string"} for p in parameters)
    return [(m, p, mode) for m, p in found
            for mode in (("positive", "negative") if breakable(m, p) else ("positive",))]


def cases(loaded, method: str, path: str, mode: str) -> st.SearchStrategy:
    return loaded[path][method].as_strategy(generation_mode=MODES[mode])


def _wire(text: str) -> bool:
    """Whether an HTTP/1.1 client can send ``text`` in a header at all."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any(c in text for c in "\r\n\0")


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def request_of(case, headers: dict | None = None, cookies: dict | None = None) -> dict:
    """Keyword arguments of ``simulate_request`` for ``case``; ``headers``/``cookies``
    (credentials) replace what the case generated for them."""
    sent = case.as_transport_kwargs(base_url="http://testserver")
    url = urlsplit(sent["url"])
    params = [(k, _text(v)) for k, value in (sent.get("params") or {}).items()
              for v in (value if isinstance(value, list) else [value])]
    query = "&".join(q for q in (url.query, urlencode(params)) if q)
    found = {k: _text(v) for k, v in (sent.get("headers") or {}).items()
             if k.lower() not in _OWN_HEADERS and _wire(k) and _wire(_text(v))}
    kept = {k: _text(v) for k, v in (sent.get("cookies") or {}).items()
            if _wire(k) and _wire(_text(v)) and not any(c in k + _text(v) for c in ";, =")}
    if headers is not None:
        found = {k: v for k, v in found.items()
                 if k.lower() not in ("authorization", "x-share-token")} | headers
    if cookies is not None:
        kept = cookies
    if "json" in sent:
        body = json.dumps(sent["json"]).encode()
    else:
        data = sent.get("data")
        body = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return {"method": sent["method"], "path": url.path or "/", "query_string": query,
            "headers": found, "cookies": kept or None, "body": body}
