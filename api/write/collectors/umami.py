"""Umami's ``/api/send`` mapped onto the event envelope (no Falcon in here).

Umami's script and ``@umami/node`` POST ``{"type": ..., "payload": {...}}`` as JSON to
``<host URL>/api/send``; Sitelens takes it at ``Config.umami_path``::

    {"type": "event", "payload": {"website": "3f2c5a8e-4b7d-4c1e-9a0f-6d8e2b1c7a45",
     "hostname": "example.com", "url": "/pricing?utm_source=x", "referrer": "https://a.example/",
     "title": "Pricing", "language": "en-GB", "screen": "1920x1080",
     "name": "signup", "data": {"plan": "pro"}}}

- ``payload.website`` names the site by its ``umami_website_id`` (:mod:`analytics.sites`).
- ``type`` ``"event"`` is a pageview, or a custom event when it has a ``name``;
  ``"engagement"`` (with ``payload.engagement`` in ms, as newer Umami servers take it) an
  engagement ping. ``"identify"`` (session data) and ``"performance"`` (web vitals) have
  no place in the contract and are refused as ``unsupported_umami_type``.
- ``url``: a full URL as newer scripts send it, or a path (older scripts, ``@umami/node``)
  on ``https://<hostname>`` (the site's domain without ``hostname``; ``/`` without
  ``url``, as a server-side ``umami.track("signup")`` sends none). A path ``referrer``
  is on the same host. ``title`` is URI-decoded, as Umami does (older scripts encode it).
- ``screen`` ``"<width>x<height>"`` gives the screen size (other text is no size);
  ``language`` is kept; ``timestamp`` (Unix seconds) is when the event happened (the
  72-hour lateness limit applies).
- ``data``: the custom event's properties; nested objects are flattened into dotted keys
  as Umami shows them (``{"a": {"b": 1}}`` -> ``a.b``); null values are left out;
  everything else must fit the envelope's ``props`` or the event is refused.
- ``id`` (a distinct id set by ``umami.identify``) is the envelope's ``client_id`` (cut to
  its 128 characters): the visitor id is made of it only on sites that opted into client
  ids, and a refused body keeps it hashed (:func:`kept_body`).
- ``tag``, ``ip``, ``userAgent`` and the web-vitals fields are not used: the client
  address and user agent are the request's own, never what a body claims.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import unquote

from analytics import client_json
from analytics.enrich.visitor_id import client_id_hash
from analytics.event_schema import envelope_schema
from analytics.sites import UUID_RE
from api.write.collectors.payload_error import PayloadError
from api.write.collectors.plausible import whole
from api.write.refusals import RequestRefused

MALFORMED, UNSUPPORTED = "malformed_umami_payload", "unsupported_umami_type"
TYPES = ("event", "engagement")
UNSUPPORTED_TYPES = ("identify", "performance")
MAX_CLIENT_ID = envelope_schema()["properties"]["client_id"]["maxLength"]
MAX_ENGAGEMENT_MS = envelope_schema()["properties"]["engagement_ms"]["maximum"]
_SCREEN = re.compile(r"^(\d{1,6})x(\d{1,6})$")
_HOST = re.compile(r"^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ID_IN_TEXT = re.compile(r'(?P<head>"id"\s*:\s*")(?P<value>(?:[^"\\]|\\.)*)(?P<tail>"?)')


class UmamiError(PayloadError):
    def __init__(self, detail: str, reason: str = MALFORMED):
        super().__init__(detail, reason)


@dataclass(frozen=True)
class UmamiEvent:
    website_id: str
    """``payload.website`` in lower case."""
    hostname: str | None
    url: str | None
    referrer: str | None
    fields: dict
    """The rest of the envelope (no ``site_id``, ``url``, ``referrer``)."""


def parse(body: bytes, received_at_ms: int, key: bytes) -> UmamiEvent:
    """A request body -> the event. Strict JSON (:mod:`analytics.client_json`). A body
    that is refused raises :class:`RequestRefused` (400), keeping
    ``kept_body(body, key, "")``: its site is not known yet."""
    try:
        return to_event(_loads(body), received_at_ms)
    except UmamiError as exc:
        raise RequestRefused(400, exc.reason, str(exc),
                             payload=kept_body(body, key, "")) from None


def _loads(body: bytes):
    try:
        return client_json.loads(body)
    except client_json.ClientJSONError as exc:
        reason = exc.reason if exc.reason == "too_deep" else MALFORMED
        raise UmamiError(exc.detail, reason) from None


def envelope(site_id: str, domain: str, event: UmamiEvent) -> dict:
    """The envelope for the site the website id named (``domain``: the host of a path
    sent without ``hostname``)."""
    host = event.hostname or domain
    envelope = {"site_id": site_id, "kind": event.fields["kind"],
                "url": _absolute(event.url or "/", host)}
    if event.referrer:
        envelope["referrer"] = (_absolute(event.referrer, host)
                                if event.referrer.startswith("/") else event.referrer)
    envelope.update((k, v) for k, v in event.fields.items() if k != "kind")
    return envelope


def to_event(body: object, received_at_ms: int) -> UmamiEvent:
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        raise UmamiError('body must be {"type": ..., "payload": {...}}')
    kind, payload = body.get("type"), body["payload"]
    if kind in UNSUPPORTED_TYPES:
        raise UmamiError(f"type {kind!r} is not collected: only events (pageviews, custom "
                         "events) and engagement", UNSUPPORTED)
    if kind not in TYPES:
        raise UmamiError(f"type must be one of {', '.join(TYPES)}")
    website = payload.get("website")
    if not isinstance(website, str) or not UUID_RE.match(website.lower()):
        raise UmamiError("payload.website is required: the website id (a UUID)")
    text = {name: _text(payload, name) for name in
            ("hostname", "url", "referrer", "title", "language", "screen", "name", "id")}
    hostname = text["hostname"]
    if hostname and not _HOST.match(hostname):
        raise UmamiError(f"payload.hostname {hostname[:100]!r} is not a host name")
    fields: dict = {}
    if kind == "engagement":
        engagement = whole(payload.get("engagement"))
        if engagement is None or not 0 < engagement <= MAX_ENGAGEMENT_MS:
            raise UmamiError("payload.engagement must be the engaged time in ms, an integer "
                             f"from 1 to {MAX_ENGAGEMENT_MS}")
        fields.update(kind="engagement", engagement_ms=engagement)
    elif text["name"]:
        fields.update(kind="custom", name=text["name"])
    else:
        fields["kind"] = "pageview"
    if text["title"]:
        fields["title"] = unquote(text["title"])
    if text["language"]:
        fields["language"] = text["language"]
    size = _SCREEN.match(text["screen"] or "")
    if size:
        fields["screen_width"], fields["screen_height"] = map(int, size.groups())
    data = payload.get("data")
    if data is not None and kind == "event":
        if not isinstance(data, dict):
            raise UmamiError("payload.data must be an object")
        props = flatten(data)
        if props:
            fields["props"] = props
    if text["id"]:
        fields["client_id"] = text["id"][:MAX_CLIENT_ID]
    timestamp = _timestamp(payload.get("timestamp"))
    if timestamp is not None:
        fields["created_at"] = timestamp * 1000
        fields["sent_at"] = received_at_ms  # a stated time: the server clock is ours
    return UmamiEvent(website.lower(), hostname, text["url"], text["referrer"], fields)


def flatten(data: dict, prefix: str = "") -> dict:
    """Nested objects as dotted keys (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``), nulls left
    out. ``data`` comes from :mod:`analytics.client_json`: at most 32 levels deep."""
    flat: dict = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif value is not None:
            flat[name] = value
    return flat


def kept_body(body: bytes, key: bytes, site_id: str) -> bytes | str:
    """The body as the invalid-events topic keeps it: ``payload.id`` (a distinct id, often a
    user's own id) replaced by ``client_id_hash(key, site_id, id)``, the hash the
    enrichment makes of it (``site_id`` '' while the site is not known). Other client ids
    (``client_id``, ``user_id`` in ``data``) are hashed by the intake."""
    try:
        value = client_json.loads(body)
    except client_json.ClientJSONError:
        text = body.decode("utf-8", errors="replace")
        return _ID_IN_TEXT.sub(lambda m: m.group("head") + _hash(key, site_id, m.group(
            "value")) + m.group("tail"), text)
    payload = value.get("payload") if isinstance(value, dict) else None
    if not isinstance(payload, dict) or payload.get("id") in (None, ""):
        return body
    raw = payload["id"]
    text = raw[:MAX_CLIENT_ID] if isinstance(raw, str) else json.dumps(
        raw, separators=(",", ":"))
    value = {**value, "payload": {**payload, "id": _hash(key, site_id, text)}}
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _hash(key: bytes, site_id: str, value: str) -> str:
    return client_id_hash(key, site_id, value)


def _text(payload: dict, name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise UmamiError(f"payload.{name} must be a string")
    return value or None


def _timestamp(value) -> int | None:
    """Unix seconds: an integer, or a string of one (Umami coerces)."""
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{1,12}", value.strip()):
        return int(value.strip())
    if whole(value) is not None and 0 <= whole(value) < 10**12:
        return whole(value)
    raise UmamiError("payload.timestamp must be Unix seconds, a non-negative integer")


def _absolute(url: str, host: str) -> str:
    """``url`` when it has a scheme (the schema then wants http(s)), else the path on
    ``https://<host>``."""
    if _SCHEME.match(url):
        return url
    return f"https://{host}{url if url.startswith('/') else '/' + url}"
