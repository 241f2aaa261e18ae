"""Falcon (WSGI) responders of the read service: thin. They authenticate, parse, call
:mod:`api.read.reports` / :mod:`api.read.exports` / :mod:`api.read.jobs`, and render.

Who may call what is decided per resource (:mod:`api.read.auth`); ``req.context.principal``
is the token, person or shared link a request acts for (:mod:`api.read.principals`).

Status codes: 400 with a reason for a query that is not valid (or that only an ad-hoc job
can answer), 401 without valid credentials, 403 for a site the principal may not read,
404 for an unknown site, table or job, 413 for a body over the limit, 429 when ad-hoc jobs
are busy.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import falcon
import orjson

from analytics import client_json
from analytics.sites import CachedSites, Site
from analytics.storage.accounts import ADMIN
from api.read import render
from api.read.auth import public
from api.read.exports import closed_through, export_rows
from api.read.query import FIRST_DAY, QueryError, parse_day, parse_query
from api.read.reports import NeedsJob, Reports
from api.read.tables import TABLES

log = logging.getLogger("sitelens.read")
REPORTS = ("aggregate", "timeseries", "breakdown", "goals")


def now() -> datetime:
    return datetime.now(UTC)


def bad_request(reason: str, title: str = "invalid_query") -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title=title, description=reason)


class Access:
    """The site a request names, if its principal may read it (403 before 404, so a
    principal learns nothing about sites it may not read), or administer it."""

    def __init__(self, sites: CachedSites):
        self.sites = sites

    def site(self, req, site_id: object) -> Site:
        if not site_id:
            raise bad_request("site_id: required")
        if not isinstance(site_id, str):
            raise bad_request("site_id: must be a site id (a string)")
        principal = req.context.principal
        if not principal.may_read(site_id):
            raise falcon.HTTPForbidden(title="forbidden",
                                       description=f"{principal.name} may not read {site_id!r}")
        site = self.sites.get(site_id)
        if site is None:
            raise falcon.HTTPNotFound(title="unknown_site", description=f"no site {site_id!r}")
        return site

    def admin_site(self, req, site_id: str) -> Site:
        """The site, if the principal is an admin of it (403 ``forbidden`` otherwise)."""
        site = self.site(req, site_id)
        principal = req.context.principal
        role = principal.role(site_id)
        if role != ADMIN:
            raise falcon.HTTPForbidden(title="forbidden", description=(
                f"{principal.name} is {f'a {role}' if role else 'not a member'} of "
                f"{site_id!r}; this needs the admin role"))
        return site


def site_json(site: Site, role: str | None) -> dict:
    return {"site_id": site.site_id, "domain": site.domain, "timezone": site.timezone,
            "goals": sorted(site.goals), "role": role}


def iso(instant: datetime | None) -> str | None:
    """An instant as RFC 3339 UTC with milliseconds (``2026-12-01T21:53:00.000Z``)."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_json(req, limit: int) -> object:
    if req.content_length is not None and req.content_length > limit:
        raise falcon.HTTPContentTooLarge(title="body_too_large",
                                         description=f"{req.content_length} bytes; at most {limit}")
    body = req.bounded_stream.read(limit + 1)
    if len(body) > limit:
        raise falcon.HTTPContentTooLarge(title="body_too_large",
                                         description=f"more than {limit} bytes")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"body: not JSON ({exc})", "invalid_json") from None
    return _shallow(document, "")


def _shallow(document, field: str):
    """``document`` if it nests at most ``MAX_DEPTH`` levels (400 ``too_deep``)."""
    try:
        client_json.check_depth(document)
    except client_json.ClientJSONError as exc:
        raise bad_request(f"{field}{exc.detail}", "too_deep") from None
    return document


def read_object(req, limit: int) -> dict:
    """A JSON object body (400 ``invalid_json`` for anything else)."""
    document = read_json(req, limit)
    if not isinstance(document, dict):
        raise bad_request("body: must be a JSON object", "invalid_json")
    return document


def query_from_params(params: dict) -> dict:
    """GET parameters -> the query document (lists comma-separated, filters as JSON,
    order_by as ``-visitors,page``)."""
    doc: dict = {}
    for name in ("site_id", "date_range", "start", "end", "interval"):
        if name in params:
            doc[name] = params[name]
    for name in ("metrics", "dimensions"):
        if name in params:
            doc[name] = [v for v in str(params[name]).split(",") if v]
    if "dimension" in params:
        doc["dimensions"] = [params["dimension"]]
    for name in ("limit", "offset"):
        if name in params:
            try:
                doc[name] = int(params[name])
            except ValueError:
                raise bad_request(f"{name}: {params[name]!r} is not an integer") from None
    if "order_by" in params:
        doc["order_by"] = [{"field": f.lstrip("-"), "desc": f.startswith("-")}
                           for f in str(params["order_by"]).split(",") if f]
    if "filters" in params:
        try:
            doc["filters"] = orjson.loads(params["filters"])
        except orjson.JSONDecodeError:
            raise bad_request("filters: must be a JSON array") from None
        _shallow(doc["filters"], "filters: ")
    return doc


