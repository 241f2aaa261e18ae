"""Plausible's Events API mapped onto the event envelope (no Falcon in here).

Plausible's script, its npm package (``@plausible-analytics/tracker``) and server-side
callers POST one JSON object (the script sends it as ``text/plain``) to the Plausible
server's ``/api/event``; Sitelens takes it at ``Config.plausible_path``::

    {"n": "pageview", "u": "https://example.com/a?utm_source=x", "d": "example.com",
     "r": "https://www.google.com/", "p": {"plan": "pro"}, "h": 1, "v": 23}

As in Plausible's own ingestion, short and long names both work and the first one set
wins: ``n``/``name``, ``u``/``url``, ``d``/``domain``, ``r``/``referrer``,
``m``/``meta``/``p``/``props``, ``revenue``/``$``.

- ``n`` ``"pageview"`` is a pageview, ``"engagement"`` an engagement ping (``e``: engaged
  time in ms, capped at the envelope's one day; ``sd``: scroll depth in percent, kept as
  the ping's prop ``scroll_depth``; one of them is required; the pageview's props the
  script repeats on it are dropped), any other name (a string or an integer, as Plausible
  takes them) a custom event.
- ``d`` names the site by its domain (a leading ``www.`` and case do not matter);
  several, separated by commas, send the event to each of those sites. Without ``d``
  the page URL's host is the domain.
- props: an object, or a JSON string of one (``m``, older scripts). A prop without a
  value (null, an empty or blank string) is left out, as Plausible does; everything else
  must fit the envelope's ``props`` (at most 30, keys ``[A-Za-z0-9_.:-]{1,64}``, values
  strings up to 512 characters, numbers or booleans), or the event is refused.
- ``revenue`` / ``$``: ``{"amount": 12.5, "currency": "EUR"}`` (or a JSON string of it)
  becomes the props ``revenue_amount`` and ``revenue_currency`` (there is no revenue
  column in the contract).
- ``r`` is cut to the envelope's 2,048 characters (Plausible cuts it too); ``w`` (the
  window width older scripts send) is the screen width.
- ``h`` (hash-based routing) and ``i`` (non-interactive events) have no column: the URL
  is kept as sent, fragment included, as the tracker's ``data-hash`` mode does; ``v``
  (the script's version) is dropped.

What Plausible refuses is refused here too (``malformed_plausible_payload``, or
``too_deep``), and everything the envelope's schema refuses (a URL that is not http(s),
a name over 120 characters, too many props) is refused by the intake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from analytics import client_json
from analytics.event_schema import envelope_schema
from analytics.site_directory import domain_key
from api.write.collectors.payload_error import PayloadError
from api.write.refusals import RequestRefused

MALFORMED = "malformed_plausible_payload"
_FIELDS = envelope_schema()["properties"]
MAX_REFERRER = _FIELDS["referrer"]["maxLength"]
MAX_ENGAGEMENT_MS = _FIELDS["engagement_ms"]["maximum"]
IGNORED_ENGAGEMENT_MS = 30 * 86_400_000
"""Plausible takes engagement times above this as left over from an old script: no time."""
REVENUE_AMOUNT, REVENUE_CURRENCY = "revenue_amount", "revenue_currency"
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")


class PlausibleError(PayloadError):
    def __init__(self, detail: str, reason: str = MALFORMED):
        super().__init__(detail, reason)


@dataclass(frozen=True)
class PlausibleEvent:
    domains: tuple[str, ...]
    """The sites' domains (as :func:`analytics.site_directory.domain_key` makes them), in
    the order given, each once."""
    fields: dict
    """The envelope without its ``site_id``."""


def parse(body: bytes) -> PlausibleEvent:
    """A request body -> the event. Strict JSON (:mod:`analytics.client_json`). A body
    that is refused raises :class:`RequestRefused` (400, keeping the body)."""
    try:
        return to_event(_loads(body, "body"))
    except PlausibleError as exc:
        raise RequestRefused(400, exc.reason, str(exc), payload=body) from None


def envelopes(event: PlausibleEvent, site_ids: list[str]) -> list[dict]:
    """One envelope per site the event goes to."""
    return [{"site_id": site_id, **event.fields} for site_id in site_ids]


def to_event(body: object) -> PlausibleEvent:
    if not isinstance(body, dict):
        raise PlausibleError("body must be a JSON object")
    name = _first(body, "n", "name")
    if whole(name) is not None:
        name = str(whole(name))  # Plausible takes integers (404 tracking: a status code)
    if not isinstance(name, str) or not name:
        raise PlausibleError('n (or name) is required: the event name, "pageview" for a '
                             "pageview")
    url = _first(body, "u", "url")
    if not isinstance(url, str) or not url:
        raise PlausibleError("u (or url) is required: the URL of the page, a string")
    fields: dict = {}
    if name == "pageview":
        fields["kind"] = "pageview"
    elif name == "engagement":
        fields["kind"] = "engagement"
    else:
        fields["kind"] = "custom"
        fields["name"] = name
    fields["url"] = url
    referrer = _first(body, "r", "referrer")
    if isinstance(referrer, str) and referrer:
        fields["referrer"] = referrer[:MAX_REFERRER]
    if body.get("w") is not None:  # the schema checks it
        fields["screen_width"] = body["w"] if whole(body["w"]) is None else whole(body["w"])
    if name == "engagement":
        fields.update(_engagement(body))
    else:
        props = {**_props(body), **_revenue(body)}
        if props:
            fields["props"] = props
    return PlausibleEvent(_domains(body, url), fields)


def _first(body: dict, *names: str):
    """The first of ``names`` that is set (not null, not false), as Plausible reads them."""
    for name in names:
        value = body.get(name)
        if value is not None and value is not False:
            return value
    return None


def _loads(text: bytes | str, what: str):
    """Strict JSON; the refusal names ``what`` held it (the body, or a string in it)."""
    try:
        return client_json.loads(text)
    except client_json.ClientJSONError as exc:
        if exc.reason == "too_deep":
            detail = exc.detail if what == "body" else f"{what}: {exc.detail}"
            raise PlausibleError(detail, "too_deep") from None
        raise PlausibleError(exc.detail.replace("body", what, 1)) from None


def _domains(body: dict, url: str) -> tuple[str, ...]:
    raw = _first(body, "d", "domain")
    if raw is None:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if not host:
            raise PlausibleError("d (or domain) is missing and u names no host to take "
                                 "the domain from")
        return (domain_key(host),)
    if not isinstance(raw, str):
        raise PlausibleError("d (or domain) must be a string: the site's domain, or "
                             "several separated by commas")
    domains = tuple(dict.fromkeys(d for d in map(domain_key, raw.split(",")) if d))
    if not domains:
        raise PlausibleError("d (or domain) is empty")
    return domains


def _props(body: dict) -> dict:
    raw = _first(body, "m", "meta", "p", "props")
    if raw is None:
        return {}
    props = _loads(raw, "props") if isinstance(raw, str) else raw
    if not isinstance(props, dict):
        raise PlausibleError("props (m, meta, p or props) must be an object, or a JSON "
                             "string of one")
    return {key: value for key, value in props.items()
            if key.strip() and value is not None
            and not (isinstance(value, str) and not value.strip())}


def _revenue(body: dict) -> dict:
    raw = _first(body, "revenue", "$")
    if raw is None:
        return {}
    revenue = _loads(raw, "revenue") if isinstance(raw, str) else raw
    if not isinstance(revenue, dict) or not {"amount", "currency"} <= set(revenue):
        raise PlausibleError('revenue ($) must be {"amount": ..., "currency": ...}')
    amount, currency = revenue["amount"], revenue["currency"]
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise PlausibleError(f"revenue.currency {currency!r} is not an ISO 4217 code like "
                             "EUR")
    if isinstance(amount, str):
        try:
            number = Decimal(amount.strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise PlausibleError(f"revenue.amount {amount[:50]!r} is not a number")
        amount = amount.strip()
    elif isinstance(amount, bool) or not isinstance(amount, int | float):
        raise PlausibleError("revenue.amount must be a number or a decimal string")
    return {REVENUE_AMOUNT: amount, REVENUE_CURRENCY: currency}


def _engagement(body: dict) -> dict:
    """``e`` and ``sd`` read as Plausible reads them: integers or integer strings; an
    engaged time from 0 up to 30 days (capped here at the envelope's one day), a scroll
    depth from 0 (above 100: 100)."""
    time_ms, depth = _integer(body.get("e")), _integer(body.get("sd"))
    if time_ms is not None and not 0 <= time_ms < IGNORED_ENGAGEMENT_MS:
        time_ms = None
    if depth is not None:
        depth = None if depth < 0 else min(depth, 100)
    if time_ms is None and depth is None:
        raise PlausibleError("an engagement needs e (engaged time in ms) or sd (scroll "
                             "depth in percent), as an integer")
    fields = {"engagement_ms": min(time_ms or 0, MAX_ENGAGEMENT_MS)}
    if depth is not None:
        fields["props"] = {"scroll_depth": depth}
    return fields


def whole(value) -> int | None:
    """An integer, also one written as a float (``3.0``: JSON, and the JavaScript that
    sends it, do not tell them apart); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _integer(value) -> int | None:
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    return whole(value)
