"""The report resources: ``/api/v1/reports/{kind}`` (the query as a JSON body or as GET
parameters) and ``/api/v1/realtime``; they call :mod:`api.read.reports` and answer JSON or
CSV. A valid query that only an ad-hoc job can answer is a 400 ``needs_adhoc_job``."""

from __future__ import annotations

import falcon
import orjson

from api.read import render
from api.read.query import QueryError, parse_query
from api.read.reports import NeedsJob, Reports
from api.read.resources.common import Access, bad_request, now, read_json, shallow, wants_csv

REPORTS = ("aggregate", "timeseries", "breakdown", "goals")


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
        shallow(doc["filters"], "filters: ")
    return doc


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


def _flat(params: dict) -> dict:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in params.items()}
