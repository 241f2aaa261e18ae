"""The service's own public routes: the health check (``/healthz``: is Cassandra up?) and
static documents (the OpenAPI description, JSON Schemas, the Tableau connector page)."""

from __future__ import annotations

import falcon

from api.read import render
from api.read.auth import public


@public()
class HealthResource:
    def __init__(self, session):
        self.session = session

    def on_get(self, req, resp):
        try:
            self.session.execute("SELECT release_version FROM system.local")
        except Exception as exc:  # the store is down: say so, do not crash the worker
            render.json_response(resp, {"status": "unavailable", "cassandra": str(exc)},
                                 status=falcon.HTTP_503)
            return
        render.json_response(resp, {"status": "ok"})


@public()
class DocumentResource:
    """A static document: the OpenAPI description, a JSON Schema, the connector page."""

    def __init__(self, body: bytes, content_type: str, max_age: int = 300):
        self.body = body
        self.content_type = content_type
        self.max_age = max_age

    def on_get(self, req, resp):
        resp.content_type = self.content_type
        resp.cache_control = [f"max-age={self.max_age}"]
        resp.data = self.body
