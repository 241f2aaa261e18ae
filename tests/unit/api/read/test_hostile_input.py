"""Client input that once gave a 500 on the read service: each is a 400 (or 403/404)
whose body names the reason."""

from __future__ import annotations

import json

import pytest

from tests.unit.api.errors import error_body
from tests.unit.api.read.conftest import ALL_TOKEN, BLOG_TOKEN, make_full_world

DEEP = "[" * 1000 + "]" * 1000
BLOG = {"Authorization": f"Bearer {BLOG_TOKEN}"}
EVERY = {"Authorization": f"Bearer {ALL_TOKEN}"}


@pytest.fixture
def world(tmp_path):
    return make_full_world(tmp_path)


def _deep_body(field: str) -> str:
    return json.dumps({"site_id": "blog.example", field: "@"}).replace('"@"', DEEP)


@pytest.mark.parametrize("body", [_deep_body("filters"), _deep_body("site_id"),
                                  _deep_body("metrics"), DEEP])
@pytest.mark.parametrize("kind", ["aggregate", "timeseries", "breakdown", "goals"])
def test_deep_nesting_in_a_report_query_is_refused(world, kind, body):
    result = world.client.simulate_post(f"/api/v1/reports/{kind}", body=body, headers=BLOG)
    assert result.status_code == 400
    assert result.json["title"] == "too_deep"
    assert result.json["description"].startswith("JSON nested deeper than 32 levels at ")


def test_deep_nesting_in_get_filters_is_refused(world):
    result = world.client.simulate_get("/api/v1/reports/aggregate", headers=BLOG, params={
        "site_id": "blog.example", "filters": DEEP})
    assert (result.status_code, error_body(result)) == (400, {
        "title": "too_deep", "description": "filters: JSON nested deeper than 32 levels at "
                                            + "/".join(["0"] * 32)})


def test_deep_nesting_in_a_job_is_refused(world):
    result = world.client.simulate_post("/api/v1/jobs", body=_deep_body("filters"),
                                        headers=BLOG)
    assert (result.status_code, result.json["title"]) == (400, "too_deep")


@pytest.mark.parametrize("site_id", [[], ["blog.example"], {}, {"a": 1}, 7, 1.5, True, None])
@pytest.mark.parametrize("headers", [BLOG, EVERY])
def test_a_job_site_id_that_is_not_a_string_is_refused(world, site_id, headers):
    result = world.client.simulate_post("/api/v1/jobs", json={
        "site_id": site_id, "kind": "breakdown", "start": "2026-11-01", "end": "2026-11-02",
        "dimension": "page"}, headers=headers)
    assert result.status_code == 400
    assert error_body(result) == {"title": "invalid_job",
                           "description": "site_id: must be a site id (a string)"}


@pytest.mark.parametrize("site_id", [[], ["blog.example"], {}, 7])
def test_a_report_site_id_that_is_not_a_string_is_refused(world, site_id):
    result = world.client.simulate_post("/api/v1/reports/aggregate",
                                        json={"site_id": site_id}, headers=EVERY)
    assert (result.status_code, result.json["title"]) == (400, "invalid_query")
    assert result.json["description"].startswith("site_id: ")


OUTSIDE = "is outside 1970-01-01..2999-12-31, the days Sitelens can hold"


@pytest.mark.parametrize(("query", "reason"), [
    ({"site_id": "blog.example", "start": "9999-12-31", "end": "9999-12-31"},
     f"start: 9999-12-31 {OUTSIDE}"),
    ({"site_id": "blog.example", "start": "2026-11-01", "end": "9999-12-31"},
     f"end: 9999-12-31 {OUTSIDE}"),
    ({"site_id": "shop.example", "start": "0001-01-01", "end": "0001-01-02"},
     f"start: 0001-01-01 {OUTSIDE}"),
    ({"site_id": "shop.example", "start": "1969-12-31", "end": "1970-01-01"},
     f"start: 1969-12-31 {OUTSIDE}"),
])
@pytest.mark.parametrize("kind", ["aggregate", "timeseries", "breakdown", "goals"])
def test_dates_beyond_what_days_can_hold_are_refused_in_reports(world, kind, query, reason):
    query = {**query, "date_range": "custom", "dimensions": ["page"]}
    result = world.client.simulate_post(f"/api/v1/reports/{kind}", json=query, headers=EVERY)
    assert (result.status_code, error_body(result)) == (400, {"title": "invalid_query",
                                                       "description": reason})


