"""The Snowplow tracker protocol mapped onto the event envelope (no Falcon in here).

Snowplow's trackers (the browser tracker, ``snowplow-tracker`` on PyPI, the Node, mobile
and server-side ones) send each event as the flat parameters of the tracker protocol: the
query string of a GET to ``/i`` (one event), or one object of a batch they POST to
``/com.snowplowanalytics.snowplow/tp2`` (:mod:`api.write.collectors.snowplow_tp2`).
Sitelens takes them at ``Config.snowplow_get_path`` and ``Config.snowplow_path``::

    e=pv&aid=website&url=https%3A%2F%2Fexample.com%2Fa%3Futm_source%3Dx&page=Pricing
    &refr=https%3A%2F%2Fwww.google.com%2F&eid=5a305bf5-32fc-40d9-b0e8-66052f0f2c95
    &duid=85094061-f702-4b62-a46d-20f7226b4741&dtm=1796000000000&stm=1796000000100

What one event becomes (``docs/collectors.md`` has the table):

- ``aid`` names the site by its ``snowplow_app_id`` (:mod:`analytics.sites`).
- ``e``: ``pv`` is a pageview; ``pp`` (a page ping) an engagement ping; ``se`` (a
  structured event) a custom event named by its action ``se_ac``, with the props
  ``se_category`` (``se_ca``), ``se_label``, ``se_property`` and ``se_value`` (a number);
  ``ue`` (a self-describing event: ``ue_pr`` JSON, or ``ue_px`` the same in base64url) a
  custom event named by its schema's name (``iglu:com.acme/signup/jsonschema/1-0-0``:
  ``signup``), its data the props (nested objects as dotted keys, as Umami's; an array
  as its JSON text). A
  ``link_click`` whose target is on another host is an ``Outbound Link: Click`` with the
  prop ``url``, the event Plausible's and Matomo's outlinks become. Transactions (``tr``,
  ``ti``) have no place in the contract: ``unsupported_snowplow_event``.
- A page ping carries no length of time (the heartbeat interval is the tracker's own
  setting): its ``engagement_ms`` is 0 and its own event time extends the visit, as
  Matomo's heartbeat does; its scroll offsets have no column.
- ``url`` is required of pageviews and pings; a structured or self-describing event
  without one (server-side trackers send none) is put on the site's home page, as
  Umami's server-side events are (:func:`envelope`). ``page`` is the title (cut to 512
  characters), ``refr`` the referrer (cut to 2,048), ``res`` the screen, ``lang`` the
  language (its first tag), ``tz`` the time zone; UTM tags come from the URL (enrichment).
- ``eid`` is the ``event_id``: a tracker that resends a batch sends the same ids, and
  events of one site with one id are one event.
- ``uid`` (the business user id), else ``duid`` (the browser's first-party cookie id),
  else ``tnuid`` / ``nuid`` (the network user id) is the ``client_id``, as Matomo's
  ``uid``/``cid``/``_id``: the visitor id is made of it only on sites that opted in.
- ``ttm`` (a true timestamp, stated by the caller) is when the event happened, the
  receive time being ours (as Matomo's ``cdt``); else ``dtm`` (created) and ``stm``
  (sent), two readings of the device's clock, are the ``created_at`` / ``sent_at`` the
  enrichment corrects the event time with, as the tracker's own. The 72-hour lateness
  limit applies.
- ``ua`` is the visitor's user agent instead of the request's, as Matomo's ``ua``.
- Not used: ``ip`` (the client address is the request's own), contexts (``co``,
  ``cx``: no place in the contract), ``sid``/``vid`` (the layers cut sessions),
  ``p``, ``tv``, ``tna``, ``vp``, ``ds``, ``cd``, ``cs``, ``cookie``, ``f_*``, ``pp_*``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from analytics import client_json
from analytics.enrich.visitor_id import client_id_hash
from analytics.site_directory import domain_key
from api.write.collectors.envelope_fields import (
    MAX_CLIENT_ID,
    MAX_TIME_MS,
    MAX_TIME_ZONE,
    MAX_USER_AGENT,
    page_fields,
)
from api.write.collectors.matomo import OUTBOUND
from api.write.collectors.payload_error import PayloadError
from api.write.collectors.umami import flatten
from api.write.refusals import RequestRefused

MALFORMED, UNSUPPORTED = "malformed_snowplow_payload", "unsupported_snowplow_event"
MAX_PARAMS = 500
"""Parameters one event may hold (the browser tracker sends about 30)."""
CLIENT_IDS = ("uid", "duid", "tnuid", "nuid")
"""The parameters that name a person across visits, the first one set the client id."""
UNSUPPORTED_TYPES = {"tr": "ecommerce transactions", "ti": "transaction items"}
SNOWPLOW_VENDOR, LINK_CLICK = "com.snowplowanalytics.snowplow", "link_click"
_IGLU = re.compile(r"^iglu:([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/"
                   r"(\d+-\d+-\d+)$")
_UNSTRUCT = re.compile(r"^iglu:com\.snowplowanalytics\.snowplow/unstruct_event/jsonschema/"
                       r"1-\d+-\d+$")
_NUMBER = re.compile(r"^-?\d{1,15}(?:\.\d{1,15})?(?:[eE][+-]?\d{1,3})?$")
_MILLIS = re.compile(r"^\d{1,15}(?:\.\d{1,6})?$")
_AT_PARAM = r"(?<![^&])"  # at the start of the query string or of a parameter
_ID_PARAM = re.compile(_AT_PARAM + rf"(?P<head>(?:{'|'.join(CLIENT_IDS)})=)(?P<value>[^&#\s]*)")
_IP_PARAM = re.compile(_AT_PARAM + r"ip=[^&#\s]*")


class SnowplowError(PayloadError):
    def __init__(self, detail: str, reason: str = MALFORMED):
        super().__init__(detail, reason)


@dataclass(frozen=True)
class SnowplowHit:
    app_id: str
    fields: dict
    """The envelope without its ``site_id`` (and without ``url`` when none was sent)."""
    user_agent: str = ""
    """``ua``: the visitor's user agent instead of the request's (empty: the request's)."""
    link_target: str | None = None
    """A ``link_click``'s target: outbound or not depends on the page's host."""


def parse(query: str, received_at_ms: int, key: bytes) -> SnowplowHit:
    """The query string of a GET -> the hit. One that is refused raises
    :class:`RequestRefused` (400), keeping ``kept_query(query, key, "")``: its site is not
    known yet."""
    try:
        return to_hit(parse_query(query), received_at_ms)
    except SnowplowError as exc:
        raise RequestRefused(400, exc.reason, str(exc),
                             payload=kept_query(query, key, "")) from None


def parse_query(text: str) -> dict[str, str]:
    """A query string -> its parameters (of a name given twice the last one counts)."""
    try:
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMS))
    except ValueError:
        raise SnowplowError(f"more than {MAX_PARAMS} parameters") from None


