"""Reports through HTTP on hand-built events that went through the whole pipeline
(conftest.py). Every number is worked out here from docs/metrics.md.

Site K (Asia/Kathmandu; goals ``signup`` and page ``/pricing``), day D, closed by the batch
layer (the events of tests/integration/batch/test_batch_job.py; its docstring works them):
  visitors 3 (v1, v2, v3), pageviews 5, custom events 1, bot events 1; sessions 4
  (engaged 2, bounces 2: bounce rate 0.5), durations 660 + 50 s (visit duration 710 / 4 =
  177.5 s), session pageviews 5 (1.25 per session).
  pages: / {v1, v2} 2 pageviews, /pricing {v1, v3} 2, /docs {v1} 1 (its duplicate dropped).
  sources (per session): (direct) v1's second session and v3 (2 sessions, both bounces),
  google.com v1, newsletter v2 (1 session each, engaged).
  goals: signup 1 conversion {v2}; /pricing 2 {v1, v3}.
K's today, D + 1, from the speed layer (posted now): v1 views / and signs up, v5 views
  /pricing: visitors 2, pageviews 2, events 1; no sessions yet (the batch layer makes them).
  v1 today is v1 of day D only when both were received on the same UTC day (the cookieless
  id's salt is the receiving day's, and D's events are posted now with old event times):
  SAME = 1 then, else 0 (a run that posts across 00:00 UTC).
K over D..D+1: visitors 5 - SAME, pageviews 7, events 2, bot events 1; sessions come from D
  only, and the report says so; / {v1, v2, v1'} 3 - SAME visitors, 3 pageviews; /pricing
  {v1, v3, v5} 3, 3; /docs 1, 1; signup 2 conversions {v2, v1'}; /pricing 3 {v1, v3, v5}.

Site S (America/New_York; goal ``download``), the day its clocks went back (F, 25 hours,
the second 01:00 is EST) and the days either side, all closed by the batch layer:
  F-1 23:50 EDT  s5 pageview /                  (a bounce)
  F   00:10 EDT  s4 pageview /about             (a bounce)
  F   01:30 EDT  s1 pageview /                  (a bounce)
  F   01:30 EST  s2 pageview /, 01:35 EST custom download (one session of 300 s, engaged)
  F   23:30 EST  s3 pageview /late-night        (04:30 UTC the next day; a bounce)
  F: visitors 4, pageviews 4, events 1, sessions 4, engaged 1, bounce rate 0.75, visit
  duration 75.0 s, 1.0 views per session; 25 hourly rows, the two 01:00 hours apart.
  F-1..F+1: visitors 5, pageviews 5, events 1, sessions 5, bounce rate 0.8, visit duration
  60.0 s; download: 1 conversion, 1 converting visitor, rate 1/5.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from api.read.query import SCHEMA_PATH
from tests.integration.services import http

pytestmark = pytest.mark.integration

ALL = ["visitors", "pageviews", "events", "sessions", "engaged_sessions", "bounce_rate",
       "visit_duration", "views_per_session", "bot_events"]


def report(api, kind: str, query: dict, token: str | None = "") -> dict:
    status, _, body = api.post(f"/api/v1/reports/{kind}", query, token=token)
    assert status == 200, body
    return json.loads(body)


def custom(site: str, start, end, **rest) -> dict:
    return {"site_id": site, "date_range": "custom", "start": start.isoformat(),
            "end": end.isoformat(), **rest}


def same_utc_day(api) -> int:
    return int(api.past_posted_at.date() == api.posted_at.date())


def test_realtime_counts_the_last_30_minutes(read_api):
    assert datetime.now(UTC) - read_api.posted_at < timedelta(minutes=29), \
        "the fixture took too long for a realtime check"
    status, _, body = read_api.get("/api/v1/realtime", {"site_id": read_api.k})
    assert status == 200
    found = json.loads(body)
    assert (found["visitors"], found["pageviews"], found["events"]) == (2, 2, 1)
    assert len(found["minutes"]) == 30
    assert sum(m["pageviews"] for m in found["minutes"]) == 2
    assert found["minutes"][0]["minute"].endswith("+05:45")
    assert found["pages"] == [{"page": "/", "visitors": 1, "pageviews": 1},
                              {"page": "/pricing", "visitors": 1, "pageviews": 1}]
    assert found["sources"] == [{"source": "(direct)", "visitors": 2, "pageviews": 2}]


def test_closed_day_in_kathmandu(read_api):
    d = read_api.d
    found = report(read_api, "aggregate", custom(read_api.k, d, d, metrics=ALL))
    assert found["rows"] == [{"visitors": 3, "pageviews": 5, "events": 1, "sessions": 4,
                              "engaged_sessions": 2, "bounce_rate": 0.5,
                              "visit_duration": 177.5, "views_per_session": 1.25,
                              "bot_events": 1}]
    assert found["meta"]["layers"] == {"batch": [d.isoformat()], "speed": []}
    assert found["meta"]["incomplete"] == []
    hours = report(read_api, "timeseries", custom(read_api.k, d, d, interval="hour",
                                                  metrics=["visitors", "pageviews",
                                                           "sessions"]))["rows"]
    assert len(hours) == 24
    assert hours[0]["period"] == f"{d.isoformat()}T00:00+05:45"
    busy = {h["period"][11:16]: (h["visitors"], h["pageviews"], h["sessions"])
            for h in hours if h["pageviews"]}
    assert busy == {"21:00": (2, 3, 2), "22:00": (2, 2, 2)}


def test_range_across_the_seam_of_batch_and_speed_layers(read_api):
    d, same = read_api.d, same_utc_day(read_api)
    nxt = d + timedelta(days=1)
    found = report(read_api, "aggregate", custom(
        read_api.k, d, nxt, metrics=["visitors", "pageviews", "events", "bot_events",
                                     "sessions", "conversions", "converting_visitors"]))
    assert found["rows"] == [{"visitors": 5 - same, "pageviews": 7, "events": 2,
                              "bot_events": 1, "sessions": 4, "conversions": 5,
                              "converting_visitors": 5 - same}]
    meta = found["meta"]
    assert meta["layers"] == {"batch": [d.isoformat()], "speed": [nxt.isoformat()]}
    assert meta["incomplete"][0]["metrics"] == ["sessions"]
    assert meta["incomplete"][0]["days"] == [nxt.isoformat()]

    series = report(read_api, "timeseries", custom(
        read_api.k, d, nxt, metrics=["visitors", "pageviews", "events", "sessions"]))
    assert series["rows"] == [
        {"period": d.isoformat(), "visitors": 3, "pageviews": 5, "events": 1, "sessions": 4},
        {"period": nxt.isoformat(), "visitors": 2, "pageviews": 2, "events": 1,
         "sessions": None}]

    pages = report(read_api, "breakdown", custom(
        read_api.k, d, nxt, dimensions=["page"], metrics=["visitors", "pageviews"]))
    assert sorted((r["page"], r["visitors"], r["pageviews"]) for r in pages["rows"]) == [
        ("/", 3 - same, 3), ("/docs", 1, 1), ("/pricing", 3, 3)]
    assert [r["page"] for r in pages["rows"]] == (
        ["/pricing", "/", "/docs"] if same else ["/", "/pricing", "/docs"])

    goals = report(read_api, "goals", custom(read_api.k, d, nxt))
    assert goals["rows"] == [
        {"goal": "/pricing", "conversions": 3, "converting_visitors": 3,
         "conversion_rate": round(3 / (5 - same), 4)},
        {"goal": "signup", "conversions": 2, "converting_visitors": 2,
         "conversion_rate": round(2 / (5 - same), 4)}]


def test_breakdowns_filters_order_and_pages(read_api):
    d = read_api.d
    sources = report(read_api, "breakdown", custom(
        read_api.k, d, d, dimensions=["source"],
        metrics=["visitors", "sessions", "bounce_rate"]))
    assert sources["rows"] == [
        {"source": "(direct)", "visitors": 2, "sessions": 2, "bounce_rate": 1.0},
        {"source": "google.com", "visitors": 1, "sessions": 1, "bounce_rate": 0.0},
        {"source": "newsletter", "visitors": 1, "sessions": 1, "bounce_rate": 0.0}]
    first = report(read_api, "breakdown", custom(
        read_api.k, d, d, dimensions=["page"], metrics=["pageviews"],
        order_by=[{"field": "page", "desc": False}], limit=2))
    assert [r["page"] for r in first["rows"]] == ["/", "/docs"]
    assert (first["meta"]["total_rows"], first["meta"]["next_offset"]) == (3, 2)
    rest = report(read_api, "breakdown", custom(
        read_api.k, d, d, dimensions=["page"], metrics=["pageviews"],
        order_by=[{"field": "page", "desc": False}], limit=2, offset=2))
    assert [r["page"] for r in rest["rows"]] == ["/pricing"]
    assert rest["meta"]["next_offset"] is None
    contains = report(read_api, "breakdown", custom(
        read_api.k, d, d, dimensions=["page"], metrics=["visitors"],
        filters=[{"dimension": "page", "op": "contains", "value": "PRIC"}]))
    assert contains["rows"] == [{"page": "/pricing", "visitors": 2}]
    is_not = report(read_api, "breakdown", custom(
        read_api.k, d, d, dimensions=["page"], metrics=["visitors"],
        filters=[{"dimension": "page", "op": "is_not", "value": ["/", "/docs"]}]))
    assert is_not["rows"] == [{"page": "/pricing", "visitors": 2}]
    filtered = report(read_api, "aggregate", custom(
        read_api.k, d, d + timedelta(days=1), metrics=["visitors", "pageviews"],
        filters=[{"dimension": "page", "op": "is", "value": "/pricing"}]))
    assert filtered["rows"] == [{"visitors": 3, "pageviews": 3}]
    events = report(read_api, "breakdown", custom(
        read_api.k, d, d, dimensions=["prop:plan"], metrics=["visitors", "events"]))
    assert events["rows"] == [{"prop:plan": "pro", "visitors": 1, "events": 1}]


def test_a_day_when_clocks_go_back(read_api):
    f = read_api.dst_day
    day = report(read_api, "aggregate", custom(read_api.s, f, f, metrics=ALL),
                 token=read_api.tokens["s"])
    assert day["rows"] == [{"visitors": 4, "pageviews": 4, "events": 1, "sessions": 4,
                            "engaged_sessions": 1, "bounce_rate": 0.75,
                            "visit_duration": 75.0, "views_per_session": 1.0,
                            "bot_events": 0}]
    hours = report(read_api, "timeseries", custom(
        read_api.s, f, f, interval="hour", metrics=["pageviews", "events", "sessions"]),
        token=read_api.tokens["s"])["rows"]
    iso = f.isoformat()
    assert [h["period"] for h in hours] == (
        [f"{iso}T00:00-04:00", f"{iso}T01:00-04:00"]
        + [f"{iso}T{h:02d}:00-05:00" for h in range(1, 24)])
    busy = {h["period"]: (h["pageviews"], h["events"], h["sessions"])
            for h in hours if h["pageviews"] or h["events"]}
    assert busy == {f"{iso}T00:00-04:00": (1, 0, 1), f"{iso}T01:00-04:00": (1, 0, 1),
                    f"{iso}T01:00-05:00": (1, 1, 1), f"{iso}T23:00-05:00": (1, 0, 1)}
    assert sum(h["sessions"] for h in hours) == 4

    around = custom(read_api.s, f - timedelta(days=1), f + timedelta(days=1),
                    metrics=["visitors", "pageviews", "events", "sessions", "bounce_rate",
                             "visit_duration", "conversions", "converting_visitors",
                             "conversion_rate"])
    total = report(read_api, "aggregate", around, token=read_api.tokens["s"])
    assert total["rows"] == [{"visitors": 5, "pageviews": 5, "events": 1, "sessions": 5,
                              "bounce_rate": 0.8, "visit_duration": 60.0, "conversions": 1,
                              "converting_visitors": 1, "conversion_rate": 0.2}]
    assert total["meta"]["layers"]["speed"] == []
    daily = report(read_api, "timeseries", {**around, "metrics": ["visitors", "sessions"]},
                   token=read_api.tokens["s"])["rows"]
    assert [(r["visitors"], r["sessions"]) for r in daily] == [(1, 1), (4, 4), (0, 0)]
    monthly = report(read_api, "timeseries", {**around, "interval": "month",
                                              "metrics": ["pageviews"]},
                     token=read_api.tokens["s"])["rows"]
    by_month: dict[str, int] = {}
    for offset, pageviews in ((-1, 1), (0, 4), (1, 0)):
        month = (f + timedelta(days=offset)).replace(day=1).isoformat()
        by_month[month] = by_month.get(month, 0) + pageviews
    assert {r["period"]: r["pageviews"] for r in monthly} == by_month


def test_csv_has_the_json_rows(read_api):
    d = read_api.d
    query = custom(read_api.k, d, d + timedelta(days=1), metrics=["visitors", "sessions"])
    as_json = report(read_api, "timeseries", query)
    status, headers, body = read_api.post("/api/v1/reports/timeseries?format=csv", query)
    assert status == 200 and headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [{k: (str(v) if v is not None else "") for k, v in r.items()}
            for r in as_json["rows"]] == rows
    status, _, body = read_api.get("/api/v1/reports/breakdown", {
        "site_id": read_api.k, "date_range": "custom", "start": d.isoformat(),
        "end": d.isoformat(), "dimension": "page", "metrics": "visitors,pageviews",
        "order_by": "-pageviews,page"}, headers={"Accept": "text/csv"})
    assert status == 200
    assert body.decode().splitlines() == ["page,visitors,pageviews", "/,2,2", "/pricing,2,2",
                                          "/docs,1,1"]


def test_access_control(read_api):
    k, s, t = read_api.k, read_api.s, read_api.tokens
    query = {"site_id": k, "date_range": "7d"}
    path = "/api/v1/reports/aggregate"
    assert read_api.post(path, query, token=None)[0] == 401
    assert read_api.post(path, query, token="sl_nope_nope")[0] == 401
    assert read_api.post(path, query, token=t["k"] + "x")[0] == 401
    status, _, body = read_api.post(path, query, token=t["revoked"])
    assert status == 401 and json.loads(body)["title"] == "invalid_token"
    status, _, body = read_api.post(path, query, token=t["other"])
    assert status == 403 and k in json.loads(body)["description"]
    assert read_api.post(path, {**query, "site_id": s}, token=t["k"])[0] == 403
    assert read_api.get("/api/v1/realtime", {"site_id": s}, token=t["k"])[0] == 403
    assert read_api.get("/api/v1/export/pages", {"site_id": s}, token=t["k"])[0] == 403
    assert read_api.post(path, {**query, "site_id": "no-such-site"}, token=t["all"])[0] == 404
    assert read_api.post(path, {**query, "site_id": "no-such-site"}, token=t["k"])[0] == 403
    assert read_api.post(path, {**query, "site_id": s}, token=t["all"])[0] == 200
    status, _, body = read_api.get("/api/v1/sites", token=t["both"])
    assert sorted(x["site_id"] for x in json.loads(body)["sites"]) == sorted([k, s])


@pytest.mark.parametrize(("body", "status", "title", "says"), [
    ({"site_id": "x", "metrics": ["revenue"]}, 400, "invalid_query", "metrics/0"),
    ({"site_id": "x", "date_range": "custom"}, 400, "invalid_query", "start"),
    ({"date_range": "7d"}, 400, "invalid_query", "site_id"),
    ({"site_id": "x", "limit": 0}, 400, "invalid_query", "limit"),
    ([1, 2], 400, "invalid_query", "object"),
    ("{not json", 400, "invalid_json", "not JSON"),
    ({"site_id": "x", "dimensions": ["page"], "metrics": ["visitors"],
      "filters": [{"dimension": "country", "op": "is", "value": "NP"}]}, 400,
     "needs_adhoc_job", "/api/v1/jobs"),
])
def test_bad_queries_get_a_reason(read_api, body, status, title, says):
    document = body if isinstance(body, str) else json.loads(
        json.dumps(body).replace('"x"', json.dumps(read_api.k)))
    got, _, answer = read_api.post("/api/v1/reports/breakdown", document)
    found = json.loads(answer)
    assert (got, found["title"]) == (status, title), found
    assert says in found["description"]


def test_no_client_input_makes_a_server_error(read_api):
    k = read_api.k
    junk = [b"", b"null", b"\xff\xfe", b"[]", b'{"site_id": 5}', b'{"site_id": "' + b"a" * 600
            + b'"}', json.dumps({"site_id": k, "start": "2026-02-30", "end": "x",
                                 "date_range": "custom"}).encode(),
            json.dumps({"site_id": k, "order_by": [{"field": "nope"}]}).encode(),
            json.dumps({"site_id": k, "dimensions": ["prop:" + "x" * 80]}).encode(),
            json.dumps({"site_id": k, "filters": [{"dimension": "page", "op": "is",
                                                   "value": []}]}).encode()]
    for kind in ("aggregate", "timeseries", "breakdown", "goals", "nope"):
        for body in junk:
            status = read_api.post(f"/api/v1/reports/{kind}", body)[0]
            assert 400 <= status < 500, (kind, body, status)
    for params in ({"site_id": k, "limit": "many"}, {"site_id": k, "filters": "{"},
                   {"site_id": k, "format": "xml"}, {"site_id": k, "interval": "decade"},
                   {}):
        assert 400 <= read_api.get("/api/v1/reports/timeseries", params)[0] < 500, params
    for params in ({"site_id": k, "start": "yesterday"}, {"site_id": k, "format": "pdf"},
                   {"site_id": k, "start": "2020-01-01", "end": "2026-01-01"}):
        assert 400 <= read_api.get("/api/v1/export/pages", params)[0] < 500, params
    status, _, body = read_api.get("/api/v1/export/nope", {"site_id": k})
    assert status == 404, body
    big = json.dumps({"site_id": k, "filters": [], "pad": "x" * 70_000})
    assert read_api.post("/api/v1/reports/aggregate", big)[0] == 413


def test_cors_for_the_connector(read_api):
    status, headers, _ = _options(read_api, "/api/v1/reports/aggregate")
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"
    assert "authorization" in headers["access-control-allow-headers"].lower()
    status, headers, _ = read_api.get("/api/v1/realtime", {"site_id": read_api.k},
                                      headers={"Origin": "https://tableau.example"})
    assert status == 200 and headers["access-control-allow-origin"] == "*"


def _options(api, path):
    return http("OPTIONS", api.base + path, headers={
        "Origin": "https://tableau.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})


def test_published_documents(read_api):
    status, _, body = read_api.get("/api/v1/openapi.json", token=None)
    assert status == 200
    document = json.loads(body)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["schemas"]["Query"] == json.loads(SCHEMA_PATH.read_text())
    assert {"/api/v1/reports/timeseries", "/api/v1/realtime", "/api/v1/jobs",
            "/api/v1/export/{table}"} <= set(document["paths"])
    status, _, body = read_api.get("/api/v1/schemas/query-1-0-0.json", token=None)
    assert status == 200 and json.loads(body)["$id"] == "sitelens/read/query/1-0-0"


def test_long_ranges_read_only_what_exists_and_say_what_is_missing(read_api):
    d, same = read_api.d, same_utc_day(read_api)
    start = d - timedelta(days=400)
    found = report(read_api, "aggregate", custom(read_api.k, start, d + timedelta(days=1),
                                                 metrics=["visitors", "pageviews"]))
    assert found["rows"] == [{"visitors": 5 - same, "pageviews": 7}]
    expired = [n for n in found["meta"]["incomplete"] if "expired" in n["reason"]]
    assert expired and expired[0]["days"][0] == start.isoformat()
    status, _, body = read_api.post("/api/v1/reports/timeseries", custom(
        read_api.k, start, d, interval="hour"))
    assert status == 400 and "hour" in json.loads(body)["description"]
