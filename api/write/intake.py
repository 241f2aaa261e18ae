"""What happens to events between the HTTP layer and Kafka (no Falcon in here).

parse → validate against the event schema → site and origin checks → enrichment pipeline
→ Kafka (or the spool). A refused request — a malformed body, a schema violation, an
unknown site, a wrong secret, a body too large — is raised as
:class:`~api.write.refusals.RequestRefused` with its payload; the app's one handler of it
counts it per reason and keeps it (:meth:`Intake.keep`). An event the pipeline refuses
is counted and kept here, and listed in the answer. Either way the invalid-events topic
gets the (truncated) payload and the reason; nothing accepted is dropped silently. Client
ids in a kept payload (:data:`CLIENT_ID_FIELDS`) are replaced by the keyed hash the
enrichment step ``visitor_id`` makes of them (:func:`pseudonymize`): the topic keeps no
raw ids.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from analytics import client_json
from analytics.config import Config, ConfigError
from analytics.enrich import Refused
from analytics.enrich.visitor_id import client_id_hash
from analytics.event_schema import envelope_validator
from analytics.site_directory import SiteDirectory
from api.write import counters
from api.write.refusals import RequestRefused
from api.write.sink import Published

INVALID_SCHEMA = "analytics/invalid_event/1-0-0"


@dataclass(frozen=True)
class Request:
    """What the HTTP layer knows about one request."""

    ip: str
    user_agent: str
    received_at_ms: int
    source: str  # tracker | pixel | mp | api (the compatible collectors': tracker)
    origin: str | None = None


@dataclass
class Outcome:
    accepted: int = 0
    refused: list[dict] = field(default_factory=list)
    published: Published = field(default_factory=Published)

    def as_json(self) -> dict:
        return {"accepted": self.accepted, "refused": self.refused,
                "spooled": self.published.spooled}


def check_secrets(config: Config) -> None:
    """:class:`ConfigError` when a production config (``require_secrets``) has no key
    for hashing client ids: they would be hashed unkeyed, and so be guessable back."""
    if config.require_secrets and not config.client_id_hash_key:
        raise ConfigError(
            "ANALYTICS_CLIENT_ID_HASH_KEY is empty while ANALYTICS_REQUIRE_SECRETS=true: "
            "client ids would be hashed without a key (and could be guessed back). Set "
            "it to a secret of at most 64 bytes (e.g. `openssl rand -hex 32`), the same on "
            "every write-service replica and never changed.")


class Intake:
    def __init__(self, config: Config, sites, pipeline, sink, context_factory):
        check_secrets(config)
        self.config = config
        self.client_id_key = config.client_id_hash_key.encode()
        self.sites = sites
        self.directory = SiteDirectory(sites, ttl_s=config.site_cache_ttl_s)
        """Sites by domain, Umami website id, Matomo idsite and Snowplow app id (the
        compatible collectors)."""
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
            raise RequestRefused(400, exc.reason, exc.detail, payload=body) from None
        if isinstance(payload, dict):
            events = [payload]
        elif isinstance(payload, list):
            events = payload
        else:
            raise RequestRefused(400, "not_an_event", "body must be an event object or an "
                                 "array", payload=body)
        return await self.accept(events, request, body)

    async def accept(self, events: list, request: Request, body: bytes | str) -> Outcome:
        """Events of one request; ``body`` is what a refusal of the request keeps."""
        if not events:
            raise RequestRefused(400, "empty_batch", "no events in the request", payload=body)
        if len(events) > self.config.max_batch_events:
            raise RequestRefused(413, "too_many_events",
                                 f"{len(events)} events; at most "
                                 f"{self.config.max_batch_events} per request", payload=body)
        problems = [p for i, e in enumerate(events) for p in self._schema_problems(i, e)]
        if problems:
            raise RequestRefused(400, "schema_violation", "; ".join(problems[:5]),
                                 payload=body)
        sites = {}
        for site_id in dict.fromkeys(e["site_id"] for e in events):  # in request order
            site = await self.site(site_id)
            if site is None:
                raise RequestRefused(404, "unknown_site", f"no site {site_id!r} is registered",
                                     payload=body)
            if request.origin and not site.origin_allowed(request.origin):
                raise RequestRefused(403, "origin_not_allowed",
                                     f"origin {request.origin} may not send events for "
                                     f"{site_id}", payload=body)
            sites[site_id] = site
        return await self._enrich_and_publish(events, sites, request)

    async def site(self, site_id: str):
        """A site's settings: from the cache, or from Cassandra off the event loop."""
        hit, site = self.sites.cached(site_id)
        return site if hit else await asyncio.to_thread(self.sites.get, site_id)

    async def sites_by(self, kind: str, key: str) -> tuple:
        """The sites a domain, an Umami website id, a Matomo idsite or a Snowplow app id names
        (:mod:`analytics.site_directory`): from memory, or from Cassandra off the event
        loop."""
        hit, found = self.directory.cached(kind, key)
        return found if hit else await asyncio.to_thread(self.directory.find, kind, key)

    # -- refusing ---------------------------------------------------------------------------
    async def keep(self, refused: RequestRefused, request: Request) -> None:
        """A refused request's payload on the invalid-events topic (the app's handler of
        :class:`RequestRefused` calls this; it counts the refusal itself)."""
        await self.sink.publish([self._invalid_record(refused.reason, refused.detail, request,
                                                      refused.payload, refused.status)])

    def _invalid_record(self, reason, detail, request, payload, status=None):
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", errors="replace")
        came = len(payload) if isinstance(payload, str) else 0
        if payload is not None:
            payload, detail = pseudonymize(payload, detail, self.client_id_key)
        limit = self.config.invalid_payload_max_bytes
        value = {
            "schema": INVALID_SCHEMA, "reason": reason, "detail": detail[:1000],
            "status": status, "source": request.source, "received_at": request.received_at_ms,
            "payload": payload[:limit] if payload is not None else None,
            # cut here, or already when read (a body over the size limit)
            "truncated": payload is not None and max(came, len(payload)) > limit,
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
        outcome.published = await _finished_even_if_cancelled(
            self.sink.publish(records),
            lambda: counters.ACCEPTED.labels(request.source).inc(outcome.accepted))
        return outcome


async def _finished_even_if_cancelled(publishing, then: Callable[[], None]):
    """Await ``publishing`` to its end even when the request is cancelled meanwhile (the
    client went away): what was handed to Kafka or the spool is then kept and counted all
    the same (``then`` runs once it succeeded), never half published and uncounted."""
    task = asyncio.ensure_future(publishing)
    task.add_done_callback(lambda t: t.cancelled() or t.exception() is not None or then())
    return await asyncio.shield(task)


# -- client ids in refused payloads ---------------------------------------------------------
CLIENT_ID_FIELDS = frozenset({"client_id", "cid", "user_id"})
"""Fields, at any depth of a kept payload, that identify a person across visits: the
tracker's opt-in ``client_id`` (``cid``), the Measurement Protocol's ``client_id`` and
``user_id``."""

_FIELD_IN_TEXT = re.compile(
    r"""(?P<q>["'])(?P<name>client_id|cid|user_id)(?P=q)(?P<colon>\s*:\s*)"""
    r"""(?:(?P<vq>["'])(?P<string>(?:(?!(?P=vq))[^\\]|\\.)*)(?:(?P=vq)|\\?$)"""
    r"""|(?P<number>-?\d[\d.eE+-]*))""")
"""A client-id field in text that may not parse (a malformed or cut body, an error
message quoting a Python dict): the name, then a string (closed, or cut by the end of
the text) or a number."""
_SITE_IN_TEXT = re.compile(r'"site_id"\s*:\s*"((?:[^"\\]|\\.)*)"')
_SURROGATE = re.compile("[\ud800-\udfff]")


def pseudonymize(payload, detail: str, key: bytes) -> tuple[str, str]:
    """A refused payload as kept text — an event object the pipeline refused, or a request
    body as it came — and its refusal's ``detail``, with the value of every
    :data:`CLIENT_ID_FIELDS` field replaced by ``client_id_hash(key, site_id, value)``,
    the hash the enrichment step ``visitor_id`` makes: with the ``site_id`` of the object
    holding the field (or of the one around it) it equals the visitor id of the client's
    accepted events; without one (a Measurement Protocol body names its site in the URL)
    the site is ''. A body that parses keeps its text when it holds no such field and is
    re-serialized otherwise; one that does not parse is rewritten field by field in its
    text. The detail loses the values that a schema error quotes."""
    site = ""
    hashed: dict[str, str] = {}
    if isinstance(payload, str):
        try:
            value = client_json.loads(payload)
        except client_json.ClientJSONError:
            sites = set(_SITE_IN_TEXT.findall(payload))
            site = _json_string(sites.pop()) if len(sites) == 1 else ""
            return _scrub_text(payload, key, site, hashed), _scrub_detail(detail, key, site,
                                                                          hashed)
    else:
        value = payload
    if isinstance(value, dict) and isinstance(value.get("site_id"), str):
        site = value["site_id"]
    scrubbed = _scrub(value, key, site, hashed)
    if hashed or not isinstance(payload, str):
        payload = json.dumps(scrubbed, separators=(",", ":"), default=str)
    return payload, _scrub_detail(detail, key, site, hashed)


def _hash(key: bytes, site_id: str, value, hashed: dict[str, str]):
    if value is None or value == "":
        return value
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"),
                                                           default=str)
    digest = client_id_hash(key, _encodable(site_id), _encodable(text))
    hashed[text] = digest
    return digest


