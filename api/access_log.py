"""Request ids and access logs of the two HTTP services (write: Falcon ASGI, read: WSGI).

Every request gets an id: the caller's ``X-Request-Id`` when it is well formed (1 to 64
of ``A-Z a-z 0-9 . _ -``), a new one otherwise. The response carries it back in
``X-Request-Id`` and every error body carries it as ``request_id``, so a client's report
leads to the log line.

Both services answer every error (a ``falcon.HTTPError``, 4xx or 5xx) with one body,
Falcon's own plus the request id: ``{"title": <code>, "description": <reason>,
"request_id": <id>}`` (``description`` is left out when one of Falcon's own errors has
none), JSON in ASCII whatever the request's ``Accept`` (older Umami scripts send a whole
answer back as a header value).

One JSON line per request on the ``sitelens.access`` logger, ERROR for a 5xx and INFO
otherwise: ``ts`` (UTC), ``service``, ``method``, ``route`` (the matched URI template;
the raw path, cut to 200 characters, when none matched), ``status``, ``duration_ms``,
``site`` (the ``site_id`` route parameter, or a site a resource put in
``req.context.site_id``), ``reason`` (the error code of a 4xx/5xx: the ``HTTPError``'s
title) and ``request_id``. The line holds those fields only:
never the client's address, user agent, query string, headers, cookies or tokens.

:class:`AccessLog` is the middleware (first in the app's list, so it sees the final
status); :func:`serialize_error` is both services' error serializer (the body above; it
notes the code for the line); :func:`log_to_stderr` wires the logger in a gunicorn
worker.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import falcon
import orjson

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


def _given_request_id(req) -> str:
    """The request's id, given now when the middleware has not yet (a request refused
    before it ran)."""
    if request_id(req) is None:
        req.context.request_id = new_request_id(req.get_header(REQUEST_ID_HEADER))
    return req.context.request_id


def serialize_error(req, resp, error: falcon.HTTPError) -> None:
    """The error body of both services: the error's ``title`` (its code) and
    ``description`` (the reason) as Falcon gives them, and the request's id; ASCII JSON.
    The title is noted for the line."""
    req.context.error_reason = error.title
    body = {**error.to_dict(), "request_id": _given_request_id(req)}
    resp.data = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()
    resp.content_type = falcon.MEDIA_JSON


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
        if req.context.get("started_at") is None:  # refused before the middleware ran
            req.context.started_at = self.monotonic()
        resp.set_header(REQUEST_ID_HEADER, _given_request_id(req))
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
            "reason": error_reason(req) if status >= 400 else None,
            "request_id": context.request_id,
        }


def error_reason(req) -> str | None:
    """The code of an error response: the ``HTTPError``'s title (noted by
    :func:`serialize_error`)."""
    reason = req.context.get("error_reason")
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
