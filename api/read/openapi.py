"""The OpenAPI 3.1 description the read service publishes at ``/api/v1/openapi.json``.
The query model and the ad-hoc job inside it are the JSON Schemas of :mod:`api.read.query`
and :mod:`api.read.jobs` themselves, so they cannot drift apart; the document is
self-contained (no reference leaves it)."""

from __future__ import annotations

from analytics.periods import MAX_RANGE_DAYS
from api.read import openapi_accounts
from api.read.jobs import schema as job_schema
from api.read.query import SCHEMA_VERSION, schema
from api.read.reports import REALTIME_MINUTES
from api.read.tables import TABLES

_ERROR = {"description": "the reason", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}
_ERRORS = {
    "400": {**_ERROR, "description": "invalid query, or one only an ad-hoc job answers "
                                     "(title needs_adhoc_job)"},
    "401": {**_ERROR, "description": "no credentials, or an unknown, revoked or expired "
                                     "one"},
    "403": {**_ERROR, "description": "the principal may not read this site (or, with the "
                                     "session cookie, csrf_failed)"},
    "404": {**_ERROR, "description": "unknown site, table or job"},
}
_SITE = {"name": "site_id", "in": "query", "required": True, "schema": {"type": "string"}}
_RANGE = [{"name": n, "in": "query", "schema": {"type": "string", "format": "date"},
           "description": description}
          for n, description in (
              ("start", "first site-local day (default: 29 days before end)"),
              ("end", f"last site-local day, included (default: yesterday); at most "
                      f"{MAX_RANGE_DAYS} days from start to end, both included"))]
_FORMAT = {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}}
_REPORT = {"description": "columns, rows and meta (layers used per day, incomplete parts)",
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}},
                       "text/csv": {"schema": {"type": "string"}}}}


def _report(kind: str, summary: str) -> dict:
    return {
        "post": {"summary": summary, "operationId": f"{kind}Report",
                 "parameters": [_FORMAT],
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/Query"}}}},
                 "responses": {"200": _REPORT, **_ERRORS}},
        "get": {"summary": summary + " (the query as parameters: lists comma-separated, "
                                     "filters as a JSON array, order_by like -visitors)",
                "operationId": f"{kind}ReportGet", "parameters": [_SITE, _FORMAT],
                "responses": {"200": _REPORT, **_ERRORS}},
    }


def document(version: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sitelens read API", "version": version,
                 "description": "Reports of both layers merged (batch views for closed "
                                "days, speed-layer views for the rest), in each site's "
                                "time zone. Authenticate with Authorization: Bearer "
                                "<token> (python -m api.manage token create), a person's "
                                "session cookie (POST /api/v1/auth/login; requests that "
                                "change something send X-CSRF-Token), or a shared link's "
                                "X-Share-Token (read-only, GET)."},
        "components": {
            "securitySchemes": openapi_accounts.SECURITY_SCHEMES,
            "schemas": {
                "Query": schema(),
                "Job": job_schema(),
                "Error": openapi_accounts.ERROR_SCHEMA,
                "Report": {"type": "object", "required": ["meta", "columns", "rows"],
                           "properties": {"meta": {"type": "object"},
                                          "columns": {"type": "array",
                                                      "items": {"type": "string"}},
                                          "rows": {"type": "array",
                                                   "items": {"type": "object"}}}},
            },
        },
        "security": openapi_accounts.EVERYONE,
        "paths": {
            "/api/v1/reports/aggregate": _report("aggregate", "Totals of a range"),
            "/api/v1/reports/timeseries": _report(
                "timeseries", "Metrics per hour, day, week or month of the site's zone"),
            "/api/v1/reports/breakdown": _report(
                "breakdown", "Metrics per value of one dimension, ordered and paginated"),
            "/api/v1/reports/goals": _report("goals", "Conversions of every goal"),
            "/api/v1/realtime": {"get": {
                "summary": f"The last {REALTIME_MINUTES} minutes, minute by minute, with top "
                           "pages and sources", "operationId": "realtime",
                "parameters": [_SITE, _FORMAT],
                "responses": {"200": {"description": "realtime"}, **_ERRORS}}},
            "/api/v1/sites": {"get": {"summary": "Sites the principal may read, each with "
                                                 "its role (admin, viewer, or null for a "
                                                 "shared link)",
                                      "operationId": "sites",
                                      "responses": {"200": {"description": "sites"}}}},
            "/api/v1/export/tables": {"get": {
                "summary": "The Tableau tables and their columns", "operationId": "tables",
                "responses": {"200": {"description": "tables"}}}},
            "/api/v1/export/{table}": {"get": {
                "summary": "One table's rows (closed days only): JSON, CSV, or a .hyper "
                           "extract with format=hyper or a .hyper suffix",
                "operationId": "exportTable",
                "parameters": [{"name": "table", "in": "path", "required": True,
                                "schema": {"enum": list(TABLES)}}, _SITE, *_RANGE,
                               {"name": "format", "in": "query",
                                "schema": {"enum": ["json", "csv", "hyper"]}}],
                "responses": {"200": {"description": "rows"}, **_ERRORS}}},
            "/api/v1/extract.hyper": {"get": {
                "summary": "A Tableau extract with several tables", "operationId": "extract",
                "parameters": [_SITE, *_RANGE, {"name": "tables", "in": "query",
                                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "a .hyper file", "content": {
                    "application/vnd.tableau.hyper": {}}}, **_ERRORS}}},
            "/api/v1/jobs": {"post": {
                "summary": "Submit an ad-hoc question (a breakdown with any filters over any "
                           "range, a funnel) as a Spark job over the raw events",
                "operationId": "submitJob",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Job"}}}},
                "responses": {"202": {"description": "the job, queued or running"},
                              "200": {"description": "a cached result's job"},
                              "429": {**_ERROR, "description": (
                                  "too many jobs running (jobs_busy), or as many of the "
                                  "caller's own as it may have (too_many_jobs); see "
                                  "Retry-After")},
                              **_ERRORS}}},
            "/api/v1/jobs/{job_id}": {"get": {
                "summary": "A job's status", "operationId": "job",
                "parameters": [{"name": "job_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "status"}, **_ERRORS}}},
            "/api/v1/jobs/{job_id}/result": {"get": {
                "summary": "A finished job's result (JSON or CSV)", "operationId": "jobResult",
                "parameters": [{"name": "job_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}, _FORMAT],
                "responses": {"200": {"description": "columns and rows"},
                              "409": {**_ERROR, "description": "not finished"},
                              **_ERRORS}}},
            f"/api/v1/schemas/query-{SCHEMA_VERSION}.json": {"get": {
                "summary": "The query model's JSON Schema", "operationId": "querySchema",
                "security": [], "responses": {"200": {"description": "JSON Schema"}}}},
            **openapi_accounts.PATHS,
        },
    }