def envelope(site_id: str, domain: str, hit: SnowplowHit) -> dict:
    """The envelope for the site the app id named: an event sent without ``url`` is on
    its home page ``https://<domain>/``; a link click to another host than the page's is
    an outbound link."""
    fields = {"site_id": site_id, **hit.fields}
    fields.setdefault("url", f"https://{domain}/")
    if hit.link_target and _other_host(hit.link_target, fields["url"]):
        fields.update(name=OUTBOUND, props={"url": hit.link_target})
    return fields


def kept_query(text: str, key: bytes, site_id: str) -> str:
    """A GET's query string as the invalid-events topic keeps it: the values of ``uid``,
    ``duid``, ``tnuid`` and ``nuid`` replaced by ``client_id_hash(key, site_id, value)``,
    the hash the enrichment makes of a client id (``site_id`` '' while the site is not
    known), and ``ip`` emptied: an address a request claims is never kept."""
    def hashed(match: re.Match) -> str:
        value = unquote_plus(match.group("value"))[:MAX_CLIENT_ID]
        return match.group("head") + (client_id_hash(key, site_id, value) if value else "")
    return _ID_PARAM.sub(hashed, _IP_PARAM.sub("ip=", text))


def to_hit(params: dict[str, str], received_at_ms: int) -> SnowplowHit:
    """One event's parameters -> the hit; :class:`SnowplowError` when refused."""
    app_id = params.get("aid", "").strip()
    if not app_id:
        raise SnowplowError("aid is required: the app id the site was given "
                            "(--snowplow-app-id)")
    fields, target = _action(params)
    url = params.get("url") or ""
    if url:
        fields["url"] = url
    elif fields["kind"] != "custom":
        raise SnowplowError("url is required of a page view (e=pv) and a page ping (e=pp): "
                            "the full URL of the page")
    fields.update(_page(params))
    if params.get("eid"):
        fields["event_id"] = params["eid"]
    client_id = next((params[name] for name in CLIENT_IDS if params.get(name)), None)
    if client_id:
        fields["client_id"] = client_id[:MAX_CLIENT_ID]
    fields.update(_times(params, received_at_ms))
    return SnowplowHit(app_id, fields, user_agent=(params.get("ua") or "")[:MAX_USER_AGENT],
                       link_target=target)


def _action(params: dict[str, str]) -> tuple[dict, str | None]:
    """The kind, the name and the props of the event, and a link click's target."""
    kind = params.get("e", "")
    if kind == "pv":
        return {"kind": "pageview"}, None
    if kind == "pp":
        return {"kind": "engagement", "engagement_ms": 0}, None
    if kind == "se":
        return _structured(params), None
    if kind == "ue":
        return _self_describing(params)
    if kind in UNSUPPORTED_TYPES:
        raise SnowplowError(f"{UNSUPPORTED_TYPES[kind]} (e={kind}) are not collected: only "
                            "page views, page pings, structured and self-describing events",
                            UNSUPPORTED)
    raise SnowplowError("e is required: the event type, pv, pp, se or ue")


