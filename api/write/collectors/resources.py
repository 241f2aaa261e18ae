"""Falcon (ASGI) resources of the compatible collectors: thin, like the tracker's own
(the mapping is in :mod:`~api.write.collectors.plausible`,
:mod:`~api.write.collectors.umami` and :mod:`~api.write.collectors.matomo`, everything
else in :mod:`api.write.intake`; Snowplow's resources are in
:mod:`~api.write.collectors.snowplow_resources`). Rate
limit, body limits, refusals (raised as :class:`~api.write.refusals.RequestRefused`: a
4xx with ``title``/``description``/``request_id``, counted, kept on the invalid-events
topic), enrichment and publishing are the tracker's."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace

import falcon

from analytics.config import Config
from analytics.site_directory import DOMAIN, MATOMO, SNOWPLOW, UMAMI
from analytics.sites import Site
from api.write import counters
from api.write.collectors import matomo, matomo_bulk, plausible, umami
from api.write.refusals import RequestRefused
from api.write.resources import PIXEL, _cors, _Intake

PLAUSIBLE_DROPPED = "X-Plausible-Dropped"
"""Plausible's answer header when an event was not recorded (its answer is 202 either way)."""
UMAMI_HEADERS = "Content-Type, X-Umami-Cache, X-Umami-Website-Id, X-Umami-Hostname"
"""The request headers Umami's scripts send (they make browsers ask first: preflight)."""
_KEY_NAMES = {DOMAIN: "the domain", UMAMI: "the Umami website id",
              MATOMO: "the Matomo idsite", SNOWPLOW: "the Snowplow app id"}
_HEADER_LIST = re.compile(r"^[A-Za-z0-9-]{1,64}(?:\s*,\s*[A-Za-z0-9-]{1,64}){0,19}$")


def _preflight(req, resp, default_headers: str) -> None:
    """CORS preflight: the Origin and the header names the browser asks for (plain header
    names only; no credentials are ever allowed)."""
    _cors(req, resp)
    asked = (req.get_header("Access-Control-Request-Headers") or "").strip()
    resp.set_header("Access-Control-Allow-Methods", "POST, OPTIONS")
    resp.set_header("Access-Control-Allow-Headers",
                    asked if _HEADER_LIST.match(asked) else default_headers)
    resp.set_header("Access-Control-Max-Age", "86400")
    resp.status = falcon.HTTP_204


class _CompatibleIntake(_Intake):
    async def one_site(self, kind: str, key: str, kept: Callable[[], bytes | str]):
        """The one site a domain, an Umami website id, a Matomo idsite or a Snowplow app id
        names; refused (keeping what ``kept()`` gives) when none does (404
        ``unknown_site``) or several do (409 ``ambiguous_site``)."""
        found = await self.intake.sites_by(kind, key)
        what = f"{_KEY_NAMES[kind]} {key[:200]!r}"
        if not found:
            raise RequestRefused(404, "unknown_site", f"no site has {what}", payload=kept())
        if len(found) > 1:
            raise RequestRefused(
                409, "ambiguous_site", f"{what} belongs to several sites "
                f"({', '.join(s.site_id for s in found)}); give it to one of them",
                payload=kept())
        return found[0]

    async def checked_alone(self, request, label: str, kind: str, key: str, *,
                            envelope_of: Callable[[Site], dict],
                            kept_of: Callable[[str], str]) -> dict | None:
        """The envelope of one item of a batch (a request of a Matomo bulk, an event of a
        Snowplow tp2 body), checked as the intake checks a whole request — its site, the
        event schema, the origin — so that one bad item does not refuse the others; None
        when it is refused, then counted and kept with its reason. ``label``: where the
        item is in the body; ``kept_of(site_id)``: the item as kept ('' while its site is
        not known)."""
        try:
            site = await self.one_site(kind, key, lambda: kept_of(""))
            kept = kept_of(site.site_id)
            envelope = envelope_of(site)
            problems = _schema_problems(self.intake.validator, label, envelope)
            if problems:
                raise RequestRefused(400, "schema_violation", "; ".join(problems[:5]),
                                     payload=kept)
            if request.origin and not site.origin_allowed(request.origin):
                raise RequestRefused(403, "origin_not_allowed", f"origin {request.origin} may "
                                     f"not send events for {site.site_id}", payload=kept)
            return envelope
        except RequestRefused as refusal:
            await self.refused_alone(refusal, request)
            return None

    async def refused_alone(self, refusal: RequestRefused, request) -> None:
        """One item of a batch refused on its own: counted and kept, as the app's handler
        of :class:`RequestRefused` does with a whole request."""
        counters.REFUSED.labels(refusal.reason).inc()
        await self.intake.keep(refusal, request)

    async def accept_by_agent(self, checked: list[tuple[int, dict, str]], request,
                              kept: bytes | str) -> tuple[int, list[int]]:
        """The checked envelopes of a batch, ``(index, envelope, user agent)``, through the
        intake: one call per user agent (a server-side tracker names its visitor's per
        item: Matomo's and Snowplow's ``ua``; empty: the request's). (How many were kept,
        the indices of those the enrichment refused.)"""
        by_agent: dict[str, tuple[list, list]] = {}  # ua -> (envelopes, their indices)
        for index, envelope, agent in checked:
            group = by_agent.setdefault(agent, ([], []))
            group[0].append(envelope)
            group[1].append(index)
        tracked, refused_indices = 0, []
        for agent, (envelopes, indices) in by_agent.items():  # a bulk's requests have one
            visitor = replace(request, user_agent=agent) if agent else request
            outcome = await self.intake.accept(envelopes, visitor, kept)
            tracked += outcome.accepted
            refused_indices.extend(indices[refused["index"]] for refused in outcome.refused)
        return tracked, refused_indices


