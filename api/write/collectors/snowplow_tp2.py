"""Snowplow's POSTed batches, the tracker protocol's ``tp2`` (no Falcon in here).

Snowplow's trackers POST the self-describing ``payload_data`` JSON to
``/com.snowplowanalytics.snowplow/tp2``::

    {"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
     "data": [{"e": "pv", "aid": "website", "url": "https://example.com/", ...},
              {"e": "se", "aid": "website", "se_ca": "video", "se_ac": "play", ...}]}

Each object of ``data`` holds one event's parameters
(:mod:`api.write.collectors.snowplow`), as strings (a number is taken as its text, as
Snowplow's enrichment takes it). As Matomo's bulk requests
(:mod:`api.write.collectors.matomo_bulk`), the events are taken one by one: an event
that is refused (malformed, an unknown app id, a schema violation, one the enrichment
refuses) is counted and kept on the invalid-events topic with its reason, and the
others are tracked. The answer is what Snowplow's collector answers, 200 ``ok``, whatever
became of the events (it never says either: its refused events go to bad rows): a
tracker resends a whole batch on other answers, or drops it whole on a 400, so one
refused event must neither cost the others nor bring them back twice. The body itself is
refused whole when it is not JSON (``malformed_snowplow_payload``, or ``too_deep``), not
a ``payload_data`` object with at least one event, or holds more events than
``Config.max_batch_events`` (413 ``too_many_events``, as the collect endpoint's batches).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from analytics import client_json
from analytics.enrich.visitor_id import client_id_hash
from api.write.collectors.envelope_fields import MAX_CLIENT_ID
from api.write.collectors.snowplow import (
    CLIENT_IDS,
    MALFORMED,
    SnowplowError,
    SnowplowHit,
    kept_query,
    to_hit,
)
from api.write.refusals import RequestRefused

PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
_PAYLOAD_DATA = re.compile(r"^iglu:com\.snowplowanalytics\.snowplow/payload_data/jsonschema/"
                           r"1-\d+-\d+$")
_ID_FIELD = re.compile(rf'(?P<head>"(?:{"|".join(CLIENT_IDS)})"\s*:\s*")'
                       r'(?P<value>(?:[^"\\]|\\.)*)(?P<tail>"?)')
_IP_FIELD = re.compile(r'"ip"\s*:\s*"(?:[^"\\]|\\.)*"?')
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Item:
    """One event of a batch: its hit, or why it is refused."""

    index: int
    text: str
    """The event's object as JSON text (what is kept when it is refused)."""
    hit: SnowplowHit | None = None
    error: SnowplowError | None = None


def parse_batch(body: bytes, max_events: int, received_at_ms: int, key: bytes) -> list[Item]:
    """A tp2 body -> its items, in order; :class:`RequestRefused` when the body itself is
    refused (keeping it with client ids hashed and ``ip`` emptied)."""
    def refused(status: int, reason: str, detail: str) -> RequestRefused:
        text = body.decode("utf-8", errors="replace")
        return RequestRefused(status, reason, detail, payload=kept_body(text, key, ""))

    try:
        value = client_json.loads(body)
    except client_json.ClientJSONError as exc:
        reason = exc.reason if exc.reason == "too_deep" else MALFORMED
        raise refused(400, reason, f"a tp2 body must be JSON: {exc.detail}") from None
    events = value.get("data") if isinstance(value, dict) else None
    if (not isinstance(events, list) or not events
            or not _PAYLOAD_DATA.match(str(value.get("schema")))):
        raise refused(400, MALFORMED, f'a tp2 body is {{"schema": "{PAYLOAD_DATA}", "data": '
                      "[{...}, ...]} with at least one event")
    if len(events) > max_events:
        raise refused(413, "too_many_events", f"{len(events)} events in the batch; at most "
                      f"{max_events}")
    return [item(index, event, received_at_ms) for index, event in enumerate(events)]


def item(index: int, event: object, received_at_ms: int) -> Item:
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    try:
        return Item(index, text, hit=to_hit(_params(event), received_at_ms))
    except SnowplowError as exc:
        return Item(index, text, error=SnowplowError(f"data[{index}]: {exc}", exc.reason))


def _params(event: object) -> dict[str, str]:
    """An event object's parameters as text (the trackers send strings; a number is its
    text, as a query string would hold it)."""
    if not isinstance(event, dict):
        raise SnowplowError("must be an object of the tracker protocol's parameters")
    params = {}
    for name, value in event.items():
        if isinstance(value, str):
            params[name] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            params[name] = str(int(value)) if float(value).is_integer() else repr(value)
        elif value is not None:
            raise SnowplowError(f"{name[:40]} must be a string")
    return params


def kept_body(text: str, key: bytes, site_id: str) -> str:
    """A tp2 body (or one event of it, as JSON) as the invalid-events topic keeps it: the
    values of ``uid``, ``duid``, ``tnuid`` and ``nuid`` replaced by
    ``client_id_hash(key, site_id, value)``, the hash the enrichment makes of a client id
    (``site_id`` '' while the site is not known), and ``ip`` emptied; in a body that is
    a query string instead, as :func:`~api.write.collectors.snowplow.kept_query` does."""
    def hashed(match: re.Match) -> str:
        value = _json_string(match.group("value"))[:MAX_CLIENT_ID]
        digest = client_id_hash(key, site_id, value) if value else ""
        return match.group("head") + digest + match.group("tail")
    return _ID_FIELD.sub(hashed, _IP_FIELD.sub('"ip":""', kept_query(text, key, site_id)))


def _json_string(raw: str) -> str:
    """The text of a JSON string's content (as sent when its escapes are not whole; a lone
    surrogate, which an escape can make and no hash can encode, as U+FFFD)."""
    try:
        text = json.loads(f'"{raw}"')
    except ValueError:
        text = raw
    return _SURROGATE.sub("\ufffd", text)
