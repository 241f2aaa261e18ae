"""Matomo's bulk tracking: many requests in one JSON body (no Falcon in here).

``matomo-tracker``'s ``trackBulk``, Matomo's log importer and its PHP and Java trackers
POST to ``matomo.php``::

    {"requests": ["?idsite=1&rec=1&url=...", "?idsite=1&rec=1&e_c=Buy&e_a=click&url=..."],
     "token_auth": "..."}

Each request is the query string of one :mod:`api.write.collectors.matomo` request
(a leading ``?``, or a path before it, is dropped). As Matomo does, the requests are
taken one by one: a request that is refused (malformed, an unknown idsite, a schema
violation, one the enrichment refuses) is counted as invalid and kept on the
invalid-events topic with its reason, and the others are tracked; the answer is
Matomo's ``{"status": "success", "tracked": n, "invalid": m, "invalid_indices": [...]}``.
The body itself is refused whole when it is not JSON (``malformed_matomo_request``),
not ``{"requests": [...]}`` with at least one request, or holds more requests than
``Config.max_batch_events`` (413 ``too_many_events``, as the collect endpoint's batches).
``token_auth`` is not checked (none of the parameters it unlocks in Matomo is used) and
never kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from analytics import client_json
from api.write.collectors.matomo import (
    MALFORMED,
    MatomoError,
    MatomoHit,
    kept_text,
    parse_query,
    to_hit,
)
from api.write.refusals import RequestRefused


@dataclass(frozen=True)
class Item:
    """One request of a bulk: its hit, or why it is refused."""

    index: int
    text: str
    """Its query string as sent (what is kept when it is refused)."""
    hit: MatomoHit | None = None
    error: MatomoError | None = None


def is_bulk(body: bytes) -> bool:
    """A POST body is a bulk when it is a JSON object (a form body never starts so)."""
    return body.lstrip()[:1] == b"{"


def parse_bulk(body: bytes, max_requests: int, received_at_ms: int, key: bytes) -> list[Item]:
    """A bulk body -> its items, in order; :class:`RequestRefused` when the body itself is
    refused (keeping it with client ids hashed and ``token_auth`` emptied)."""
    def refused(status: int, reason: str, detail: str) -> RequestRefused:
        text = body.decode("utf-8", errors="replace")
        return RequestRefused(status, reason, detail, payload=kept_text(text, key, ""))

    try:
        value = client_json.loads(body)
    except client_json.ClientJSONError as exc:
        reason = exc.reason if exc.reason == "too_deep" else MALFORMED
        raise refused(400, reason, f"a bulk request must be JSON: {exc.detail}") from None
    requests = value.get("requests") if isinstance(value, dict) else None
    if not isinstance(requests, list) or not requests:
        raise refused(400, MALFORMED, 'a bulk request is {"requests": ["?idsite=1&rec=1&'
                      'url=...", ...]} with at least one request')
    if len(requests) > max_requests:
        raise refused(413, "too_many_events", f"{len(requests)} requests in the bulk; at "
                      f"most {max_requests}")
    return [item(index, request, received_at_ms) for index, request in enumerate(requests)]


def item(index: int, request: object, received_at_ms: int) -> Item:
    if not isinstance(request, str):
        text = json.dumps(request, separators=(",", ":"))
        return Item(index, text, error=MatomoError(
            f"requests[{index}] must be a query string like ?idsite=1&rec=1&url=..."))
    text = query_of(request)
    try:
        return Item(index, text, hit=to_hit(parse_query(text), received_at_ms))
    except MatomoError as exc:
        return Item(index, text, error=MatomoError(f"requests[{index}]: {exc}", exc.reason))


def query_of(request: str) -> str:
    """``?a=1&b=2`` or ``/matomo.php?a=1&b=2`` -> ``a=1&b=2`` (a ``?`` inside a value of a
    bare query string is left alone)."""
    if request.startswith("?"):
        return request[1:]
    if request.startswith(("/", "http://", "https://")) and "?" in request:
        return request.split("?", 1)[1]
    return request


def answer(tracked: int, invalid: list[int]) -> dict:
    """Matomo's answer to a bulk."""
    return {"status": "success", "tracked": tracked, "invalid": len(invalid),
            "invalid_indices": sorted(invalid)}
