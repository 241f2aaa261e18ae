"""Matomo's Tracking HTTP API mapped onto the event envelope (no Falcon in here).

``matomo.js``, ``matomo-tracker`` (npm) and Matomo's other tracking clients send one
request as a query string — in the URL of a GET, or as a form body of a POST — to
``matomo.php`` (older clients: ``piwik.php``); Sitelens takes it at ``Config.matomo_path``::

    idsite=1&rec=1&url=https%3A%2F%2Fexample.com%2Fa%3Futm_source%3Dx&action_name=Pricing
    &urlref=https%3A%2F%2Fwww.google.com%2F&_id=3a1f0c2d4e5b6a79&res=1920x1080

A bulk of them is a JSON body (:mod:`api.write.collectors.matomo_bulk`). What one
request becomes (``docs/collectors.md`` has the table):

- ``idsite`` names the site by its ``matomo_idsite`` (:mod:`analytics.sites`); ``rec=1``
  is required, as Matomo tracks nothing without it.
- The kind: ``ping=1`` (the heartbeat timer) is an engagement ping; ``e_c`` + ``e_a`` a
  custom event named by the category, with the props ``event_action``, ``event_name``
  (``e_n``) and ``event_value`` (``e_v``, a number); ``link`` an ``Outbound Link: Click``
  and ``download`` a ``File Download`` (with the prop ``url``: the names Plausible's
  script sends, so both land on the same events); ``search`` a ``Site Search``; anything
  else a pageview. Goal conversions, ecommerce, content, media and crash requests have no
  place in the contract and are refused as ``unsupported_matomo_request``.
- A ping carries no time: its ``engagement_ms`` is 0, and its own event time extends the
  visit as Matomo's heartbeat does. Its props are dropped, as Plausible's are.
- ``url``, ``action_name`` (the title, cut to the envelope's 512 characters), ``urlref``
  (cut to 2,048, as Plausible's referrer), ``res`` (``1920x1080``), ``lang`` (its first
  language tag); UTM tags come from the URL by the enrichment, and Matomo's own campaign
  parameters in the URL (``mtm_*``, ``pk_*``) fill the UTM fields it lacks.
- ``uid``, ``cid`` or ``_id`` (the first one set) is the ``client_id``: the visitor id is
  made of it only on sites that opted into client ids (as Umami's distinct id).
- ``cdt`` (Unix seconds or a UTC date-time) is when the event happened; the enrichment's
  72-hour lateness limit applies, whatever ``token_auth`` says.
- Custom variables (``_cvar``, ``cvar``: ``{"1": ["name", "value"]}``) and custom
  dimensions (``dimension1``...) become props (a variable's name with characters a prop
  key cannot hold as ``_``).
- ``ua`` is the visitor's user agent, as in Matomo (its server-side trackers, such as
  ``matomo-tracker``, send the visitor's there and none in the header); without it, the
  request's ``User-Agent``. The bot rules apply to whichever is used: a bot can claim any
  user agent either way.
- Not used: ``cip`` (the client address is the request's own, never what a request
  claims: it makes the cookieless visitor id), ``token_auth``, the geolocation overrides,
  ``pv_id``
  (there is no per-pageview link in the contract), the cookie and plugin flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from analytics import client_json
from analytics.enrich.visitor_id import client_id_hash
from analytics.sites import MAX_MATOMO_IDSITE
from api.write.collectors.envelope_fields import (
    FIELDS,
    MAX_CLIENT_ID,
    MAX_TIME_MS,
    MAX_USER_AGENT,
    page_fields,
)
from api.write.collectors.payload_error import PayloadError
from api.write.refusals import RequestRefused

MALFORMED, UNSUPPORTED = "malformed_matomo_request", "unsupported_matomo_request"
OUTBOUND, DOWNLOAD, SEARCH = "Outbound Link: Click", "File Download", "Site Search"
"""The custom events of ``link``, ``download`` and ``search`` requests."""
MAX_PARAMS = 500
"""Parameters one request may hold (matomo.js sends about 30)."""
UNSUPPORTED_PARAMS = {"idgoal": "goal conversions", "ec_id": "ecommerce orders",
                      "ec_items": "ecommerce carts", "c_n": "content tracking",
                      "c_i": "content tracking", "ma_id": "media analytics",
                      "cra": "crash reports"}
CAMPAIGN_PARAMS = {"utm_campaign": ("mtm_campaign", "pk_campaign", "pk_cpn"),
                   "utm_source": ("mtm_source", "pk_source"),
                   "utm_medium": ("mtm_medium", "pk_medium"),
                   "utm_term": ("mtm_keyword", "mtm_kwd", "pk_keyword", "pk_kwd"),
                   "utm_content": ("mtm_content", "pk_content")}
"""Matomo's campaign parameters in a page URL, for the UTM field each fills."""
_IDSITE = re.compile(r"^\d{1,10}$")
_NUMBER = re.compile(r"^-?\d{1,15}(?:\.\d{1,15})?$")
_SECONDS = re.compile(r"^\d{1,11}(?:\.\d{1,6})?$")
_DIMENSION = re.compile(r"^dimension(\d{1,4})$")
_NOT_IN_KEY = re.compile(r"[^A-Za-z0-9_.:-]")
_AT_PARAM = r'(?<![^?&"])'  # at the start of the text or of a parameter (also in JSON)
_ID_PARAM = re.compile(_AT_PARAM + r"(?P<head>(?:_id|uid|cid)=)(?P<value>[^&\"#\s]*)")
_TOKEN_PARAM = re.compile(_AT_PARAM + r"token_auth=[^&\"#\s]*")
_TOKEN_FIELD = re.compile(r'"token_auth"\s*:\s*"(?:[^"\\]|\\.)*"')