def wants_csv(req) -> bool:
    fmt = req.get_param("format")
    if fmt:
        if fmt not in ("json", "csv"):
            raise bad_request(f"format: {fmt!r} is not json or csv", "invalid_format")
        return fmt == "csv"
    return "text/csv" in (req.get_header("Accept") or "")


class ReportResource:
    """``POST /api/v1/reports/{kind}`` with the query as JSON, or ``GET`` with it as
    parameters; JSON, or CSV with ``?format=csv`` / ``Accept: text/csv``."""

    def __init__(self, reports: Reports, access: Access, body_limit: int):
        self.reports = reports
        self.access = access
        self.body_limit = body_limit

    def on_get(self, req, resp, kind):
        self._answer(req, resp, kind, query_from_params(_flat(req.params)))

    def on_post(self, req, resp, kind):
        self._answer(req, resp, kind, read_json(req, self.body_limit))

    def _answer(self, req, resp, kind, document):
        if kind not in REPORTS:
            raise falcon.HTTPNotFound(title="unknown_report", description=(
                f"no report {kind!r}; reports: {', '.join(REPORTS)}"))
        as_csv = wants_csv(req)
        try:
            query = parse_query(document)
            site = self.access.site(req, query.site_id)
            report = getattr(self.reports, kind)(site, query, now())
        except NeedsJob as exc:
            raise bad_request(str(exc), "needs_adhoc_job") from None
        except QueryError as exc:
            raise bad_request(str(exc)) from None
        if as_csv:
            render.csv_response(resp, report.columns, report.rows, f"{kind}.csv")
        else:
            render.json_response(resp, report.as_json())


class RealtimeResource:
    """``GET /api/v1/realtime?site_id=``: the last 30 minutes."""

    def __init__(self, reports: Reports, access: Access):
        self.reports = reports
        self.access = access

    def on_get(self, req, resp):
        site = self.access.site(req, req.get_param("site_id"))
        found = self.reports.realtime(site, now())
        if wants_csv(req):
            render.csv_response(resp, ["minute", "visitors", "pageviews", "events"],
                                found["minutes"], "realtime.csv")
        else:
            render.json_response(resp, found)


class SitesResource:
    """``GET /api/v1/sites``: the sites the principal may read, each with its role."""

    def __init__(self, sites: CachedSites):
        self.sites = sites

    def on_get(self, req, resp):
        render.json_response(resp, {"sites": readable_sites(self.sites,
                                                            req.context.principal)})


def readable_sites(sites: CachedSites, principal) -> list[dict]:
    return [site_json(s, principal.role(s.site_id)) for s in sites.repository.all()
            if principal.may_read(s.site_id)]


def export_range(req, site: Site, today: date) -> tuple[date, date]:
    """``start``/``end`` parameters (default: the 30 days up to yesterday, from
    :data:`FIRST_DAY` at the earliest)."""
    try:
        start = parse_day("start", req.get_param("start")) if req.get_param("start") else None
        end = parse_day("end", req.get_param("end")) if req.get_param("end") else None
    except QueryError as exc:
        raise bad_request(str(exc)) from None
    end = end or today - timedelta(days=1)
    start = start or max(FIRST_DAY, end - timedelta(days=29))
    if end < start:
        raise bad_request(f"end: {end} is before start {start}")
    if (end - start).days > 3 * 366:
        raise bad_request("start/end: at most three years per export")
    return start, end


class ExportTablesResource:
    def on_get(self, req, resp):
        render.json_response(resp, {"tables": [t.as_json() for t in TABLES.values()]})


class ExportResource:
    """``GET /api/v1/export/{table}`` (JSON; ``format=csv``; ``.hyper`` suffix or
    ``format=hyper`` for a Tableau extract) and ``GET /api/v1/extract.hyper?tables=``."""

    def __init__(self, reports: Reports, access: Access, scratch: Path, hyper_logs: Path):
        self.reports = reports
        self.access = access
        self.scratch = scratch
        self.hyper_logs = hyper_logs

    def on_get(self, req, resp, table):
        fmt = req.get_param("format") or "json"
        if table.endswith(".hyper"):
            table, fmt = table[:-len(".hyper")], "hyper"
        found = TABLES.get(table)
        if found is None:
            raise falcon.HTTPNotFound(title="unknown_table", description=(
                f"no table {table!r}; tables: {', '.join(TABLES)}"))
        if fmt not in ("json", "csv", "hyper"):
            raise bad_request(f"format: {fmt!r} is not json, csv or hyper", "invalid_format")
        site, start, end, at = self._scope(req)
        rows = export_rows(self.reports, site, found, first=start, last=end, now=at)
        if fmt == "hyper":
            self._hyper(resp, site, [(found, rows)], f"{site.site_id}-{table}.hyper")
        elif fmt == "csv":
            render.csv_response(resp, list(found.column_ids), rows,
                                f"{site.site_id}-{table}.csv")
        else:
            through = (closed_through(self.reports, site, start, end)
                       if found.incremental_column else None)
            render.json_response(resp, {"table": found.id, "site_id": site.site_id,
                                        "start": start.isoformat(), "end": end.isoformat(),
                                        "closed_through": through and through.isoformat(),
                                        "columns": [c.as_json() for c in found.columns],
                                        "rows": rows})

    def on_get_extract(self, req, resp):
        names = [n for n in (req.get_param("tables") or ",".join(TABLES)).split(",") if n]
        unknown = [n for n in names if n not in TABLES]
        if unknown:
            raise bad_request(f"tables: unknown {', '.join(unknown)}; tables: "
                              f"{', '.join(TABLES)}", "unknown_table")
        site, start, end, at = self._scope(req)
        tables = [(TABLES[n], export_rows(self.reports, site, TABLES[n], first=start, last=end,
                                               now=at))
                  for n in names]
        self._hyper(resp, site, tables, f"{site.site_id}.hyper")

    def _scope(self, req):
        site = self.access.site(req, req.get_param("site_id"))
        at = now()
        start, end = export_range(req, site, at.astimezone(_zone(site)).date())
        return site, start, end, at

    def _hyper(self, resp, site, tables, filename):
        from api.read.extract import write_hyper

        self.scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.scratch) as folder:
            path = Path(folder) / filename
            write_hyper(path, tables, log_dir=self.hyper_logs)
            data = path.read_bytes()
        resp.content_type = "application/vnd.tableau.hyper"
        resp.downloadable_as = filename
        resp.data = data


