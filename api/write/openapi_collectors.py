"""The compatible collectors' requests and answers in the write service's OpenAPI document
(merged into :func:`api.write.openapi.document`): Plausible's Events API, Umami's
``/api/send``, Matomo's Tracking HTTP API and Snowplow's tracker protocol, their fields
described with the event schema's own limits where they land in it
(``docs/collectors.md`` has the mapping)."""

from __future__ import annotations

from analytics.event_schema import envelope_schema
from analytics.sites import MAX_MATOMO_IDSITE, MAX_SNOWPLOW_APP_ID

TEXT = {"type": "string"}


def plausible() -> dict:
    fields = envelope_schema()["properties"]
    return {
        "type": "object", "required": ["n", "u"],
        "description": "Plausible's Events API, as its script (text/plain), its npm "
                       "package and server-side callers send it; long names (name, url, "
                       "domain, referrer, props, revenue) work too, and m / meta (props as "
                       "a JSON string, older scripts). n \"pageview\" is a pageview, "
                       "\"engagement\" an engagement ping (e: engaged ms, sd: scroll depth "
                       "%), any other name a custom event. d: the site's domain, or several "
                       "separated by commas (default: the host of u). docs/collectors.md",
        "properties": {
            "n": {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 120},
                            {"type": "integer", "minimum": 0}]},
            "u": fields["url"], "d": {"type": "string", "minLength": 1}, "r": TEXT,
            "p": fields["props"],
            "$": {"type": "object", "required": ["amount", "currency"],
                  "description": "revenue: props revenue_amount and revenue_currency",
                  "properties": {"amount": {"type": "number"},
                                 "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}},
            "e": {"type": "integer", "minimum": 0}, "sd": {"type": "integer", "minimum": 0},
            "h": {"type": "integer"}, "i": {"type": "boolean"}, "v": {"type": "integer"},
            "w": fields["screen_width"]}}