class MatomoError(PayloadError):
    def __init__(self, detail: str, reason: str = MALFORMED):
        super().__init__(detail, reason)


@dataclass(frozen=True)
class MatomoHit:
    idsite: int
    fields: dict
    """The envelope without its ``site_id``."""
    image: bool = True
    """Answer with Matomo's 1x1 GIF (as Matomo does unless ``send_image=0``: then 204)."""
    user_agent: str = ""
    """``ua``: the visitor's user agent instead of the request's (empty: the request's)."""


def request_text(query: str, body: bytes) -> str:
    """The parameters of a GET or a form POST as one query string: the form body first,
    so that the URL's parameters win (:func:`parse_query`), as in Matomo."""
    form = body.decode("utf-8", errors="replace").strip()
    return "&".join(text for text in (form, query) if text)


def parse(text: str, received_at_ms: int, key: bytes) -> MatomoHit:
    """One request's query string -> the hit. A request that is refused raises
    :class:`RequestRefused` (400), keeping ``kept_text(text, key, "")``: its site is not
    known yet."""
    try:
        return to_hit(parse_query(text), received_at_ms)
    except MatomoError as exc:
        raise RequestRefused(400, exc.reason, str(exc),
                             payload=kept_text(text, key, "")) from None


def envelope(site_id: str, hit: MatomoHit) -> dict:
    return {"site_id": site_id, **hit.fields}


def kept_text(text: str, key: bytes, site_id: str) -> str:
    """A request (or a bulk body) as the invalid-events topic keeps it: the values of
    ``_id``, ``uid`` and ``cid`` replaced by ``client_id_hash(key, site_id, value)``, the
    hash the enrichment makes of a client id (``site_id`` '' while the site is not
    known), and ``token_auth`` emptied: a Matomo credential is never kept."""
    text = _TOKEN_FIELD.sub('"token_auth":""', _TOKEN_PARAM.sub("token_auth=", text))

    def hashed(match: re.Match) -> str:
        value = unquote_plus(match.group("value"))[:MAX_CLIENT_ID]
        return match.group("head") + (client_id_hash(key, site_id, value) if value else "")
    return _ID_PARAM.sub(hashed, text)


def parse_query(text: str) -> dict[str, str]:
    """A query string (or form body) -> its parameters; of a name given twice the last
    one counts, as in PHP (Matomo)."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMS)
    except ValueError:
        raise MatomoError(f"more than {MAX_PARAMS} parameters") from None
    return dict(pairs)


def to_hit(params: dict[str, str], received_at_ms: int) -> MatomoHit:
    """One request's parameters -> the hit; :class:`MatomoError` when refused."""
    if params.get("rec") != "1":
        raise MatomoError("rec=1 is required: Matomo tracks only requests with rec=1")
    idsite = _idsite(params.get("idsite"))
    for name, what in UNSUPPORTED_PARAMS.items():
        if params.get(name):
            raise MatomoError(f"{what} ({name}) are not collected: only pageviews, events, "
                              "outlinks, downloads, site searches and pings", UNSUPPORTED)
    url = params.get("url") or ""
    if not url:
        raise MatomoError("url is required: the full URL of the page")
    fields = {**_action(params), "url": url}
    fields.update(_page(params, url))
    if fields["kind"] != "engagement":
        props = {**_custom_variables(params), **fields.get("props", {})}
        if props:
            fields["props"] = props
    client_id = params.get("uid") or params.get("cid") or params.get("_id")
    if client_id:
        fields["client_id"] = client_id[:MAX_CLIENT_ID]
    created_ms = _event_time(params.get("cdt"))
    if created_ms is not None:
        fields["created_at"] = created_ms
        fields["sent_at"] = received_at_ms  # a stated time: the server clock is ours
    return MatomoHit(idsite, fields, image=params.get("send_image") != "0",
                     user_agent=(params.get("ua") or "")[:MAX_USER_AGENT])


