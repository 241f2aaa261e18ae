"""What happens to events between the HTTP layer and Kafka (no Falcon in here).

parse → validate against the event schema → site and origin checks → enrichment pipeline
→ Kafka (or the spool). Whatever is refused — a malformed body, a schema violation, an
unknown site, a wrong secret, a body too large, a client over its rate limit, an event the
pipeline refuses — is counted per reason and kept on the invalid-events topic with the
(truncated) payload and the reason. Nothing accepted is dropped silently.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import orjson

from analytics import client_json
from analytics.config import Config
from analytics.enrich import Refused
from analytics.event_schema import envelope_validator
from api.write import counters
from api.write.sink import Published

INVALID_SCHEMA = "analytics/invalid_event/1-0-0"


@dataclass(frozen=True)
class Request:
    """What the HTTP layer knows about one request."""

    ip: str
    user_agent: str
    received_at_ms: int
    source: str  # tracker | pixel | mp | api
    origin: str | None = None


class Rejected(Exception):
    """The whole request is refused with ``status`` and a reason the client can act on."""

    def __init__(self, status: int, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail


@dataclass
class Outcome:
    accepted: int = 0
    refused: list[dict] = field(default_factory=list)
    published: Published = field(default_factory=Published)

    def as_json(self) -> dict:
        return {"accepted": self.accepted, "refused": self.refused,
                "spooled": self.published.spooled}


class Intake:
    def __init__(self, config: Config, sites, pipeline, sink, context_factory):
        self.config = config
        self.sites = sites
        self.pipeline = pipeline
        self.sink = sink
        self.context_factory = context_factory  # (request, site) -> enrichment context
        self.validator = envelope_validator()

    # -- entry points ---------------------------------------------------------------------------
    async def collect_json(self, body: bytes, request: Request) -> Outcome:
        """A JSON body holding one event object or an array of them (strict JSON, nested
        at most :data:`analytics.client_json.MAX_DEPTH` levels)."""
        try:
            payload = client_json.loads(body)
        except client_json.ClientJSONError as exc:  # malformed_json, too_deep
            raise await self.refuse(400, exc.reason, exc.detail, request, body) from None
        if isinstance(payload, dict):
            events = [payload]
        elif isinstance(payload, list):
            events = payload
        else:
            raise await self.refuse(400, "not_an_event",
                                    "body must be an event object or an array", request, body)
        return await self.accept(events, request, body)

    async def accept(self, events: list, request: Request, body: bytes) -> Outcome:
        if not events:
            raise await self.refuse(400, "empty_batch", "no events in the request", request,
                                    body)
        if len(events) > self.config.max_batch_events:
            raise await self.refuse(413, "too_many_events",
                                    f"{len(events)} events; at most "
                                    f"{self.config.max_batch_events} per request", request, body)
        problems = [p for i, e in enumerate(events) for p in self._schema_problems(i, e)]
        if problems:
            raise await self.refuse(400, "schema_violation", "; ".join(problems[:5]), request,
                                    body)
        sites = {}
        for site_id in dict.fromkeys(e["site_id"] for e in events):  # in request order
            site = await self.site(site_id)
            if site is None:
                raise await self.refuse(404, "unknown_site",
                                        f"no site {site_id!r} is registered", request, body)
            if request.origin and not site.origin_allowed(request.origin):
                raise await self.refuse(403, "origin_not_allowed",
                                        f"origin {request.origin} may not send events for "
                                        f"{site_id}", request, body)
            sites[site_id] = site
        return await self._enrich_and_publish(events, sites, request)

    async def site(self, site_id: str):
        """A site's settings: from the cache, or from Cassandra off the event loop."""
        hit, site = self.sites.cached(site_id)
        return site if hit else await asyncio.to_thread(self.sites.get, site_id)

    # -- refusing ---------------------------------------------------------------------------
    async def refuse(self, status: int, reason: str, detail: str, request: Request,
                     payload: bytes | str | None) -> Rejected:
        """Count and keep a refused request; return the exception to raise."""
        counters.REFUSED.labels(reason).inc()
        await self.sink.publish([self._invalid_record(reason, detail, request, payload,
                                                      status)])
        return Rejected(status, reason, detail)

    def _invalid_record(self, reason, detail, request, payload, status=None):
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", errors="replace")
        elif payload is not None and not isinstance(payload, str):
            payload = json.dumps(payload, separators=(",", ":"), default=str)
        limit = self.config.invalid_payload_max_bytes
        value = {
            "schema": INVALID_SCHEMA, "reason": reason, "detail": detail[:1000],
            "status": status, "source": request.source, "received_at": request.received_at_ms,
            "payload": payload[:limit] if payload is not None else None,
            "truncated": payload is not None and len(payload) > limit,
        }
        return (self.config.topic_invalid_events, reason,
                json.dumps(value, separators=(",", ":")))

    # -- the accepted path ------------------------------------------------------------------------
    def _schema_problems(self, index: int, event) -> list[str]:
        problems = []
        for error in self.validator.iter_errors(event):
            where = "/".join(str(p) for p in error.absolute_path) or "(event)"
            problems.append(f"events[{index}].{where}: {error.message[:200]}")
        return problems

    async def _enrich_and_publish(self, events, sites, request: Request) -> Outcome:
        outcome = Outcome()
        records = []
        for index, event in enumerate(events):
            context = self.context_factory(request, sites[event["site_id"]])
            try:
                enriched = self.pipeline.run(event, context)
            except Refused as refused:
                counters.REFUSED.labels(refused.reason).inc()
                outcome.refused.append({"index": index, "reason": refused.reason,
                                        "detail": refused.detail})
                records.append(self._invalid_record(refused.reason, refused.detail, request,
                                                    event))
                continue
            if enriched["is_bot"]:
                counters.BOTS.inc()
            records.append((self.config.topic_raw_events, enriched["visitor_id"],
                            orjson.dumps(enriched).decode()))
            outcome.accepted += 1
        outcome.published = await self.sink.publish(records)
        counters.ACCEPTED.labels(request.source).inc(outcome.accepted)
        return outcome
