"""The write service: ``create_app(config)`` wires the Falcon ASGI app to Kafka and
Cassandra. It runs under gunicorn's asyncio worker: requests wait for Kafka's
acknowledgement as awaited futures, not as parked threads."""

from __future__ import annotations

import logging

import falcon
import falcon.asgi

from analytics.config import Config
from analytics.enrich import RequestContext, SiteSettings, build_pipeline
from analytics.sites import CachedSites, Site, SiteRepository
from analytics.storage.salts import CassandraSalts
from analytics.storage.session import connect
from api.write.intake import Intake, Request
from api.write.ratelimit import RateLimiter
from api.write.resources import (
    CollectResource,
    HealthResource,
    MeasurementProtocolResource,
    MetricsResource,
    PixelResource,
    StaticFileResource,
)
from api.write.sink import KafkaSink
from api.write.spool import Spool

log = logging.getLogger(__name__)


def context_factory(request: Request, site: Site) -> RequestContext:
    return RequestContext(
        received_at_ms=request.received_at_ms, ip=request.ip,
        # a Measurement Protocol call comes from the integration's server, not a browser
        user_agent="" if request.source == "mp" else request.user_agent,
        site=SiteSettings(site_id=site.site_id, domain=site.domain, timezone=site.timezone,
                          client_id_opt_in=site.client_id_opt_in),
        source=request.source)


def create_app(config: Config, multiprocess_dir: str | None = None) -> falcon.asgi.App:
    _cluster, session = connect(config, config.cassandra_keyspace)
    sites = CachedSites(SiteRepository(session), ttl_s=config.site_cache_ttl_s)
    sink = KafkaSink({"bootstrap.servers": config.bootstrap_servers,
                      "linger.ms": config.kafka_linger_ms}, Spool(config.spool_path),
                     delivery_timeout_ms=config.kafka_delivery_timeout_ms)
    pipeline = build_pipeline(config, CassandraSalts(session))
    intake = Intake(config, sites, pipeline, sink, context_factory)
    limiter = RateLimiter(config.rate_limit_per_s, config.rate_limit_burst)

    app = falcon.asgi.App(cors_enable=False)
    app.req_options.strip_url_path_trailing_slash = True
    app.resp_options.secure_cookies_by_default = True
    shared = (intake, limiter, config.trust_forwarded_for)
    app.add_route(config.collect_path, CollectResource(*shared))
    app.add_route("/api/pixel.gif", PixelResource(*shared))
    app.add_route("/mp/collect", MeasurementProtocolResource(*shared))
    app.add_route(config.script_path,
                  StaticFileResource(config.tracker_file, "application/javascript", 3600))
    if config.serve_demo:
        app.add_route("/demo", StaticFileResource(config.demo_page, "text/html", 0))
    app.add_route("/healthz", HealthResource(sink))
    app.add_route("/metrics", MetricsResource(multiprocess_dir, sink))
    app.add_error_handler(Exception, _internal_error)
    return app


async def _internal_error(req, resp, exc, params):
    if isinstance(exc, falcon.HTTPError):
        raise exc
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(title="internal_error",
                                         description="the event was not accepted; retry")
