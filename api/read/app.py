"""The read service: ``create_app(config)`` wires the Falcon WSGI app to Cassandra. It
runs under gunicorn's threaded workers (``api/read/gunicorn_conf.py``): its reads are
blocking Cassandra calls, each on its own thread."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import falcon
import orjson

from analytics.config import Config
from analytics.sites import CachedSites, SiteRepository
from analytics.storage.session import connect
from api.read import openapi, resources
from api.read.query import SCHEMA_PATH, SCHEMA_VERSION
from api.read.reports import Reports
from api.read.store import ViewStore
from api.read.tokens import CachedTokens, TokenStore

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
SCHEMAS = Path(__file__).with_name("schemas")
API_VERSION = "1.0.0"


def create_app(config: Config, session=None) -> falcon.App:
    if session is None:
        _cluster, session = connect(config, config.cassandra_keyspace)
    sites = CachedSites(SiteRepository(session), ttl_s=config.site_cache_ttl_s)
    access = resources.Access(sites)
    store = ViewStore(session, lg_k=config.visitor_sketch_lg_k,
                      speed_final_after=timedelta(milliseconds=config.streaming_late_after_ms)
                      + timedelta(minutes=1),
                      changing_cache_s=config.read_cache_s)
    reports = Reports(store, lg_k=config.visitor_sketch_lg_k,
                      realtime_ttl_days=config.realtime_ttl_days)

    app = falcon.App(middleware=[
        falcon.CORSMiddleware(allow_origins=_origins(config),
                              expose_headers=["Content-Disposition", "Location"]),
        resources.AuthMiddleware(CachedTokens(TokenStore(session))),
    ])
    app.req_options.strip_url_path_trailing_slash = True
    body_limit = config.read_max_body_bytes
    report = resources.ReportResource(reports, access, body_limit)
    app.add_route("/api/v1/reports/{kind}", report)
    app.add_route("/api/v1/realtime", resources.RealtimeResource(reports, access))
    app.add_route("/api/v1/sites", resources.SitesResource(sites))
    app.add_route("/api/v1/export/tables", resources.ExportTablesResource())
    export = resources.ExportResource(reports, access, config.state_dir / "read-api" / "tmp",
                                      config.state_dir / "logs" / "hyper")
    app.add_route("/api/v1/export/{table}", export)
    app.add_route("/api/v1/extract.hyper", export, suffix="extract")
    jobs = resources.JobsResource(_adhoc_jobs(config, session), access, body_limit)
    app.add_route("/api/v1/jobs", jobs)
    app.add_route("/api/v1/jobs/{job_id}", jobs, suffix="job")
    app.add_route("/api/v1/jobs/{job_id}/result", jobs, suffix="result")
    app.add_route("/api/v1/openapi.json", resources.DocumentResource(
        orjson.dumps(openapi.document(API_VERSION)), falcon.MEDIA_JSON))
    app.add_route(f"/api/v1/schemas/query-{SCHEMA_VERSION}.json",
                  resources.DocumentResource(SCHEMA_PATH.read_bytes(), falcon.MEDIA_JSON))
    job_schema = SCHEMAS / "job-1-0-0.json"
    if job_schema.exists():
        app.add_route("/api/v1/schemas/job-1-0-0.json",
                      resources.DocumentResource(job_schema.read_bytes(), falcon.MEDIA_JSON))
    tableau = STATIC / "tableau"
    if (tableau / "index.html").exists():
        app.add_route("/tableau", resources.DocumentResource(
            (tableau / "index.html").read_bytes(), "text/html; charset=utf-8", 60))
        app.add_route("/tableau/connector.js", resources.DocumentResource(
            (tableau / "connector.js").read_bytes(), "application/javascript", 60))
    app.add_route("/healthz", resources.HealthResource(session))
    app.add_error_handler(Exception, _internal_error)
    return app


def _adhoc_jobs(config: Config, session):
    from api.read.jobs import AdhocJobs

    return AdhocJobs(config, session)


def _origins(config: Config):
    origins = config.read_cors_origins
    return "*" if "*" in origins else list(origins)


def _internal_error(req, resp, exc, params):
    if isinstance(exc, falcon.HTTPError):
        raise exc
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(title="internal_error",
                                         description="the report failed; see the server log")