@pytest.mark.parametrize(("params", "reason"), [
    ({"start": "9999-12-31", "end": "9999-12-31"}, f"start: 9999-12-31 {OUTSIDE}"),
    ({"end": "0001-01-05"}, f"end: 0001-01-05 {OUTSIDE}"),
    ({"start": "0001-01-01"}, f"start: 0001-01-01 {OUTSIDE}"),
    ({"start": "2026-W48-1"}, "start: '2026-W48-1' is not a date (YYYY-MM-DD)"),
    ({"start": "20261101"}, "start: '20261101' is not a date (YYYY-MM-DD)"),
])
@pytest.mark.parametrize("path", ["/api/v1/export/daily_stats", "/api/v1/export/pages",
                                  "/api/v1/extract.hyper"])
def test_dates_beyond_what_days_can_hold_are_refused_in_exports(world, path, params, reason):
    result = world.client.simulate_get(path, headers=EVERY,
                                       params={"site_id": "shop.example", **params})
    assert (result.status_code, error_body(result)) == (400, {"title": "invalid_query",
                                                       "description": reason})


def test_the_default_start_of_an_export_is_not_before_the_first_day(world):
    result = world.client.simulate_get("/api/v1/export/daily_stats", headers=EVERY,
                                       params={"site_id": "shop.example", "end": "1970-01-05"})
    assert result.status_code == 200
    assert (result.json["start"], result.json["end"]) == ("1970-01-01", "1970-01-05")


def test_dates_beyond_what_days_can_hold_are_refused_in_jobs(world):
    result = world.client.simulate_post("/api/v1/jobs", json={
        "site_id": "shop.example", "kind": "funnel", "start": "0001-01-01",
        "end": "0001-01-02", "steps": [{"type": "page", "value": "/"},
                                       {"type": "page", "value": "/b"}]}, headers=EVERY)
    assert (result.status_code, error_body(result)) == (400, {
        "title": "invalid_job", "description": f"start: 0001-01-01 {OUTSIDE}"})


def test_the_first_and_last_days_are_answered(world):
    for start, end, periods in (("1970-01-01", "1970-01-02", ["1970-01-01", "1970-01-02"]),
                                ("2999-12-30", "2999-12-31", [])):  # not begun: no rows
        for site in ("shop.example", "blog.example"):
            result = world.client.simulate_post("/api/v1/reports/timeseries", headers=EVERY,
                                                json={"site_id": site, "start": start,
                                                      "date_range": "custom", "end": end})
            assert result.status_code == 200, result.json
            assert (result.json["meta"]["start"], result.json["meta"]["end"]) == (start, end)
            assert [r["period"] for r in result.json["rows"]] == periods


@pytest.mark.parametrize(("field", "value"), [("offset", 0.0), ("offset", 1e-400),
                                              ("limit", 10.0), ("limit", 5e0)])
def test_integral_numbers_written_as_floats_are_integers(world, field, value):
    # JSON Schema's "integer" takes 10.0; slicing rows by it took a float (a 500)
    query = {"site_id": "blog.example", "date_range": "7d", "dimensions": ["page"],
             field: value}
    result = world.client.simulate_post("/api/v1/reports/breakdown", json=query,
                                        headers=EVERY)
    assert result.status_code == 200, result.json
    assert result.json["meta"]["next_offset"] is None


def test_a_jobs_integral_float_limit_is_an_integer(world):
    result = world.client.simulate_post("/api/v1/jobs", headers=EVERY, json={
        "site_id": "shop.example", "kind": "breakdown", "start": "2026-11-01",
        "end": "2026-11-02", "dimension": "page", "limit": 10.0})
    assert result.status_code == 202
    assert result.json["spec"]["limit"] == 10 and type(result.json["spec"]["limit"]) is int


def test_a_result_that_stops_being_ready_between_two_reads_is_a_409(world):
    from api.read.jobs import JobNotReady

    job = world.client.simulate_post("/api/v1/jobs", headers=EVERY, json={
        "site_id": "shop.example", "kind": "breakdown", "start": "2026-11-01",
        "end": "2026-11-02", "dimension": "page"}).json
    world.jobs.succeed(job["job_id"], ["page"], [["/"]])

    def timed_out(job_id, now=None):  # the job's status was read first, then this
        raise JobNotReady({**job, "status": "failed"})

    world.jobs.result = timed_out
    result = world.client.simulate_get(f"/api/v1/jobs/{job['job_id']}/result", headers=EVERY)
    assert (result.status_code, error_body(result)) == (409, {
        "title": "not_ready", "description": f"job {job['job_id']} is failed"})