class PlausibleResource(_CompatibleIntake):
    """``POST <plausible_path>``: Plausible's Events API (``data-api`` of its script)."""

    endpoint = "plausible"

    async def on_options(self, req, resp):
        _preflight(req, resp, "Content-Type")

    async def on_post(self, req, resp):
        _cors(req, resp)
        request = self.request(req, "tracker")
        self.check_rate(request)
        body = await self.read_body(req)
        event = plausible.parse(body)
        site_ids: list[str] = []
        for domain in event.domains:
            site = await self.one_site(DOMAIN, domain, lambda: body)
            if site.site_id not in site_ids:
                site_ids.append(site.site_id)
        outcome = await self.intake.accept(plausible.envelopes(event, site_ids), request,
                                           body)
        if not outcome.accepted:  # the enrichment refused it (kept on events.invalid)
            resp.set_header(PLAUSIBLE_DROPPED, "1")
        resp.status = falcon.HTTP_202
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "ok"  # what Plausible answers
        counters.REQUESTS.labels(self.endpoint, "202").inc()


class UmamiResource(_CompatibleIntake):
    """``POST <umami_path>``: Umami's ``/api/send`` (``data-host-url`` of its script,
    ``hostUrl`` of ``@umami/node``, both without the ``/api/send`` they append)."""

    endpoint = "umami"

    async def on_options(self, req, resp):
        _preflight(req, resp, UMAMI_HEADERS)

    async def on_post(self, req, resp):
        _cors(req, resp)
        request = self.request(req, "tracker")
        key = self.intake.client_id_key
        self.check_rate(request)
        body = await self.read_body(req)
        event = umami.parse(body, request.received_at_ms, key)
        site = await self.one_site(UMAMI, event.website_id,
                                   lambda: umami.kept_body(body, key, ""))
        outcome = await self.intake.accept([umami.envelope(site.site_id, site.domain, event)],
                                           request, umami.kept_body(body, key, site.site_id))
        # Umami answers 200 with {"cache": <token>, ...}; its scripts keep "cache" (older
        # ones: the whole answer) and send it back in X-Umami-Cache, which is not used here
        self.respond(resp, 200, {"cache": "", **outcome.as_json()})
        _ascii_json(resp)


def _ascii_json(resp) -> None:
    """The JSON answer in ASCII: older Umami scripts send the whole answer back as a
    header value, which a browser refuses to send with other characters in it (error
    bodies are ASCII already: :func:`api.access_log.serialize_error`)."""
    resp.content_type = falcon.MEDIA_JSON
    resp.data = json.dumps(resp.media, ensure_ascii=True, separators=(",", ":")).encode()