def umami() -> dict:
    fields = envelope_schema()["properties"]
    payload = {
        "website": {"type": "string", "format": "uuid",
                    "description": "the site's umami_website_id"},
        "hostname": {"type": "string", "pattern": "^[a-z0-9]+(\\.[a-z0-9]+)*$"},
        "url": {"type": "string", "description": "a full URL, or a path on hostname"},
        "referrer": TEXT, "title": fields["title"], "language": fields["language"],
        "screen": {"type": "string", "pattern": "^\\d{1,5}x\\d{1,5}$"},
        "id": {"type": "string", "description": "a distinct id (umami.identify): the "
                                                "client id of sites that opted into them"},
        "timestamp": {"type": "integer", "minimum": 0,
                      "maximum": fields["created_at"]["maximum"] // 1000}}
    event = {**payload, "name": fields["name"],
             "data": {**fields["props"], "description": "the custom event's properties "
                                                        "(nested objects: dotted keys)"}}
    engagement = {**payload, "engagement": {"type": "integer", "minimum": 1,
                                            "maximum": fields["engagement_ms"]["maximum"]}}
    return {
        "description": "Umami's /api/send, as its script and @umami/node send it: an event "
                       "is a pageview, or a custom event with a name and its data. "
                       "docs/collectors.md",
        "oneOf": [
            {"type": "object", "required": ["type", "payload"], "properties": {
                "type": {"const": "event"},
                "payload": {"type": "object", "required": ["website"],
                            "properties": event}}},
            {"type": "object", "required": ["type", "payload"], "properties": {
                "type": {"const": "engagement"},
                "payload": {"type": "object", "required": ["website", "engagement"],
                            "properties": engagement}}}]}


UMAMI_ANSWER = {"allOf": [{"$ref": "#/components/schemas/Outcome"}, {
    "type": "object", "required": ["cache"], "properties": {"cache": {
        "type": "string", "description": "what Umami's scripts keep and send back in "
                                         "X-Umami-Cache (not used here)"}}}]}

MATOMO_REQUIRED = ("idsite", "rec", "url")
MATOMO_DIMENSION = "^dimension\\d{1,4}$"
"""Custom dimensions (``dimension1``...): props of that name."""
MATOMO_DESCRIPTION = (
    "Matomo's Tracking HTTP API, as matomo.js, matomo-tracker and Matomo's other clients "
    "send it: one request as a query string (GET), or as a form body (POST; parameters "
    "also in the URL win). ping=1 is an engagement ping; e_c and e_a a custom event named "
    "by its category; link an \"Outbound Link: Click\", download a \"File Download\", "
    "search a \"Site Search\"; anything else a pageview. Custom dimensions dimension1, "
    "dimension2, ... (any dimensionN) and custom variables (_cvar, cvar) become props. "
    "Goal conversions, ecommerce, content, media and crash requests (idgoal, ec_id, "
    "ec_items, c_n, c_i, ma_id, cra) are refused (unsupported_matomo_request); cip, "
    "token_auth and the other parameters are not used. docs/collectors.md")


def _matomo_fields() -> dict[str, dict]:
    """Matomo's parameters the collector reads -> their schema (what a query string and a
    form body both hold)."""
    fields = envelope_schema()["properties"]
    variables = {"type": "object", "maxProperties": fields["props"]["maxProperties"],
                 "additionalProperties": {"type": "array", "items": TEXT,
                                          "minItems": 2, "maxItems": 2},
                 "description": "custom variables, {\"1\": [\"name\", \"value\"]}: props "
                                "(a name's characters a prop key cannot hold as _)"}
    client_id = {**fields["client_id"], "description": "the visitor's id (uid, cid, _id: "
                 "the first one set): the client id of sites that opted into them"}
    return {
        "idsite": {"type": "integer", "minimum": 1, "maximum": MAX_MATOMO_IDSITE,
                   "description": "the site's Matomo idsite (python -m api.manage site "
                                  "update <site> --matomo-idsite N)"},
        "rec": {"type": "integer", "enum": [1],
                "description": "1: Matomo tracks only requests with rec=1"},
        "url": {**fields["url"], "description": "the page's URL (UTM tags from it, and "
                "Matomo's mtm_* / pk_* campaign parameters for those it lacks)"},
        "action_name": {**TEXT, "description": "the page's title (cut to "
                        f"{fields['title']['maxLength']} characters)"},
        "urlref": {**TEXT, "description": "the referrer (cut to "
                   f"{fields['referrer']['maxLength']} characters)"},
        "res": {"type": "string", "pattern": "^\\d{1,5}x\\d{1,5}$",
                "description": "the screen, 1920x1080"},
        "lang": {**TEXT, "description": "Accept-Language: its first language tag"},
        "ua": {**TEXT, "description": "the visitor's user agent instead of the request's "
                                      "(server-side trackers)"},
        "uid": client_id, "cid": client_id, "_id": client_id,
        "cdt": {"anyOf": [{"type": "integer", "minimum": 0,
                           "maximum": fields["created_at"]["maximum"] // 1000},
                          {"type": "string", "format": "date-time"}],
                "description": "when it happened: Unix seconds, or a date-time (UTC unless "
                               "it says otherwise); older than 72 h: refused as too_late"},
        "e_c": {**fields["name"], "description": "an event's category: the custom event's "
                                                 "name"},
        "e_a": {**TEXT, "description": "an event's action (prop event_action)"},
        "e_n": {**TEXT, "description": "an event's name (prop event_name)"},
        "e_v": {"type": "number", "description": "an event's value (prop event_value)"},
        "link": {**TEXT, "description": "an outlink's URL (prop url)"},
        "download": {**TEXT, "description": "a download's URL (prop url)"},
        "search": {**TEXT, "description": "a site search's keyword (prop search_keyword)"},
        "search_cat": {**TEXT, "description": "its category (prop search_category)"},
        "search_count": {"type": "integer", "minimum": 0,
                         "description": "its number of results (prop search_count)"},
        "ping": {"type": "integer", "enum": [1],
                 "description": "1: a heartbeat, an engagement ping"},
        "send_image": {"type": "integer", "enum": [0, 1],
                       "description": "0: answered 204 instead of the GIF"},
        "_cvar": variables, "cvar": variables}


def matomo_parameters() -> list[dict]:
    """The query parameters of ``GET <matomo_path>`` (the custom variables: JSON)."""
    found = []
    for name, schema in _matomo_fields().items():
        described = {"name": name, "in": "query", "required": name in MATOMO_REQUIRED,
                     "description": schema.get("description", "")}
        if schema.get("type") == "object":
            found.append({**described, "content": {"application/json": {"schema": schema}}})
        else:
            found.append({**described, "schema": schema})
    return found


def matomo_form() -> dict:
    """The form body of ``POST <matomo_path>``: the same parameters (the custom variables
    as JSON: :data:`MATOMO_FORM_ENCODING`), and ``dimensionN``."""
    return {"type": "object", "required": list(MATOMO_REQUIRED),
            "description": MATOMO_DESCRIPTION, "properties": _matomo_fields(),
            "patternProperties": {MATOMO_DIMENSION: {
                **TEXT, "description": "a custom dimension: the prop of its name"}}}


MATOMO_FORM_ENCODING = {name: {"contentType": "application/json"}
                        for name in ("_cvar", "cvar")}


def matomo_bulk(max_requests: int) -> dict:
    return {
        "type": "object", "required": ["requests"],
        "description": "Matomo's bulk tracking (trackBulk of matomo-tracker, Matomo's log "
                       "importer, its PHP and Java trackers): each request is taken on its "
                       "own; a refused one is counted as invalid, the others are tracked",
        "properties": {
            "requests": {"type": "array", "minItems": 1, "maxItems": max_requests,
                         "items": {"type": "string", "description": "one request's query "
                                   "string, ?idsite=1&rec=1&url=..."}},
            "token_auth": {**TEXT, "description": "not checked, never kept"}}}


MATOMO_BULK_ANSWER = {
    "type": "object", "required": ["status", "tracked", "invalid", "invalid_indices"],
    "description": "Matomo's answer to a bulk",
    "properties": {
        "status": {"const": "success"},
        "tracked": {"type": "integer", "minimum": 0,
                    "description": "requests kept (in Kafka or the spool)"},
        "invalid": {"type": "integer", "minimum": 0,
                    "description": "requests refused (counted by reason, kept on the "
                                   "invalid-events topic)"},
        "invalid_indices": {"type": "array", "items": {"type": "integer", "minimum": 0},
                            "description": "their indices in requests"}}}


SNOWPLOW_DESCRIPTION = (
    "Snowplow's tracker protocol, as its browser, Python and other trackers send it: aid "
    "names the site (its snowplow_app_id). e=pv is a pageview; e=pp (a page ping) an "
    "engagement ping; e=se a custom event named by se_ac, with the props se_category, "
    "se_label, se_property, se_value; e=ue (ue_pr, or ue_px in base64url) a custom event "
    "named by its schema's name, its data the props (a link_click to another host: an "
    "\"Outbound Link: Click\" with the prop url). url is required of pv and pp (a se or ue "
    "event without one is on the site's home page). Transactions (e=tr, e=ti) are refused "
    "(unsupported_snowplow_event); ip, contexts (co, cx) and the other parameters are not "
    "used. docs/collectors.md")
_DIGITS = {"type": "string", "pattern": "^\\d{1,15}$"}
_UNSTRUCT = {"type": "object", "required": ["schema", "data"], "properties": {
    "schema": {"const": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"},
    "data": {"type": "object", "required": ["schema", "data"], "properties": {
        "schema": {"type": "string", "pattern": "^iglu:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/"
                                                "[A-Za-z0-9_.-]+/\\d+-\\d+-\\d+$"},
        "data": {"type": "object"}}}}}


def _snowplow_fields() -> dict[str, dict]:
    """The tracker protocol's parameters the collector reads -> their schema (all text,
    as the trackers send them)."""
    fields = envelope_schema()["properties"]
    client_id = {**TEXT, "description": "the visitor's id (uid, duid, tnuid, nuid: the first "
                 "one set): the client id of sites that opted into them"}
    return {
        "aid": {"type": "string", "minLength": 1, "maxLength": MAX_SNOWPLOW_APP_ID,
                "description": "the site's Snowplow app id (python -m api.manage site "
                               "update <site> --snowplow-app-id <app id>)"},
        "e": {"enum": ["pv", "pp", "se", "ue"], "description": "the event type"},
        "url": {**fields["url"], "description": "the page's URL (UTM tags from it); "
                                                "required of pv and pp"},
        "page": {**TEXT, "description": "the page's title (cut to "
                 f"{fields['title']['maxLength']} characters)"},
        "refr": {**TEXT, "description": "the referrer (cut to "
                 f"{fields['referrer']['maxLength']} characters)"},
        "res": {"type": "string", "pattern": "^\\d{1,5}x\\d{1,5}$",
                "description": "the screen, 1920x1080"},
        "lang": {**TEXT, "description": "the language (its first tag)"},
        "tz": {**fields["time_zone"], "description": "the time zone, Europe/Berlin"},
        "ua": {**TEXT, "description": "the visitor's user agent instead of the request's "
                                      "(server-side trackers)"},
        "eid": {**fields["event_id"], "description": "the event id (a resent event is one "
                                                     "event)"},
        "uid": client_id, "duid": client_id, "tnuid": client_id, "nuid": client_id,
        "dtm": {**_DIGITS, "description": "epoch ms when it happened, the device's clock"},
        "stm": {**_DIGITS, "description": "epoch ms when it was sent, the device's clock"},
        "ttm": {**_DIGITS, "description": "epoch ms when it truly happened (stated by the "
                                          "caller); older than 72 h: refused as too_late"},
        "se_ca": {**TEXT, "description": "a structured event's category (prop "
                                         "se_category)"},
        "se_ac": {**fields["name"], "description": "a structured event's action: the "
                                                   "custom event's name"},
        "se_la": {**TEXT, "description": "its label (prop se_label)"},
        "se_pr": {**TEXT, "description": "its property (prop se_property)"},
        "se_va": {"type": "string", "pattern": "^-?\\d{1,15}(\\.\\d{1,15})?$",
                  "description": "its value, a number (prop se_value)"},
        "ue_pr": {**TEXT, "contentMediaType": "application/json", "contentSchema": _UNSTRUCT,
                  "description": "a self-describing event, JSON"},
        "ue_px": {"type": "string", "pattern": "^[A-Za-z0-9_=-]+$",
                  "description": "the same, base64url-encoded"}}


def snowplow_parameters() -> list[dict]:
    """The query parameters of ``GET <snowplow_get_path>`` (``ue_pr``: JSON)."""
    found = []
    for name, schema in _snowplow_fields().items():
        described = {"name": name, "in": "query", "required": name in ("aid", "e"),
                     "description": schema.get("description", "")}
        if name == "ue_pr":
            found.append({**described, "content": {"application/json": {
                "schema": _UNSTRUCT}}})
        else:
            found.append({**described, "schema": schema})
    return found


def snowplow_tp2(max_events: int) -> dict:
    event = {"type": "object", "required": ["e", "aid"], "properties": _snowplow_fields(),
             "description": "one event's parameters",
             "allOf": [
                 {"if": {"required": ["e"], "properties": {"e": {"enum": ["pv", "pp"]}}},
                  "then": {"required": ["url"]}},
                 {"if": {"required": ["e"], "properties": {"e": {"const": "se"}}},
                  "then": {"required": ["se_ca", "se_ac"]}},
                 {"if": {"required": ["e"], "properties": {"e": {"const": "ue"}}},
                  "then": {"anyOf": [{"required": ["ue_pr"]}, {"required": ["ue_px"]}]}}]}
    return {
        "type": "object", "required": ["schema", "data"],
        "description": SNOWPLOW_DESCRIPTION + " A batch (tp2) is taken event by event: a "
                       "refused event is counted and kept on events.invalid, the others "
                       "are tracked; the answer is 200 ok either way, as Snowplow's.",
        "properties": {
            "schema": {"type": "string", "pattern": "^iglu:com\\.snowplowanalytics\\."
                       "snowplow/payload_data/jsonschema/1-\\d+-\\d+$",
                       "examples": ["iglu:com.snowplowanalytics.snowplow/payload_data/"
                                    "jsonschema/1-0-4"]},
            "data": {"type": "array", "minItems": 1, "maxItems": max_events,
                     "items": event}}}
