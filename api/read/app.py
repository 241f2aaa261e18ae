"""The read service: ``create_app(config)`` wires the Falcon WSGI app to Cassandra. It
runs under gunicorn's threaded workers (``api/read/gunicorn_conf.py``): its reads are
blocking Cassandra calls, each on its own thread.

Who may call a route is declared by its resource (:mod:`api.read.auth`): API tokens,
people's sessions (:mod:`api.read.accounts`) and shared links (:mod:`api.read.sharing`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import falcon
import orjson

from analytics.config import Config
from analytics.sites import CachedSites, SiteRepository
from analytics.storage.accounts import AccountStore
from analytics.storage.browser_sessions import BrowserSessionStore
from analytics.storage.login_failures import LoginFailureStore
from analytics.storage.session import connect
from analytics.storage.shared_links import SharedLinkStore
from api.access_log import AccessLog, serialize_error
from api.read import (
    account_resources,
    auth,
    dashboard,
    openapi,
    rate_limit,
    resources,
    share_resources,
    site_admin_resources,
)
from api.read.accounts import Accounts
from api.read.passwords import Passwords
from api.read.principals import Principals
from api.read.query import SCHEMA_PATH, SCHEMA_VERSION
from api.read.reports import Reports
from api.read.sharing import SharedLinks
from api.read.site_settings import SitesCache
from api.read.store import ViewStore
from api.read.throttle import Throttle
from api.read.tokens import CachedTokens, TokenStore

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
SCHEMAS = Path(__file__).with_name("schemas")
API_VERSION = "1.0.0"


def create_app(config: Config, session=None, *, sites=None, reports=None, jobs=None,
               tokens=None, users=None, browser_sessions=None, shared_links=None,
               login_failures=None, passwords: Passwords | None = None,
               clock: Callable[[], datetime] | None = None,
               monotonic: Callable[[], float] = time.monotonic) -> falcon.App:
    """The app. Collaborators that are not given are built on ``session`` (connected
    from config when needed): tests pass in-memory stores and a clock instead
    (``monotonic``: the access log's durations)."""
    given = (sites, reports, jobs, tokens, users, browser_sessions, shared_links,
             login_failures)
    if session is None and any(part is None for part in given):
        _cluster, session = connect(config, config.cassandra_keyspace)
    sites = sites or SitesCache(SiteRepository(session), ttl_s=config.site_cache_ttl_s)
    access = resources.Access(sites)
    reports = reports or _reports(config, session)
    clock = clock or auth.now
    passwords = passwords or Passwords()
    throttle = Throttle(login_failures or LoginFailureStore(session), config.login_window_s)
    limits = {"max_failures": config.login_max_failures,
              "client_max_failures": config.login_client_max_failures}
    accounts = Accounts(users or AccountStore(session),
                        browser_sessions or BrowserSessionStore(session), passwords, throttle,
                        session_ttl_s=config.session_ttl_s, **limits)
    links = SharedLinks(shared_links or SharedLinkStore(session), passwords, throttle,
                        unlock_ttl_s=config.share_unlock_ttl_s, **limits)
    principals = Principals(tokens or CachedTokens(TokenStore(session)), accounts, links)

    app = falcon.App(middleware=[
        AccessLog("read", enabled=config.access_log, clock=clock, monotonic=monotonic),
        falcon.CORSMiddleware(allow_origins=_origins(config),
                              expose_headers=["Content-Disposition", "Location",
                                              "Retry-After"]),
        auth.AuthMiddleware(principals, public_types=PUBLIC_PAGES, clock=clock),
        rate_limit.ReadRateLimit(config, clock),
    ])
    app.req_options.strip_url_path_trailing_slash = True
    app.set_error_serializer(serialize_error)
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
    jobs = resources.JobsResource(jobs or _adhoc_jobs(config, session), access, body_limit, clock)
    app.add_route("/api/v1/jobs", jobs)
    app.add_route("/api/v1/jobs/{job_id}", jobs, suffix="job")
    app.add_route("/api/v1/jobs/{job_id}/result", jobs, suffix="result")
    _account_routes(app, config, accounts=accounts, links=links, sites=sites, access=access,
                    clock=clock)
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
    dashboard.add_routes(app, dashboard.DIST)
    app.add_error_handler(Exception, _internal_error)
    return app


PUBLIC_PAGES = (dashboard.RootRedirect, dashboard.IndexPage, dashboard.AssetFile)
"""The dashboard's pages (``/``, ``/dashboard/...``, ``/share/{secret}``): public; what
they show comes from API calls, which are not."""


def _account_routes(app, config: Config, *, accounts: Accounts, links: SharedLinks,
                    sites: CachedSites, access, clock) -> None:
    limit = config.read_max_body_bytes
    client = auth.ClientInfo(config.read_trust_proxy_headers)
    app.add_route("/api/v1/auth/login", account_resources.LoginResource(
        accounts, client, limit, config.session_ttl_s, clock))
    app.add_route("/api/v1/auth/logout", account_resources.LogoutResource(accounts, clock))
    app.add_route("/api/v1/auth/me", account_resources.MeResource(sites))
    app.add_route("/api/v1/auth/password", account_resources.PasswordResource(
        accounts, client, limit, clock))
    app.add_route("/api/v1/sites/{site_id}/settings",
                  site_admin_resources.SettingsResource(sites, access, limit))
    members = site_admin_resources.MembersResource(accounts, access, limit, clock)
    app.add_route("/api/v1/sites/{site_id}/members", members)
    app.add_route("/api/v1/sites/{site_id}/members/{email}", members, suffix="member")
    shared = site_admin_resources.SharedLinksResource(links, access, limit, clock)
    app.add_route("/api/v1/sites/{site_id}/shared-links", shared)
    app.add_route("/api/v1/sites/{site_id}/shared-links/{link_id}", shared, suffix="link")
    share = share_resources.ShareResource(links, sites, client=client, body_limit=limit,
                                          unlock_ttl_s=config.share_unlock_ttl_s, clock=clock)
    app.add_route("/api/v1/share/{secret}", share)
    app.add_route("/api/v1/share/{secret}/unlock", share, suffix="unlock")


def _reports(config: Config, session) -> Reports:
    store = ViewStore(session, lg_k=config.visitor_sketch_lg_k,
                      speed_final_after=timedelta(milliseconds=config.streaming_late_after_ms)
                      + timedelta(minutes=1),
                      changing_cache_s=config.read_cache_s)
    return Reports(store, lg_k=config.visitor_sketch_lg_k,
                   realtime_ttl_days=config.realtime_ttl_days)


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
