"""Falcon (WSGI) responders of the read service: thin. They authenticate, parse, call
:mod:`api.read.reports` / :mod:`api.read.exports` / :mod:`api.read.jobs`, and render.
One module per family: :mod:`~api.read.resources.reports` (reports, realtime),
:mod:`~api.read.resources.exports` (exports, Tableau extracts),
:mod:`~api.read.resources.jobs` (ad-hoc jobs), :mod:`~api.read.resources.sites` (the
readable sites), :mod:`~api.read.resources.service` (health, static documents), and
:mod:`~api.read.resources.common` for what they share (access to a site, bodies, format).

Who may call what is decided per resource (:mod:`api.read.auth`); ``req.context.principal``
is the token, person or shared link a request acts for (:mod:`api.read.principals`).

Status codes: 400 with a reason for a query that is not valid (or that only an ad-hoc job
can answer), 401 without valid credentials, 403 for a site the principal may not read,
404 for an unknown site, table or job, 413 for a body over the limit, 429 when ad-hoc jobs
are busy.
"""

from api.read.resources.common import (
    Access,
    bad_request,
    iso,
    log,
    now,
    read_json,
    read_object,
    wants_csv,
)
from api.read.resources.exports import ExportResource, ExportTablesResource, export_range
from api.read.resources.jobs import JobsResource
from api.read.resources.reports import (
    REPORTS,
    RealtimeResource,
    ReportResource,
    query_from_params,
)
from api.read.resources.service import DocumentResource, HealthResource
from api.read.resources.sites import SitesResource, readable_sites, site_json

__all__ = [
    "REPORTS", "Access", "DocumentResource", "ExportResource", "ExportTablesResource",
    "HealthResource", "JobsResource", "RealtimeResource", "ReportResource", "SitesResource",
    "bad_request", "export_range", "iso", "log", "now", "query_from_params", "read_json",
    "read_object", "readable_sites", "site_json", "wants_csv",
]
