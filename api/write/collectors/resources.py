"""Falcon (ASGI) resources of the compatible collectors: thin, like the tracker's own
(the mapping is in :mod:`~api.write.collectors.plausible` and
:mod:`~api.write.collectors.umami`, everything else in :mod:`api.write.intake`). Rate
limit, body limits, refusals (raised as :class:`~api.write.refusals.RequestRefused`: a
4xx with ``title``/``description``/``request_id``, counted, kept on the invalid-events
topic), enrichment and publishing are the tracker's."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import falcon

from analytics.site_directory import DOMAIN, UMAMI
from api.write import counters
from api.write.collectors import plausible, umami
from api.write.refusals import RequestRefused
from api.write.resources import _cors, _Intake

PLAUSIBLE_DROPPED = "X-Plausible-Dropped"
"""Plausible's answer header when an event was not recorded (its answer is 202 either way)."""
UMAMI_HEADERS = "Content-Type, X-Umami-Cache, X-Umami-Website-Id, X-Umami-Hostname"
"""The request headers Umami's scripts send (they make browsers ask first: preflight)."""
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
        """The one site a domain or an Umami website id names; refused (keeping what
        ``kept()`` gives) when none does (404 ``unknown_site``) or several do (409
        ``ambiguous_site``)."""
        found = await self.intake.sites_by(kind, key)
        what = (f"the domain {key[:200]!r}" if kind == DOMAIN
                else f"the Umami website id {key[:200]!r}")
        if not found:
            raise RequestRefused(404, "unknown_site", f"no site has {what}", payload=kept())
        if len(found) > 1:
            raise RequestRefused(
                409, "ambiguous_site", f"{what} belongs to several sites "
                f"({', '.join(s.site_id for s in found)}); give it to one of them",
                payload=kept())
        return found[0]


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