def _scrub(value, key: bytes, site_id: str, hashed: dict[str, str]):
    """A copy of ``value`` with client ids hashed (values come from ``client_json`` or
    the schema-checked events made of them: at most ``MAX_DEPTH`` levels deep)."""
    if isinstance(value, list):
        return [_scrub(item, key, site_id, hashed) for item in value]
    if not isinstance(value, dict):
        return value
    own = value.get("site_id")
    site_id = own if isinstance(own, str) else site_id
    return {name: _hash(key, site_id, item, hashed) if name in CLIENT_ID_FIELDS
            else _scrub(item, key, site_id, hashed) for name, item in value.items()}


def _scrub_text(text: str, key: bytes, site_id: str, hashed: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        raw = match.group("string")
        value = match.group("number") if raw is None else _json_string(raw)
        quote = match.group("vq") or match.group("q")
        return (f"{match.group('q')}{match.group('name')}{match.group('q')}"
                f"{match.group('colon')}{quote}{_hash(key, site_id, value, hashed)}{quote}")
    return _FIELD_IN_TEXT.sub(replace, text)


def _scrub_detail(detail: str, key: bytes, site_id: str, hashed: dict[str, str]) -> str:
    for value, digest in list(hashed.items()):
        for quoted in (repr(value), json.dumps(value)):
            detail = detail.replace(quoted, repr(digest) if quoted[0] == "'"
                                    else json.dumps(digest))
    return _scrub_text(detail, key, site_id, hashed)


def _json_string(raw: str) -> str:
    """The text of a JSON string's content (its escapes decoded when they are whole)."""
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw


def _encodable(text: str) -> str:
    """``text`` with each lone surrogate (a JSON escape can make one) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)