def _structured(params: dict[str, str]) -> dict:
    """``se_ca``/``se_ac``/``se_la``/``se_pr``/``se_va``: the action names the event (it
    says what happened); the category, label, property and value are its props, under
    Snowplow's own column names."""
    if not params.get("se_ca") or not params.get("se_ac"):
        raise SnowplowError("a structured event (e=se) needs se_ca (its category) and se_ac "
                            "(its action)")
    props = {"se_category": params["se_ca"], "se_label": params.get("se_la"),
             "se_property": params.get("se_pr"), "se_value": _number(params, "se_va")}
    return {"kind": "custom", "name": params["se_ac"],
            "props": {k: v for k, v in props.items() if v not in (None, "")}}


def _self_describing(params: dict[str, str]) -> tuple[dict, str | None]:
    """``ue_pr`` (or ``ue_px``): ``{"schema": <unstruct_event>, "data": {"schema":
    <the event's Iglu URI>, "data": {...}}}``."""
    where = "ue_pr" if params.get("ue_pr") else "ue_px"
    if not params.get(where):
        raise SnowplowError("a self-describing event (e=ue) needs ue_pr (its JSON) or ue_px "
                            "(the same, base64url-encoded)")
    text = params[where] if where == "ue_pr" else _base64url(params[where], where)
    try:
        value = client_json.loads(text)
    except client_json.ClientJSONError as exc:
        if exc.reason == "too_deep":
            raise SnowplowError(f"{where}: {exc.detail}", exc.reason) from None
        raise SnowplowError(exc.detail.replace("body", where, 1)) from None
    event = value.get("data") if isinstance(value, dict) else None
    if not (isinstance(event, dict) and _UNSTRUCT.match(str(value.get("schema")))):
        raise SnowplowError(f'{where} must be {{"schema": "iglu:com.snowplowanalytics.'
                            'snowplow/unstruct_event/jsonschema/1-0-0", "data": {"schema": '
                            '..., "data": {...}}}')
    schema = _IGLU.match(event["schema"]) if isinstance(event.get("schema"), str) else None
    data = event.get("data")
    if schema is None or not isinstance(data, dict):
        raise SnowplowError(f"{where}: the event's schema must be an Iglu URI like "
                            "iglu:com.acme/signup/jsonschema/1-0-0 and its data an object")
    fields: dict = {"kind": "custom", "name": schema.group(2)}
    # an array (the browser tracker's link_click has elementClasses) as its JSON text: a
    # prop holds no list, and the event should not be refused for one
    props = {key: json.dumps(value, separators=(",", ":"), ensure_ascii=False)
             if isinstance(value, list) else value for key, value in flatten(data).items()}
    if props:
        fields["props"] = props
    target = None
    if (schema.group(1), schema.group(2)) == (SNOWPLOW_VENDOR, LINK_CLICK):
        target = data.get("targetUrl") if isinstance(data.get("targetUrl"), str) else None
    return fields, target or None


def _base64url(text: str, where: str) -> bytes:
    """Base64url as the trackers write it (padding optional; the standard alphabet is
    taken too, as Snowplow's enrichment takes it)."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), altchars=b"-_",
                                validate=True)
    except (binascii.Error, ValueError):
        raise SnowplowError(f"{where} must be base64url-encoded JSON") from None


def _other_host(target: str, page: str) -> bool:
    """Whether a link leaves the page's host (a relative link does not; ``www.`` and case
    do not matter, as for sites' domains)."""
    try:
        host, own = urlsplit(target).hostname, urlsplit(page).hostname
    except ValueError:
        return False
    return bool(host) and domain_key(host) != domain_key(own or "")


def _number(params: dict[str, str], name: str) -> int | float | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    number = float(text) if _NUMBER.match(text) else None
    if number is None or not math.isfinite(number):
        raise SnowplowError(f"{name} must be a number, like 4 or 2.5")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _page(params: dict[str, str]) -> dict:
    """Title, referrer, screen, language and time zone."""
    fields = page_fields(title=params.get("page"), referrer=params.get("refr"),
                         screen=params.get("res"), language=params.get("lang"))
    zone = params.get("tz", "").strip()
    if 0 < len(zone) <= MAX_TIME_ZONE:
        fields["time_zone"] = zone
    return fields


def _times(params: dict[str, str], received_at_ms: int) -> dict:
    """``ttm`` is a stated time: the server's clock is the other end (as Matomo's
    ``cdt``). ``dtm`` and ``stm`` are both the device's: only their difference counts."""
    true_ms = _millis(params, "ttm")
    if true_ms is not None:
        return {"created_at": true_ms, "sent_at": received_at_ms}
    times = {"created_at": _millis(params, "dtm"), "sent_at": _millis(params, "stm")}
    return {k: v for k, v in times.items() if v is not None}


def _millis(params: dict[str, str], name: str) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    ms = int(float(text)) if _MILLIS.match(text) else None
    if ms is None or ms > MAX_TIME_MS:
        raise SnowplowError(f"{name} must be epoch milliseconds, like 1796000000000")
    return ms