def _idsite(text: str | None) -> int:
    if text is None or not _IDSITE.match(text) or not 0 < int(text) <= MAX_MATOMO_IDSITE:
        raise MatomoError("idsite is required: the site's Matomo id, a whole number from 1 "
                          f"to {MAX_MATOMO_IDSITE}")
    return int(text)


def _action(params: dict[str, str]) -> dict:
    """The kind, the name and the props of the action the request tracks."""
    if params.get("ping") == "1":
        return {"kind": "engagement", "engagement_ms": 0}
    if params.get("e_c") or params.get("e_a"):
        return _event(params)
    for param, name in (("link", OUTBOUND), ("download", DOWNLOAD)):
        if params.get(param):
            return {"kind": "custom", "name": name, "props": {"url": params[param]}}
    if params.get("search"):
        props = {"search_keyword": params["search"], "search_category": params.get("search_cat"),
                 "search_count": _number(params, "search_count")}
        return {"kind": "custom", "name": SEARCH,
                "props": {k: v for k, v in props.items() if v not in (None, "")}}
    return {"kind": "pageview"}


def _event(params: dict[str, str]) -> dict:
    """``e_c``/``e_a``/``e_n``/``e_v``: the category names the event (Matomo's reports lead
    with it); the action, the name and the value are its props."""
    if not params.get("e_c") or not params.get("e_a"):
        raise MatomoError("an event needs both e_c (its category) and e_a (its action)")
    props = {"event_action": params["e_a"], "event_name": params.get("e_n"),
             "event_value": _number(params, "e_v")}
    return {"kind": "custom", "name": params["e_c"],
            "props": {k: v for k, v in props.items() if v not in (None, "")}}


def _number(params: dict[str, str], name: str) -> int | float | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    if not _NUMBER.match(text):
        raise MatomoError(f"{name} must be a number, like 4 or 2.5")
    number = float(text)
    return int(number) if number.is_integer() else number


def _page(params: dict[str, str], url: str) -> dict:
    """Title, referrer, screen, language and the UTM fields Matomo's campaign parameters
    fill."""
    fields = page_fields(title=params.get("action_name"), referrer=params.get("urlref"),
                         screen=params.get("res"), language=params.get("lang"))
    fields.update(_campaign(url))
    return fields


def _campaign(url: str) -> dict:
    """UTM fields from ``mtm_*``/``pk_*`` in the page URL, for those its ``utm_*`` leave
    empty (the enrichment reads ``utm_*`` from the URL itself)."""
    if "mtm_" not in url and "pk_" not in url:
        return {}
    try:
        query = dict(reversed(parse_qsl(urlsplit(url).query, max_num_fields=MAX_PARAMS)))
    except ValueError:
        return {}  # the enrichment refuses a URL that does not parse
    found = {}
    for utm, names in CAMPAIGN_PARAMS.items():
        value = next((query[n] for n in names if query.get(n)), None)
        if value and not query.get(utm):
            found[utm] = value[:FIELDS[utm]["maxLength"]]
    return found


def _custom_variables(params: dict[str, str]) -> dict:
    """``_cvar`` and ``cvar`` (``{"1": ["name", "value"], ...}``), then ``dimensionN``."""
    props: dict = {}
    for param in ("_cvar", "cvar"):
        if params.get(param):
            props.update(_variables(param, params[param]))
    for name, value in params.items():
        if _DIMENSION.match(name) and value:
            props[name] = value
    return props


def _variables(param: str, text: str) -> dict:
    try:
        value = client_json.loads(text, limit=3)
    except client_json.ClientJSONError:
        value = None
    pairs = value.values() if isinstance(value, dict) else None
    if pairs is None or not all(isinstance(p, list) and len(p) == 2
                                and all(isinstance(x, str) for x in p) for p in pairs):
        raise MatomoError(f'{param} must be a JSON object like {{"1": ["name", "value"]}}')
    return {_NOT_IN_KEY.sub("_", name)[:64]: val for name, val in pairs if name and val}


def _event_time(text: str | None) -> int | None:
    """``cdt``: Unix seconds, or a date-time (UTC unless it says otherwise), in epoch ms."""
    if not text:
        return None
    text = text.strip()
    try:
        if _SECONDS.match(text):
            ms = round(float(text) * 1000)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            ms = round((moment if moment.tzinfo else moment.replace(tzinfo=UTC))
                       .timestamp() * 1000)
    except (ValueError, OverflowError):
        ms = None
    if ms is None or not 0 <= ms <= MAX_TIME_MS:
        raise MatomoError("cdt must be Unix seconds or a UTC date-time like "
                          "2026-11-30 08:15:00")
    return ms