def matomo_paths(config: Config) -> list[str]:
    """``Config.matomo_path``, and ``piwik.php`` beside it when it is a ``matomo.php``."""
    path = config.matomo_path
    if path.endswith("/matomo.php"):
        return [path, path.removesuffix("matomo.php") + "piwik.php"]
    return [path]


class MatomoResource(_CompatibleIntake):
    """``GET|POST <matomo_path>`` (and ``piwik.php`` beside it): Matomo's Tracking HTTP
    API, one request (answered 204, or Matomo's GIF) or a bulk (answered with Matomo's
    counts, :mod:`~api.write.collectors.matomo_bulk`)."""

    endpoint = "matomo"

    async def on_options(self, req, resp):
        _preflight(req, resp, "Content-Type")

    async def on_get(self, req, resp):
        await self._track(req, resp, post=False)

    async def on_post(self, req, resp):
        await self._track(req, resp, post=True)

    async def _track(self, req, resp, post: bool):
        _cors(req, resp)
        request = self.request(req, "tracker")
        self.check_rate(request)
        body = await self.read_body(req) if post else b""
        if post and matomo_bulk.is_bulk(body):
            await self._bulk(resp, request, body)
            return
        key = self.intake.client_id_key
        text = matomo.request_text(req.query_string, body)
        hit = matomo.parse(text, request.received_at_ms, key)
        site = await self.one_site(MATOMO, str(hit.idsite),
                                   lambda: matomo.kept_text(text, key, ""))
        await self.intake.accept([matomo.envelope(site.site_id, hit)],
                                 _as_visitor(request, hit), matomo.kept_text(text, key,
                                                                             site.site_id))
        # what Matomo answers (an event the enrichment refused is kept on events.invalid)
        if hit.image:
            resp.content_type = "image/gif"
            resp.cache_control = ["no-store"]
            resp.data = PIXEL
            resp.status = falcon.HTTP_200
        else:
            resp.status = falcon.HTTP_204
        counters.REQUESTS.labels(self.endpoint, str(resp.status_code)).inc()

    async def _bulk(self, resp, request, body: bytes):
        key = self.intake.client_id_key
        items = matomo_bulk.parse_bulk(body, self.intake.config.max_batch_events,
                                       request.received_at_ms, key)
        checked, invalid = [], []
        for item in items:
            envelope = await self._checked(item, request)
            if envelope is None:
                invalid.append(item.index)
            else:
                checked.append((item.index, envelope, item.hit.user_agent))
        kept = matomo.kept_text(body.decode("utf-8", errors="replace"), key, "")
        tracked, refused = await self.accept_by_agent(checked, request, kept)
        self.respond(resp, 200, matomo_bulk.answer(tracked, sorted(invalid + refused)))

    async def _checked(self, item: matomo_bulk.Item, request) -> dict | None:
        """The envelope of one request of a bulk, checked as the intake checks a whole
        request (so that one bad request does not refuse the others); None when it is
        refused, then counted and kept with its reason."""
        key = self.intake.client_id_key
        if item.error is not None:
            await self.refused_alone(RequestRefused(
                400, item.error.reason, str(item.error),
                payload=matomo.kept_text(item.text, key, "")), request)
            return None
        return await self.checked_alone(
            request, f"requests[{item.index}]", MATOMO, str(item.hit.idsite),
            envelope_of=lambda site: matomo.envelope(site.site_id, item.hit),
            kept_of=lambda site_id: matomo.kept_text(item.text, key, site_id))


def _as_visitor(request, hit):
    """The request with the user agent Matomo's or Snowplow's ``ua`` names (the
    visitor's, sent by server-side trackers), when it names one."""
    return replace(request, user_agent=hit.user_agent) if hit.user_agent else request


def _schema_problems(validator, label: str, envelope: dict) -> list[str]:
    """What the event schema refuses in the envelope of a batch's item at ``label``
    (``requests[2]``), said as the intake says it of an event."""
    return [f"{label}.{'/'.join(map(str, error.absolute_path)) or '(event)'}: "
            f"{error.message[:200]}" for error in validator.iter_errors(envelope)]
