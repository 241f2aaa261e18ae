"""The read service under report queries derived from the query JSON Schema (as JSON
bodies and as GET parameters), ad-hoc jobs derived from the job JSON Schema, and exports,
each as generated or with one hostile mutation, for sites in zones from UTC-12 to UTC+14
and dates from 0001-01-01 to 9999-12-31. Every answer is a 2xx or a 4xx with a reason."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.sites import Site
from api.read.jobs import schema as job_schema
from api.read.query import schema as query_schema
from api.read.resources import REPORTS
from api.read.sketches import Part
from api.read.tables import TABLES
from tests.unit.api.fuzz.answers import Sent, check, simulate
from tests.unit.api.fuzz.conftest import fuzz
from tests.unit.api.fuzz.strategies import EXTREME_DATES, hostile_json
from tests.unit.api.fuzz.strategies import from_schema as derived
from tests.unit.api.read.conftest import ALL_TOKEN, BLOG_TOKEN, make_full_world
from tests.unit.api.read.fakes import MemoryViews

ZONES = {"kiritimati.example": "Pacific/Kiritimati", "pago.example": "Pacific/Pago_Pago",
         "minus12.example": "Etc/GMT+12", "kathmandu.example": "Asia/Kathmandu",
         "stjohns.example": "America/St_Johns", "shop.example": "Europe/Berlin",
         "blog.example": "UTC"}
SITES = st.sampled_from([*ZONES, "unknown.example"])
TODAY = datetime.now(UTC).date()
RECENT = st.dates(TODAY - timedelta(days=40), TODAY + timedelta(days=1)).map(date.isoformat)
DATES = st.one_of(RECENT, RECENT, RECENT, st.sampled_from(EXTREME_DATES),
                  st.dates().map(date.isoformat))
"""Mostly the last weeks (answers with rows), else extreme, malformed or any dates."""
AUTH = st.sampled_from([{"Authorization": f"Bearer {ALL_TOKEN}"}] * 6 + [
    {"Authorization": f"Bearer {BLOG_TOKEN}"}, {"Authorization": "Bearer sl_x_y"}, {}])
HOSTILE_VALUES = ["=HYPERLINK(\"https://evil.example\")", "-1+2", "@x", "\t=1", "\r=1",
                  "a\r\n=b", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8",
                                                                            "replace")]
QUERIES = derived(query_schema(), {"site_id": SITES, "start": DATES, "end": DATES})
JOBS = derived(job_schema(), {"site_id": SITES, "start": DATES, "end": DATES})


@pytest.fixture
def world(tmp_path):
    days = [TODAY - timedelta(days=n) for n in range(2, 6)]
    part = Part(visitors=3, pageviews=5, events=1, sessions=2, engaged_sessions=1,
                bounces=1, duration_s=20.0, session_pageviews=5)
    views = MemoryViews(
        closed={(site, day): part for site in ZONES for day in days},
        breakdowns={(site, day, dimension): {v: Part(visitors=1, pageviews=2, sessions=1,
                                                     bounces=0, duration_s=3.0)
                                             for v in ["/", *HOSTILE_VALUES]}
                    for site in ZONES for day in days
                    for dimension in ("page", "source", "event", "country", "prop:plan")})
    found = make_full_world(tmp_path, views)
    for site_id, zone in ZONES.items():
        found.sites.save(Site(site_id=site_id, domain=site_id, timezone=zone,
                              goals=frozenset({"signup", "/"})))
    return found


def _send(world, sent: Sent, method: str, path: str, **kw):
    result = simulate(world.client, method, path, **kw)
    sent.add()
    check(result, f"{method} {path} {kw}")
    return result


def test_report_queries_from_the_schema_and_hostile_mutations(world, request):
    sent = Sent(request.node.nodeid)

    @fuzz(1200)
    @given(hostile_json(st.one_of(QUERIES, QUERIES.map(_ordered))),
           st.sampled_from([*REPORTS, "nope"]), AUTH,
           st.sampled_from([None, "json", "csv", "xml"]))
    def run(generated, kind, auth, fmt):
        body, _clean = generated
        _send(world, sent, "POST", f"/api/v1/reports/{kind}", body=body,
              params={"format": fmt} if fmt else None,
              headers={**auth, "Content-Type": "application/json"})

    run()
    assert sent.count >= 1000


def _as_params(query: dict, extra: dict) -> dict:
    params = {}
    for name, value in query.items():
        if name in ("metrics", "dimensions") and isinstance(value, list):
            params[name] = ",".join(str(v) for v in value)
        elif name == "order_by" and isinstance(value, list):
            params[name] = ",".join(("-" if o.get("desc", True) else "") + str(o.get("field"))
                                    for o in value if isinstance(o, dict))
        elif name == "filters":
            params[name] = json.dumps(value)
        else:
            params[name] = str(value)
    return {**params, **extra}


HOSTILE_PARAMS = st.dictionaries(
    st.sampled_from(["site_id", "start", "end", "limit", "offset", "filters", "metrics",
                     "dimension", "interval", "order_by", "date_range"]),
    st.sampled_from(["", "[" * 1000 + "]" * 1000, "1e400", "-1", "99999999999999999999",
                     "%ED%A0%80", "\ud7ff", "[null]", '[{"dimension":"page"}]', ",,,",
                     *EXTREME_DATES[:8]]), max_size=2)


def test_report_queries_as_parameters(world, request):
    sent = Sent(request.node.nodeid)

    @fuzz(500)
    @given(QUERIES, HOSTILE_PARAMS, st.sampled_from(REPORTS), AUTH)
    def run(query, extra, kind, auth):
        _send(world, sent, "GET", f"/api/v1/reports/{kind}", params=_as_params(query, extra),
              headers=auth)

    run()
    assert sent.count >= 400


def test_exports_with_any_dates_in_every_zone(world, request):
    sent = Sent(request.node.nodeid)
    tables = st.sampled_from([*TABLES, "pages.hyper", "nope", "daily_stats%2F..%2Ftables"])

    @fuzz(600)
    @given(st.fixed_dictionaries({"site_id": SITES}, optional={
        "start": DATES, "end": DATES, "format": st.sampled_from(["json", "csv", "xml"])}),
        tables, AUTH, st.sampled_from(["export", "export", "export", "extract"]))
    def run(params, table, auth, route):
        if route == "extract":
            path = "/api/v1/extract.hyper"
            params = {**{k: v for k, v in params.items() if k != "format"}, "tables": table}
        else:
            path = f"/api/v1/export/{table}"
        _send(world, sent, "GET", path, params=params, headers=auth)

    run()
    assert sent.count >= 500


def test_jobs_from_the_schema_and_hostile_mutations(world, request):
    sent = Sent(request.node.nodeid)
    other_ids = st.sampled_from(["0" * 32, "nope", "%2E%2E", "a" * 300, "%ED%A0%80"])

    @fuzz(800)
    @given(hostile_json(st.one_of(JOBS, JOBS.map(_ordered))), AUTH,
           st.sampled_from([None, "csv", "json"]),
           st.lists(st.sampled_from(HOSTILE_VALUES + ["/", "", "-3"]), min_size=1,
                    max_size=3), other_ids)
    def run(generated, auth, fmt, cells, other_id):
        body, _clean = generated
        submitted = _send(world, sent, "POST", "/api/v1/jobs", body=body,
                          headers={**auth, "Content-Type": "application/json"})
        params = {"format": fmt} if fmt else None
        if submitted.status_code >= 300:
            _send(world, sent, "GET", f"/api/v1/jobs/{other_id}/result", params=params,
                  headers=auth)
            return
        job_id = submitted.json["job_id"]
        if submitted.json["status"] != "succeeded":
            world.jobs.succeed(job_id, ["value", "visitors"], [[c, -1] for c in cells])
        for path in (f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job_id}/result"):
            _send(world, sent, "GET", path, params=params, headers=auth)

    run()
    assert sent.count >= 1600


def _ordered(document: dict) -> dict:
    """The same document with start <= end (when both are dates): more of them valid."""
    try:
        start, end = (date.fromisoformat(document[k]) for k in ("start", "end"))
    except (KeyError, TypeError, ValueError):
        return document
    return {**document, "start": min(start, end).isoformat(),
            "end": max(start, end).isoformat()}
