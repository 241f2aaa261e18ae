"""The OpenAPI 3.1 description the write service publishes at ``/openapi.json``. The
collect endpoint's request body is the event JSON Schema itself
(``analytics/schemas/event``), so the document and the validation cannot drift apart;
the paths follow the configuration (first-party collect and script paths)."""

from __future__ import annotations

from analytics.config import Config
from analytics.event_schema import ENVELOPE_VERSION, envelope_schema
from api.write.measurement_protocol import MAX_EVENTS
from api.write.resources import PIXEL_FIELDS

_ERROR = {"type": "object", "required": ["title", "description", "request_id"],
          "description": "the error body of both services (Falcon's, with the request id)",
          "properties": {
              "title": {"type": "string",
                        "description": "the reason, a stable key it is counted by "
                                       "(analytics_write_events_refused_total)"},
              "description": {"type": "string", "description": "what exactly is wrong"},
              "request_id": {"type": "string",
                             "description": "the request's id (X-Request-Id), also in the "
                                            "access log line"}}}
_OUTCOME = {"type": "object", "required": ["accepted", "refused", "spooled"], "properties": {
    "accepted": {"type": "integer", "description": "events kept (in Kafka or the spool)"},
    "refused": {"type": "array", "description": "events the enrichment refused (kept on "
                                                "the invalid-events topic)",
                "items": {"type": "object", "properties": {
                    "index": {"type": "integer"}, "reason": {"type": "string"},
                    "detail": {"type": "string"}}}},
    "spooled": {"type": "integer", "description": "records spooled to disk while Kafka "
                                                  "did not answer"}}}
_MEASUREMENT_PROTOCOL = {
    "type": "object", "required": ["client_id", "events"],
    "description": "GA4 Measurement Protocol: page_view is a pageview, user_engagement "
                   "(with engagement_time_msec) an engagement ping, any other name a "
                   "custom event whose params are its properties.",
    "properties": {
        "client_id": {"type": "string", "minLength": 1},
        "timestamp_micros": {"type": "integer", "minimum": 0},
        "events": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS, "items": {
            "type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"},
                "params": {"type": "object"}}}}}}


_TEXT = {"type": "string"}


def _plausible() -> dict:
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
            "u": fields["url"], "d": {"type": "string", "minLength": 1}, "r": _TEXT,
            "p": fields["props"],
            "$": {"type": "object", "required": ["amount", "currency"],
                  "description": "revenue: props revenue_amount and revenue_currency",
                  "properties": {"amount": {"type": "number"},
                                 "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}},
            "e": {"type": "integer", "minimum": 0}, "sd": {"type": "integer", "minimum": 0},
            "h": {"type": "integer"}, "i": {"type": "boolean"}, "v": {"type": "integer"},
            "w": fields["screen_width"]}}