class JobsResource:
    """Ad-hoc questions as Spark jobs: ``POST /api/v1/jobs`` (202 + job),
    ``GET /api/v1/jobs/{job_id}``, ``GET /api/v1/jobs/{job_id}/result``."""

    def __init__(self, jobs, access: Access, body_limit: int):
        self.jobs = jobs
        self.access = access
        self.body_limit = body_limit

    def on_post(self, req, resp):
        from api.read.jobs import JobError, JobsBusy

        spec = read_json(req, self.body_limit)
        if not isinstance(spec, dict):
            raise bad_request("job: must be a JSON object", "invalid_job")
        if not isinstance(spec.get("site_id"), str) or not spec["site_id"]:
            raise bad_request("site_id: must be a site id (a string)", "invalid_job")
        site = self.access.site(req, spec["site_id"])
        try:
            job = self.jobs.submit(site, spec, now(), owner=req.context.principal.key)
        except JobError as exc:
            raise bad_request(str(exc), "invalid_job") from None
        except JobsBusy as exc:
            raise falcon.HTTPTooManyRequests(
                title=exc.code, description=str(exc) or "too many ad-hoc jobs running",
                retry_after=int(getattr(exc, "retry_after_s", 30))) from None
        resp.status = falcon.HTTP_200 if job.get("status") == "succeeded" else falcon.HTTP_202
        resp.location = f"/api/v1/jobs/{job['job_id']}"
        render.json_response(resp, job, status=resp.status)

    def on_get_job(self, req, resp, job_id):
        render.json_response(resp, self._job(req, job_id))

    def on_get_result(self, req, resp, job_id):
        job = self._job(req, job_id)
        if job["status"] != "succeeded":
            raise falcon.HTTPConflict(title="not_ready", description=(
                f"job {job_id} is {job['status']}" + (f": {job['error']}"
                                                     if job.get("error") else "")))
        from api.read.jobs import JobNotReady

        try:
            result = self.jobs.result(job_id)
        except JobNotReady as exc:  # it timed out between the two reads
            raise falcon.HTTPConflict(title="not_ready", description=(
                f"job {job_id} is {exc.job['status']}")) from None
        if result is None:
            raise falcon.HTTPNotFound(title="unknown_job", description=f"no job {job_id!r}")
        if wants_csv(req):
            columns = result["columns"]
            render.csv_response(resp, columns, [dict(zip(columns, r, strict=False))
                                                for r in result["rows"]], f"job-{job_id}.csv")
        else:
            render.json_response(resp, result)

    def _job(self, req, job_id):
        job = self.jobs.status(job_id)
        if job is None:
            raise falcon.HTTPNotFound(title="unknown_job", description=f"no job {job_id!r}")
        self.access.site(req, job["site_id"])
        return job


@public()
class HealthResource:
    def __init__(self, session):
        self.session = session

    def on_get(self, req, resp):
        try:
            self.session.execute("SELECT release_version FROM system.local")
        except Exception as exc:  # the store is down: say so, do not crash the worker
            render.json_response(resp, {"status": "unavailable", "cassandra": str(exc)},
                                 status=falcon.HTTP_503)
            return
        render.json_response(resp, {"status": "ok"})


@public()
class DocumentResource:
    """A static document: the OpenAPI description, a JSON Schema, the connector page."""

    def __init__(self, body: bytes, content_type: str, max_age: int = 300):
        self.body = body
        self.content_type = content_type
        self.max_age = max_age

    def on_get(self, req, resp):
        resp.content_type = self.content_type
        resp.cache_control = [f"max-age={self.max_age}"]
        resp.data = self.body


def _flat(params: dict) -> dict:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in params.items()}


def _zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.timezone)

