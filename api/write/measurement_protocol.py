"""GA4 Measurement Protocol payloads mapped onto the event envelope.

``POST /mp/collect?measurement_id=<site id>&api_secret=<secret>`` with
``{"client_id": ..., "timestamp_micros": ..., "events": [{"name": ..., "params": {...}}]}``.
``page_view`` becomes a pageview, ``user_engagement`` (with ``engagement_time_msec``) an
engagement ping, anything else a custom event whose params (minus the page fields) are its
properties.
"""

from __future__ import annotations

from analytics import client_json
from api.write.refusals import RequestRefused

MAX_EVENTS = 25
PAGE_PARAMS = {"page_location", "page_referrer", "page_title", "engagement_time_msec",
               "session_id", "language", "screen_resolution"}


class MeasurementProtocolError(ValueError):
    """The payload is refused; ``reason`` is the key it is counted by
    (:func:`envelopes_from_body` raises it as a :class:`~api.write.refusals.RequestRefused`)."""

    def __init__(self, detail: str, reason: str = "malformed_mp_payload"):
        super().__init__(detail)
        self.reason = reason


def envelopes_from_body(site_id: str, body: bytes, received_at_ms: int) -> list[dict]:
    """A request body -> envelopes. Strict JSON (:mod:`analytics.client_json`: no lone
    surrogates, no infinite numbers), nested at most ``MAX_DEPTH`` levels (``too_deep``).
    A payload that is refused raises :class:`RequestRefused` (400, keeping the body)."""
    try:
        return to_envelopes(site_id, _loads(body), received_at_ms)
    except MeasurementProtocolError as exc:
        raise RequestRefused(400, exc.reason, str(exc), payload=body) from None


def _loads(body: bytes):
    try:
        return client_json.loads(body)
    except client_json.ClientJSONError as exc:
        reason = exc.reason if exc.reason == "too_deep" else "malformed_mp_payload"
        raise MeasurementProtocolError(exc.detail, reason) from None


def to_envelopes(site_id: str, body: object, received_at_ms: int) -> list[dict]:
    if not isinstance(body, dict):
        raise MeasurementProtocolError("body must be a JSON object")
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise MeasurementProtocolError("client_id is required (a non-empty string)")
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise MeasurementProtocolError("events must be a non-empty list")
    if len(events) > MAX_EVENTS:
        raise MeasurementProtocolError(f"at most {MAX_EVENTS} events per request")
    created = body.get("timestamp_micros")
    if created is not None and not isinstance(created, int):
        raise MeasurementProtocolError("timestamp_micros must be an integer")
    envelopes = []
    for index, event in enumerate(events):
        if not isinstance(event, dict) or not isinstance(event.get("name"), str):
            raise MeasurementProtocolError(f"events[{index}] needs a string name")
        params = event.get("params")
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise MeasurementProtocolError(f"events[{index}].params must be an object")
        envelopes.append(_envelope(site_id, client_id, event["name"], params,
                                   created_micros=created, received_at_ms=received_at_ms))
    return envelopes


def _envelope(site_id, client_id, name, params, *, created_micros, received_at_ms) -> dict:
    envelope = {"site_id": site_id, "client_id": client_id,
                "url": params.get("page_location") or ""}
    if name == "page_view":
        envelope["kind"] = "pageview"
    elif name == "user_engagement" and "engagement_time_msec" in params:
        envelope["kind"] = "engagement"
        envelope["engagement_ms"] = params["engagement_time_msec"]
    else:
        envelope["kind"] = "custom"
        envelope["name"] = name
        props = {k: v for k, v in params.items() if k not in PAGE_PARAMS}
        if props:
            envelope["props"] = props
    for source, target in (("page_referrer", "referrer"), ("page_title", "title"),
                           ("language", "language")):
        if params.get(source) is not None:
            envelope[target] = params[source]
    if created_micros is not None:
        envelope["created_at"] = created_micros // 1000
        envelope["sent_at"] = received_at_ms  # server-to-server: the server clock is ours
    return envelope