def _umami() -> dict:
    fields = envelope_schema()["properties"]
    payload = {
        "website": {"type": "string", "format": "uuid",
                    "description": "the site's umami_website_id"},
        "hostname": {"type": "string", "pattern": "^[a-z0-9]+(\\.[a-z0-9]+)*$"},
        "url": {"type": "string", "description": "a full URL, or a path on hostname"},
        "referrer": _TEXT, "title": fields["title"], "language": fields["language"],
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


_UMAMI_ANSWER = {"allOf": [{"$ref": "#/components/schemas/Outcome"}, {
    "type": "object", "required": ["cache"], "properties": {"cache": {
        "type": "string", "description": "what Umami's scripts keep and send back in "
                                         "X-Umami-Cache (not used here)"}}}]}


def _refusals(*statuses: str) -> dict:
    reasons = {"400": "malformed JSON, nested too deep, or not the schema",
               "403": "origin not allowed, or a wrong api_secret",
               "404": "unknown site", "409": "a domain or website id of several sites",
               "413": "body or batch too large",
               "429": "over the client's rate limit (Retry-After)"}
    return {status: {"description": reasons[status], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for status in statuses}


def _accepted(description: str) -> dict:
    return {"202": {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Outcome"}}}}}


def document(config: Config, version: str) -> dict:
    event_fields = envelope_schema()["properties"]
    pixel = [{"name": name, "in": "query", "required": name == "site_id",
              "schema": event_fields[name]} for name in sorted(PIXEL_FIELDS)]
    paths = {
        config.collect_path: {
            "post": {"summary": "One event, or an array of events (the tracker's endpoint)",
                     "operationId": "collect",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"oneOf": [
                             {"$ref": "#/components/schemas/Event"},
                             {"type": "array", "minItems": 1,
                              "maxItems": config.max_batch_events,
                              "items": {"$ref": "#/components/schemas/Event"}}]}}}},
                     "responses": {**_accepted("accepted (see refused for events the "
                                               "enrichment refused)"),
                                   **_refusals("400", "403", "404", "413", "429")}},
            "options": {"summary": "CORS preflight", "operationId": "collectPreflight",
                        "responses": {"204": {"description": "allowed"}}}},
        "/api/pixel.gif": {"get": {
            "summary": "One event as query parameters, for clients without JavaScript",
            "operationId": "pixel", "parameters": pixel,
            "responses": {"200": {"description": "a transparent GIF",
                                  "content": {"image/gif": {}}},
                          **_refusals("400", "404", "429")}}},
        "/mp/collect": {"post": {
            "summary": "GA4 Measurement Protocol", "operationId": "measurementProtocol",
            "parameters": [
                {"name": "measurement_id", "in": "query", "required": True,
                 "description": "the site id", "schema": {"type": "string"}},
                {"name": "api_secret", "in": "query", "required": True,
                 "description": "the site's Measurement Protocol secret",
                 "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/MeasurementProtocol"}}}},
            "responses": {**_accepted("accepted"),
                          **_refusals("400", "403", "404", "413", "429")}}},
        config.plausible_path: {
            "post": {"summary": "Plausible's Events API (data-api of Plausible's script)",
                     "operationId": "plausible",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/Plausible"}}}},
                     "responses": {
                         "202": {"description": "\"ok\", as Plausible answers; with "
                                                "X-Plausible-Dropped: 1 when the enrichment "
                                                "refused the event (kept on events.invalid)",
                                 "content": {"text/plain": {"schema": _TEXT}}},
                         **_refusals("400", "403", "404", "409", "413", "429")}},
            "options": {"summary": "CORS preflight", "operationId": "plausiblePreflight",
                        "responses": {"204": {"description": "allowed"}}}},
        config.umami_path: {
            "post": {"summary": "Umami's /api/send (data-host-url of Umami's script, without "
                                "/api/send)",
                     "operationId": "umami",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/Umami"}}}},
                     "responses": {
                         "200": {"description": "accepted, answered as Umami does (with a "
                                                "cache token)",
                                 "content": {"application/json": {"schema": {
                                     "$ref": "#/components/schemas/UmamiAnswer"}}}},
                         **_refusals("400", "403", "404", "409", "413", "429")}},
            "options": {"summary": "CORS preflight", "operationId": "umamiPreflight",
                        "responses": {"204": {"description": "allowed"}}}},
        config.script_path: {"get": {
            "summary": "The tracker script", "operationId": "script",
            "responses": {"200": {"description": "JavaScript",
                                  "content": {"application/javascript": {}}},
                          "304": {"description": "not modified (ETag)"},
                          "404": {"description": "the tracker is not built"}}}},
        "/healthz": {"get": {
            "summary": "200 when Kafka answers, 503 when events are being spooled",
            "operationId": "health",
            "responses": {"200": {"description": "Kafka up"},
                          "503": {"description": "Kafka down: events go to the spool"}}}},
        "/metrics": {"get": {
            "summary": "Prometheus exposition (requests, accepted, refused by reason)",
            "operationId": "metrics",
            "responses": {"200": {"description": "text exposition format",
                                  "content": {"text/plain": {}}}}}},
        "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    }
    if config.serve_demo:
        paths["/demo"] = {"get": {"summary": "The demo page (local runs)", "operationId": "demo",
                                  "responses": {"200": {"description": "HTML"},
                                                "404": {"description": "not there"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sitelens write API", "version": version,
                 "description": "Events in: validated against the event schema "
                                f"{ENVELOPE_VERSION}, enriched, acknowledged once Kafka "
                                "(or the local spool) has them. Whatever is refused is a "
                                "4xx whose body names the reason, counted by reason and "
                                "kept on the invalid-events topic."},
        "components": {"schemas": {"Event": envelope_schema(), "Error": _ERROR,
                                   "Outcome": _OUTCOME,
                                   "MeasurementProtocol": _MEASUREMENT_PROTOCOL,
                                   "Plausible": _plausible(), "Umami": _umami(),
                                   "UmamiAnswer": _UMAMI_ANSWER}},
        "paths": paths,
    }
