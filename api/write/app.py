"""The write service: ``create_app(config)`` wires the Falcon ASGI app to Kafka and
Cassandra. It runs under gunicorn's asyncio worker: requests wait for Kafka's
acknowledgement as awaited futures, not as parked threads.

Errors are answered by registered handlers, with the read service's body
(:func:`api.access_log.serialize_error`): a refused request
(:class:`~api.write.refusals.RequestRefused`) by :func:`refusal_handler`, nothing able to
keep an event by a 503 ``not_kept``, anything else by a 500 ``internal_error``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import falcon
import falcon.asgi
import orjson

from analytics.config import Config
from analytics.enrich import RequestContext, SaltProvider, SiteSettings, build_pipeline
from analytics.enrich.salts import SaltsAhead
from analytics.kafka_settings import client_settings
from analytics.sites import CachedSites, Site, SiteRepository, SitesUnavailable
from analytics.storage.salts import CassandraSalts
from analytics.storage.session import connect
from api.access_log import AccessLog, serialize_error, utc_now
from api.write import counters, openapi
from api.write.collectors.resources import (
    MatomoResource,
    PlausibleResource,
    UmamiResource,
    matomo_paths,
)
from api.write.collectors.snowplow_resources import SnowplowPixelResource, SnowplowResource
from api.write.intake import Intake, Request, check_secrets
from api.write.ratelimit import RateLimiter
from api.write.refusals import RequestRefused
from api.write.relay import SpoolRelay
from api.write.resources import (
    CollectResource,
    DocumentResource,
    HealthResource,
    MeasurementProtocolResource,
    MetricsResource,
    PixelResource,
    StaticFileResource,
)
from api.write.sink import KafkaSink
from api.write.spool import Spool, SpoolError

log = logging.getLogger(__name__)
API_VERSION = "1.0.0"


def context_factory(request: Request, site: Site) -> RequestContext:
    return RequestContext(
        received_at_ms=request.received_at_ms, ip=request.ip,
        # a Measurement Protocol call comes from the integration's server, not a browser
        user_agent="" if request.source == "mp" else request.user_agent,
        site=SiteSettings(site_id=site.site_id, domain=site.domain, timezone=site.timezone,
                          client_id_opt_in=site.client_id_opt_in),
        source=request.source)


def create_app(config: Config, multiprocess_dir: str | None = None, *, sites=None,
               sink=None, salts: SaltProvider | None = None,
               clock: Callable[[], datetime] = utc_now,
               monotonic: Callable[[], float] = time.monotonic) -> falcon.asgi.App:
    """The app. Collaborators that are not given are built here (Cassandra for sites and
    salts, Kafka and the spool for the sink); tests pass in-memory ones and connect to
    nothing (``tests/unit/api/write/fakes.py``). ``clock`` and ``monotonic``: the access
    log's times and durations."""
    check_secrets(config)  # before connecting to anything: the reason, not a timeout
    session = None
    if sites is None or salts is None:
        _cluster, session = connect(config, config.cassandra_keyspace)
    if sites is None:
        sites = CachedSites(SiteRepository(session), ttl_s=config.site_cache_ttl_s)
    if sink is None:
        spool = Spool(config.spool_path)
        sink = KafkaSink({**client_settings(config), "linger.ms": config.kafka_linger_ms},
                         spool, SpoolRelay(client_settings(config), spool,
                                           config.topic_spool_progress),
                         delivery_timeout_ms=config.kafka_delivery_timeout_ms)
    pipeline = build_pipeline(config, salts if salts is not None
                              else SaltsAhead(CassandraSalts(session)))
    intake = Intake(config, sites, pipeline, sink, context_factory)
    limiter = RateLimiter(config.rate_limit_per_s, config.rate_limit_burst)

    app = falcon.asgi.App(cors_enable=False, middleware=[
        AccessLog("write", enabled=config.access_log, clock=clock, monotonic=monotonic)])
    app.req_options.strip_url_path_trailing_slash = True
    app.set_error_serializer(serialize_error)
    app.resp_options.secure_cookies_by_default = True
    shared = (intake, limiter, config.trust_forwarded_for)
    app.add_route(config.collect_path, CollectResource(*shared))
    app.add_route("/api/pixel.gif", PixelResource(*shared))
    app.add_route("/mp/collect", MeasurementProtocolResource(*shared))
    app.add_route(config.plausible_path, PlausibleResource(*shared))
    app.add_route(config.umami_path, UmamiResource(*shared))
    matomo = MatomoResource(*shared)
    for path in matomo_paths(config):  # matomo.php and piwik.php
        app.add_route(path, matomo)
    app.add_route(config.snowplow_path, SnowplowResource(*shared))
    app.add_route(config.snowplow_get_path, SnowplowPixelResource(*shared))
    app.add_route(config.script_path,
                  StaticFileResource(config.tracker_file, "application/javascript", 3600))
    if config.serve_demo:
        app.add_route("/demo", StaticFileResource(config.demo_page, "text/html", 0))
    app.add_route("/healthz", HealthResource(sink))
    app.add_route("/openapi.json", DocumentResource(
        orjson.dumps(openapi.document(config, API_VERSION))))
    app.add_route("/metrics", MetricsResource(multiprocess_dir, sink))
    app.add_error_handler(Exception, _internal_error)
    app.add_error_handler((SpoolError, SitesUnavailable), _not_kept)
    app.add_error_handler(RequestRefused, refusal_handler(intake))
    return app


def refusal_handler(intake: Intake):
    """The one handler of :class:`RequestRefused`: the refusal is counted by reason
    (``analytics_write_events_refused_total``), its payload kept on the invalid-events
    topic (unless it is counted only: ``kept=False``), the request counted by endpoint
    and status, and the answer is the error body ``{"title": reason, "description":
    detail, "request_id": ...}`` with ``Retry-After`` when the refusal gives one. A
    refusal that cannot be kept is answered as any other failure to keep (503
    ``not_kept``), never as a 4xx."""

    async def refused(req, resp, error: RequestRefused, params):
        counters.REFUSED.labels(error.reason).inc()
        if error.kept:
            try:
                await intake.keep(error, req.context.intake_request)
            except (SpoolError, SitesUnavailable) as exc:
                await _not_kept(req, resp, exc, params)
            except Exception as exc:  # as the app answers any other failure
                await _internal_error(req, resp, exc, params)
        counters.REQUESTS.labels(req.context.get("intake_endpoint", "?"),
                                 str(error.status)).inc()
        log.info("refused %s %s: %d %s", req.method, req.path, error.status, error.reason)
        headers = ({"Retry-After": str(error.retry_after)} if error.retry_after is not None
                   else None)
        raise falcon.HTTPError(error.status, title=error.reason, description=error.detail,
                               headers=headers)

    return refused


async def _not_kept(req, resp, exc, params):
    """Nothing could keep the event (the spool failed, the site was never seen and the
    store is down): 503 with Retry-After, so the client tries again; never a 2xx."""
    log.error("event not accepted on %s %s: %s", req.method, req.path, exc)
    raise falcon.HTTPServiceUnavailable(title="not_kept", retry_after=5,
                                        description="the event could not be kept now; retry")


async def _internal_error(req, resp, exc, params):
    if isinstance(exc, falcon.HTTPError):
        raise exc
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(title="internal_error",
                                         description="the event was not accepted; retry")
