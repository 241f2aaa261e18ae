"""Falcon (ASGI) resources of the write service: thin, the work happens in ``intake``.
A refused request is raised as :class:`~api.write.refusals.RequestRefused` and answered by
the app's one handler of it (``api/write/app.py``), never here."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import falcon

from api.write import counters
from api.write.intake import Intake, Request
from api.write.measurement_protocol import envelopes_from_body
from api.write.ratelimit import RateLimiter
from api.write.refusals import RequestRefused

# The smallest transparent GIF (43 bytes).
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c000000000100"
                      "01000002024401003b")
PIXEL_FIELDS = {"site_id", "kind", "name", "url", "referrer", "title", "utm_source",
                "utm_medium", "utm_campaign", "utm_term", "utm_content", "event_id"}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def forwarded_client(header: str | None) -> str | None:
    """The client address your proxy saw: the right-most ``X-Forwarded-For`` entry (the
    one the proxy in front of this service added). Entries to its left were sent by the
    client and prove nothing, so they are never used."""
    if not header:
        return None
    last = header.rsplit(",", 1)[-1].strip()
    return last or None


class _Intake:
    """Shared plumbing: client address, body limits, rate limit, the answer."""

    endpoint = "?"

    def __init__(self, intake: Intake, limiter: RateLimiter, trust_forwarded_for: bool):
        self.intake = intake
        self.limiter = limiter
        self.trust_forwarded_for = trust_forwarded_for

    def request(self, req, source: str) -> Request:
        """What the intake knows of the request; also put in ``req.context`` (with the
        endpoint) for the handler of a refusal."""
        ip = (forwarded_client(req.get_header("X-Forwarded-For")) if self.trust_forwarded_for
              else None) or req.remote_addr
        request = Request(ip=ip or "", user_agent=req.user_agent or "",
                          received_at_ms=now_ms(), source=source,
                          origin=req.get_header("Origin"))
        req.context.intake_request = request
        req.context.intake_endpoint = self.endpoint
        return request

    def check_rate(self, request: Request) -> None:
        if not self.limiter.allow(request.ip):
            raise RequestRefused(429, "rate_limited",
                                 f"more than {self.limiter.rate:g} requests/s from this client",
                                 kept=False,  # counted only, never published
                                 retry_after=self.limiter.retry_after_s())

    async def read_body(self, req) -> bytes:
        limit = self.intake.config.max_body_bytes
        if req.content_length is not None and req.content_length > limit:
            head = await req.stream.read(self.intake.config.invalid_payload_max_bytes + 1)
            raise RequestRefused(413, "body_too_large",
                                 f"{req.content_length} bytes; at most {limit}", payload=head)
        body = await req.stream.read(limit + 1)
        if len(body) > limit:
            raise RequestRefused(413, "body_too_large", f"more than {limit} bytes",
                                 payload=body)
        return body

    def respond(self, resp, status: int, document: dict) -> None:
        resp.status = status
        resp.media = document
        counters.REQUESTS.labels(self.endpoint, str(status)).inc()


def _cors(req, resp) -> None:
    origin = req.get_header("Origin")
    if origin:
        resp.set_header("Access-Control-Allow-Origin", origin)
        resp.set_header("Vary", "Origin")


class CollectResource(_Intake):
    """``POST /api/event``: one event object or an array (the tracker's endpoint)."""

    endpoint = "collect"

    async def on_options(self, req, resp):
        _cors(req, resp)
        resp.set_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        resp.set_header("Access-Control-Allow-Headers", "Content-Type")
        resp.set_header("Access-Control-Max-Age", "86400")
        resp.status = falcon.HTTP_204

    async def on_post(self, req, resp):
        _cors(req, resp)
        request = self.request(req, "tracker")
        self.check_rate(request)
        body = await self.read_body(req)
        outcome = await self.intake.collect_json(body, request)
        self.respond(resp, 202, outcome.as_json())


class PixelResource(_Intake):
    """``GET /api/pixel.gif?site_id=…&url=…``: for clients without JavaScript."""

    endpoint = "pixel"

    async def on_get(self, req, resp):
        request = self.request(req, "pixel")
        event = {k: v for k, v in req.params.items() if k in PIXEL_FIELDS and isinstance(v, str)}
        event.setdefault("kind", "pageview")
        if "url" not in event and req.referer:
            event["url"] = req.referer
        self.check_rate(request)
        await self.intake.accept([event], request, json.dumps(event).encode())
        resp.content_type = "image/gif"
        resp.cache_control = ["no-store"]
        resp.data = PIXEL
        resp.status = falcon.HTTP_200
        counters.REQUESTS.labels(self.endpoint, "200").inc()


class MeasurementProtocolResource(_Intake):
    """``POST /mp/collect?measurement_id=<site id>&api_secret=<secret>`` (GA4 style)."""

    endpoint = "mp"

    async def on_post(self, req, resp):
        request = self.request(req, "mp")
        site_id = req.get_param("measurement_id") or ""
        self.check_rate(request)
        body = await self.read_body(req)
        site = await self.intake.site(site_id) if site_id else None
        if site is None:
            raise RequestRefused(404, "unknown_site", f"no site {site_id!r} is registered",
                                 payload=body)
        if not site.secret_matches(req.get_param("api_secret") or ""):
            raise RequestRefused(403, "wrong_secret", "api_secret is missing or does not "
                                 "match the site's Measurement Protocol secret", payload=body)
        envelopes = envelopes_from_body(site_id, body, request.received_at_ms)
        outcome = await self.intake.accept(envelopes, request, body)
        self.respond(resp, 202, outcome.as_json())


class StaticFileResource:
    """Serves one file (the tracker script, the demo page) with an ETag."""

    def __init__(self, path: Path, content_type: str, max_age: int):
        self.path = path
        self.content_type = content_type
        self.max_age = max_age

    async def on_get(self, req, resp):
        try:
            data = self.path.read_bytes()  # a few KB; read each time so a rebuild shows
        except FileNotFoundError:
            raise falcon.HTTPNotFound(description=f"{self.path.name} is not built") from None
        etag = hashlib.sha256(data).hexdigest()[:20]
        resp.etag = etag
        resp.cache_control = [f"public, max-age={self.max_age}"]
        resp.set_header("Access-Control-Allow-Origin", "*")
        if req.if_none_match and any(str(tag).strip('"') == etag for tag in req.if_none_match):
            resp.status = falcon.HTTP_304
            return
        resp.content_type = self.content_type
        resp.data = data


class DocumentResource:
    """A static JSON document (the OpenAPI description)."""

    def __init__(self, body: bytes):
        self.body = body

    async def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.cache_control = ["max-age=300"]
        resp.data = self.body


class HealthResource:
    """``GET /healthz``: 200 when Kafka answers, 503 otherwise (events are then spooled)."""

    def __init__(self, sink):
        self.sink = sink

    async def on_get(self, req, resp):
        reachable = await asyncio.to_thread(self.sink.kafka_reachable, 0.5)
        pending = await asyncio.to_thread(self.sink.spool.pending_count)
        counters.SPOOL_PENDING.set(pending)
        resp.media = {"kafka": "up" if reachable else "down", "spool_pending": pending,
                      "breaker_open": self.sink.breaker_open}
        resp.status = falcon.HTTP_200 if reachable else falcon.HTTP_503


class MetricsResource:
    """``GET /metrics``: Prometheus exposition of every worker's counters."""

    def __init__(self, multiprocess_dir: str | None, sink):
        self.multiprocess_dir = multiprocess_dir
        self.sink = sink

    async def on_get(self, req, resp):
        counters.SPOOL_PENDING.set(await asyncio.to_thread(self.sink.spool.pending_count))
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        resp.data = await asyncio.to_thread(counters.exposition, self.multiprocess_dir)

