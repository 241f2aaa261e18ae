"""Request ids and access logs of the two HTTP services (write: Falcon ASGI, read: WSGI).

Every request gets an id: the caller's ``X-Request-Id`` when it is well formed (1 to 64
of ``A-Z a-z 0-9 . _ -``), a new one otherwise. The response carries it back in
``X-Request-Id`` and error bodies with an ``error`` key carry it as ``request_id``, so a
client's report leads to the log line.

One JSON line per request on the ``sitelens.access`` logger, ERROR for a 5xx and INFO
otherwise: ``ts`` (UTC), ``service``, ``method``, ``route`` (the matched URI template;
the raw path, cut to 200 characters, when none matched), ``status``, ``duration_ms``,
``site`` (the ``site_id`` route parameter, or a site a resource put in
``req.context.site_id``), ``reason`` (the error code of a 4xx/5xx: an ``HTTPError``'s
title or an ``error`` body's key) and ``request_id``. The line holds those fields only:
never the client's address, user agent, query string, headers, cookies or tokens.

:class:`AccessLog` is the middleware (first in the app's list, so it sees the final
status); :func:`serialize_error` is Falcon's error serializer noting the code for the
line; :func:`log_to_stderr` wires the logger in a gunicorn worker.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import falcon
import orjson
from falcon.app_helpers import default_serialize_error

ACCESS_LOG = logging.getLogger("sitelens.access")
REQUEST_ID_HEADER = "X-Request-Id"
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
RAW_PATH_MAX = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_request_id(sent: str | None) -> str:
    """The caller's id when it is well formed, else a new one."""
    return sent if sent and WELL_FORMED_ID.fullmatch(sent) else uuid.uuid4().hex


def request_id(req) -> str | None:
    """The id :class:`AccessLog` gave the request."""
    return req.context.get("request_id")


def serialize_error(req, resp, error: falcon.HTTPError) -> None:
    """Falcon's own serializer; the error's title (its code) is noted for the line."""
    req.context.error_reason = error.title
    default_serialize_error(req, resp, error)


class AccessLog:
    """Falcon middleware (WSGI and ASGI): the request id, and the line when ``enabled``.
    ``clock`` gives the line's time, ``monotonic`` (seconds) its duration."""

    def __init__(self, service: str, *, enabled: bool = True,
                 clock: Callable[[], datetime] = utc_now,
                 monotonic: Callable[[], float] = time.monotonic):
        self.service = service
        self.enabled = enabled
        self.clock = clock
        self.monotonic = monotonic

    def process_request(self, req, resp) -> None:
        req.context.started_at = self.monotonic()
        req.context.request_id = new_request_id(req.get_header(REQUEST_ID_HEADER))

    def process_resource(self, req, resp, resource, params) -> None:
        site_id = params.get("site_id")
        if isinstance(site_id, str):
            req.context.site_id = site_id

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        if request_id(req) is None:  # refused before the middleware ran
            self.process_request(req, resp)
        resp.set_header(REQUEST_ID_HEADER, request_id(req))
        if self.enabled:
            status = falcon.http_status_to_code(resp.status)
            ACCESS_LOG.log(logging.ERROR if status >= 500 else logging.INFO,
                           orjson.dumps(self.fields(req, resp, status)).decode())

    async def process_request_async(self, req, resp) -> None:
        self.process_request(req, resp)

    async def process_resource_async(self, req, resp, resource, params) -> None:
        self.process_resource(req, resp, resource, params)

    async def process_response_async(self, req, resp, resource, req_succeeded) -> None:
        self.process_response(req, resp, resource, req_succeeded)

    def fields(self, req, resp, status: int) -> dict:
        context = req.context
        return {
            "ts": self.clock().astimezone(UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "service": self.service,
            "method": req.method,
            "route": req.uri_template or req.path[:RAW_PATH_MAX],
            "status": status,
            "duration_ms": round((self.monotonic() - context.started_at) * 1000, 1),
            "site": context.get("site_id"),
            "reason": error_reason(req, resp) if status >= 400 else None,
            "request_id": context.request_id,
        }


def error_reason(req, resp) -> str | None:
    """The code of an error response: the ``HTTPError``'s title, or the ``error`` key of
    a body a responder wrote (the write service's refusals)."""
    reason = req.context.get("error_reason")
    if reason is None and isinstance(resp.media, dict):
        reason = resp.media.get("error")
    return reason if isinstance(reason, str) else None


def log_to_stderr() -> None:
    """The lines to stderr as they are, one JSON object each (a gunicorn worker's
    ``post_fork`` hook: nothing else configures this logger)."""
    if ACCESS_LOG.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    ACCESS_LOG.addHandler(handler)
    ACCESS_LOG.setLevel(logging.INFO)
    ACCESS_LOG.propagate = False
