"""Falcon (ASGI) resources of Snowplow's tracker protocol: thin, like the other compatible
collectors' (:mod:`~api.write.collectors.resources`, whose site lookup, per-item checks
and refusals they share); the mapping is in :mod:`~api.write.collectors.snowplow` and
:mod:`~api.write.collectors.snowplow_tp2`, everything else in :mod:`api.write.intake`."""

from __future__ import annotations

import falcon

from analytics.site_directory import SNOWPLOW
from api.write import counters
from api.write.collectors import snowplow, snowplow_tp2
from api.write.collectors.resources import _as_visitor, _CompatibleIntake, _preflight
from api.write.refusals import RequestRefused
from api.write.resources import PIXEL, _cors

SNOWPLOW_HEADERS = "Content-Type, SP-Anonymous"
"""The request headers Snowplow's browser tracker sends (``SP-Anonymous`` in its anonymous
mode; the address is never kept here either way)."""


class SnowplowResource(_CompatibleIntake):
    """``POST <snowplow_path>``: a batch of events (the tracker protocol's ``tp2``), taken
    event by event (:mod:`~api.write.collectors.snowplow_tp2`)."""

    endpoint = "snowplow"

    async def on_options(self, req, resp):
        _preflight(req, resp, SNOWPLOW_HEADERS)

    async def on_post(self, req, resp):
        _cors(req, resp)
        request = self.request(req, "tracker")
        self.check_rate(request)
        body = await self.read_body(req)
        key = self.intake.client_id_key
        items = snowplow_tp2.parse_batch(body, self.intake.config.max_batch_events,
                                         request.received_at_ms, key)
        checked = []
        for item in items:
            envelope = await self._checked(item, request)
            if envelope is not None:
                checked.append((item.index, envelope, item.hit.user_agent))
        if checked:
            kept = snowplow_tp2.kept_body(body.decode("utf-8", errors="replace"), key, "")
            await self.accept_by_agent(checked, request, kept)
        # what Snowplow's collector answers, whatever became of the events (refused ones
        # are counted and kept on events.invalid): see snowplow_tp2 for why
        resp.status = falcon.HTTP_200
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "ok"
        counters.REQUESTS.labels(self.endpoint, "200").inc()

    async def _checked(self, item: snowplow_tp2.Item, request) -> dict | None:
        """The envelope of one event of the batch, or None when it is refused (then
        counted and kept with its reason)."""
        key = self.intake.client_id_key
        if item.error is not None:
            await self.refused_alone(RequestRefused(
                400, item.error.reason, str(item.error),
                payload=snowplow_tp2.kept_body(item.text, key, "")), request)
            return None
        return await self.checked_alone(
            request, f"data[{item.index}]", SNOWPLOW, item.hit.app_id,
            envelope_of=lambda site: snowplow.envelope(site.site_id, site.domain, item.hit),
            kept_of=lambda site_id: snowplow_tp2.kept_body(item.text, key, site_id))


class SnowplowPixelResource(_CompatibleIntake):
    """``GET <snowplow_get_path>``: one event in the query string (``/i``), answered with
    a 1x1 GIF as Snowplow's collector answers it."""

    endpoint = "snowplow_pixel"

    async def on_options(self, req, resp):
        _preflight(req, resp, SNOWPLOW_HEADERS)

    async def on_get(self, req, resp):
        _cors(req, resp)
        request = self.request(req, "tracker")
        self.check_rate(request)
        key = self.intake.client_id_key
        text = req.query_string
        hit = snowplow.parse(text, request.received_at_ms, key)
        site = await self.one_site(SNOWPLOW, hit.app_id,
                                   lambda: snowplow.kept_query(text, key, ""))
        await self.intake.accept([snowplow.envelope(site.site_id, site.domain, hit)],
                                 _as_visitor(request, hit),
                                 snowplow.kept_query(text, key, site.site_id))
        # the GIF even when the enrichment refused the event (kept on events.invalid), as
        # Matomo's single requests are answered
        resp.content_type = "image/gif"
        resp.cache_control = ["no-store"]
        resp.data = PIXEL
        resp.status = falcon.HTTP_200
        counters.REQUESTS.labels(self.endpoint, "200").inc()
