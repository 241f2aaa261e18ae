"""The export resources for Tableau and spreadsheets: ``/api/v1/export/tables``, one
table as JSON, CSV or a Tableau extract (``/api/v1/export/{table}``), and several tables
in one extract (``/api/v1/extract.hyper``); rows from :mod:`api.read.exports`."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import falcon

from analytics.periods import MAX_RANGE_DAYS, range_days
from analytics.sites import Site
from api.read import render
from api.read.exports import closed_through, export_rows
from api.read.query import FIRST_DAY, QueryError, parse_day
from api.read.reports import Reports
from api.read.resources.common import Access, bad_request, now
from api.read.tables import TABLES


def export_range(req, site: Site, today: date) -> tuple[date, date]:
    """``start``/``end`` parameters (default: the 30 days up to yesterday, from
    :data:`FIRST_DAY` at the earliest), both included, covering at most
    :data:`~analytics.periods.MAX_RANGE_DAYS` days; ``today``: the site-local date now."""
    try:
        start = parse_day("start", req.get_param("start")) if req.get_param("start") else None
        end = parse_day("end", req.get_param("end")) if req.get_param("end") else None
    except QueryError as exc:
        raise bad_request(str(exc)) from None
    end = end or today - timedelta(days=1)
    start = start or max(FIRST_DAY, end - timedelta(days=29))
    if end < start:
        raise bad_request(f"end: {end} is before start {start}")
    if range_days(start, end) > MAX_RANGE_DAYS:
        raise bad_request(f"start/end: an export covers {MAX_RANGE_DAYS} days at most, both "
                          f"included; {start}..{end} is {range_days(start, end)}")
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


def _zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.timezone)
