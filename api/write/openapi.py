"""The OpenAPI 3.1 description the write service publishes at ``/openapi.json``. The
collect endpoint's request body is the event JSON Schema itself
(``analytics/schemas/event``), so the document and the validation cannot drift apart;
the paths follow the configuration (first-party collect and script paths, the compatible
collectors' paths: Plausible, Umami, Matomo's ``matomo.php`` and ``piwik.php``, Snowplow's
``tp2`` and ``/i``). The
collectors' bodies and parameters are in :mod:`api.write.openapi_collectors`."""

from __future__ import annotations

from analytics.config import Config
from analytics.event_schema import ENVELOPE_VERSION, envelope_schema
from api.write import openapi_collectors as collectors
from api.write.collectors.resources import matomo_paths
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


def _refusals(*statuses: str) -> dict:
    reasons = {"400": "malformed JSON, nested too deep, or not the schema",
               "403": "origin not allowed, or a wrong api_secret",
               "404": "unknown site",
               "409": "a domain, Umami website id, Matomo idsite or Snowplow app id of "
                      "several sites",
               "413": "body or batch too large",
               "429": "over the client's rate limit (Retry-After)"}
    return {status: {"description": reasons[status], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for status in statuses}


def _accepted(description: str) -> dict:
    return {"202": {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Outcome"}}}}}


_MATOMO = (("matomo", "Matomo's Tracking HTTP API (setTrackerUrl of matomo.js)"),
           ("piwik", "Matomo's Tracking HTTP API at piwik.php (older snippets and clients)"))


def _matomo(name: str, summary: str) -> dict:
    """One path of Matomo's Tracking HTTP API (``matomo.php`` or ``piwik.php``), its
    operations named after ``name``."""
    gif = {"description": "Matomo's 1x1 GIF, as Matomo answers (an event the enrichment "
                          "refused is answered so too, and kept on events.invalid)",
           "content": {"image/gif": {}}}
    empty = {"204": {"description": "the same, without the GIF (send_image=0)"}}
    return {
        "get": {"summary": summary, "operationId": name,
                "description": collectors.MATOMO_DESCRIPTION,
                "parameters": collectors.matomo_parameters(),
                "responses": {"200": gif, **empty,
                              **_refusals("400", "403", "404", "409", "429")}},
        "post": {"summary": f"{summary}: a form body, or a bulk of requests (JSON)",
                 "operationId": f"{name}Post",
                 "requestBody": {"required": True, "content": {
                     "application/x-www-form-urlencoded": {
                         "schema": {"$ref": "#/components/schemas/Matomo"},
                         "encoding": collectors.MATOMO_FORM_ENCODING},
                     "application/json": {
                         "schema": {"$ref": "#/components/schemas/MatomoBulk"}}}},
                 "responses": {
                     "200": {"description": "one request: Matomo's 1x1 GIF; a bulk: "
                                            "Matomo's counts of tracked and invalid requests",
                             "content": {**gif["content"], "application/json": {
                                 "schema": {"$ref": "#/components/schemas/"
                                                    "MatomoBulkAnswer"}}}},
                     **empty, **_refusals("400", "403", "404", "409", "413", "429")}},
        "options": {"summary": "CORS preflight", "operationId": f"{name}Preflight",
                    "responses": {"204": {"description": "allowed"}}}}


def _snowplow(config: Config) -> dict:
    """Snowplow's two paths: batches POSTed to ``tp2``, one event by GET (``/i``)."""
    preflight = {"responses": {"204": {"description": "allowed"}}}
    return {
        config.snowplow_path: {
            "post": {"summary": "Snowplow's tracker protocol: a batch of events (tp2)",
                     "operationId": "snowplow", "description": collectors.SNOWPLOW_DESCRIPTION,
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/SnowplowBatch"}}}},
                     "responses": {
                         "200": {"description": "\"ok\", as Snowplow's collector answers, "
                                                "whatever became of the events (each "
                                                "refused one is counted and kept on "
                                                "events.invalid)",
                                 "content": {"text/plain": {"schema": collectors.TEXT}}},
                         **_refusals("400", "413", "429")}},
            "options": {"summary": "CORS preflight", "operationId": "snowplowPreflight",
                        **preflight}},
        config.snowplow_get_path: {
            "get": {"summary": "Snowplow's tracker protocol: one event (the /i pixel)",
                    "operationId": "snowplowPixel",
                    "description": collectors.SNOWPLOW_DESCRIPTION,
                    "parameters": collectors.snowplow_parameters(),
                    "responses": {
                        "200": {"description": "a 1x1 GIF, as Snowplow's collector answers "
                                               "(an event the enrichment refused is "
                                               "answered so too, and kept on events.invalid)",
                                "content": {"image/gif": {}}},
                        **_refusals("400", "403", "404", "409", "429")}},
            "options": {"summary": "CORS preflight", "operationId": "snowplowPixelPreflight",
                        **preflight}}}


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
                                 "content": {"text/plain": {"schema": collectors.TEXT}}},
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
        # matomo.php, and piwik.php beside it (none when matomo_path is no matomo.php)
        **{path: _matomo(*named) for path, named in zip(matomo_paths(config), _MATOMO,
                                                         strict=False)},
        **_snowplow(config),
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
                                   "Plausible": collectors.plausible(),
                                   "Umami": collectors.umami(),
                                   "UmamiAnswer": collectors.UMAMI_ANSWER,
                                   "Matomo": collectors.matomo_form(),
                                   "MatomoBulk": collectors.matomo_bulk(
                                       config.max_batch_events),
                                   "MatomoBulkAnswer": collectors.MATOMO_BULK_ANSWER,
                                   "SnowplowBatch": collectors.snowplow_tp2(
                                       config.max_batch_events)}},
        "paths": paths,
    }
