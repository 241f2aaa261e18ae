"""Ad-hoc questions through the read service's HTTP API (submit, poll, fetch, cached),
on site K's day D of conftest.py (events and sessions worked out in test_reports.py):

Funnel / -> /pricing -> custom signup over the sessions that start on D: v1's first
session (/ at A-90, /pricing at A-80) and v2's (signup at A-60, then / at A-59: its
signup came before its /) reach step 1; only v1's reaches step 2; none signs up after
/pricing. Steps: 2 sessions (2 visitors), 1 (1), 0 (0); conversions 1.0, 0.5, 0.0 from
the step before and 1.0, 0.5, 0.0 from step 1.

Pages of D for sessions whose source is google.com — a filter on another dimension than
the breakdown's, which no view answers: v1's first session, / and /pricing, one visitor
and one pageview each.
"""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.integration


def submit(api, spec: dict, token: str | None = "") -> tuple[int, dict]:
    status, _, body = api.post("/api/v1/jobs", spec, token=token)
    return status, json.loads(body)


def wait_done(api, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = api.get(f"/api/v1/jobs/{job_id}")
        assert status == 200, body
        job = json.loads(body)
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        time.sleep(2)


def test_funnel_and_cross_dimension_breakdown_as_jobs(read_api):
    day = read_api.d.isoformat()
    funnel = {"site_id": read_api.k, "kind": "funnel", "start": day, "end": day,
              "steps": [{"type": "page", "value": "/"}, {"type": "page", "value": "/pricing"},
                        {"type": "event", "value": "signup"}]}
    pages = {"site_id": read_api.k, "kind": "breakdown", "start": day, "end": day,
             "dimension": "page", "metrics": ["visitors", "pageviews"],
             "filters": [{"dimension": "source", "op": "is", "value": "google.com"}]}
    status, first = submit(read_api, funnel)
    assert status == 202 and first["status"] in ("queued", "running"), first
    status, refused = submit(read_api, pages)  # one job at a time per caller (the default)
    assert (status, refused["title"]) == (429, "too_many_jobs"), refused
    early, _, body = read_api.get(f"/api/v1/jobs/{first['job_id']}/result")
    assert early in (200, 409), body  # 409 "not ready" while it runs
    assert read_api.get(f"/api/v1/jobs/{first['job_id']}",
                        token=read_api.tokens["s"])[0] == 403
    done = wait_done(read_api, first["job_id"])
    assert done["status"] == "succeeded", done
    status, second = submit(read_api, pages)
    assert status == 202, second
    done = wait_done(read_api, second["job_id"])
    assert done["status"] == "succeeded", done
    status, _, body = read_api.get(f"/api/v1/jobs/{first['job_id']}/result")
    assert status == 200
    assert json.loads(body)["rows"] == [[1, "page", "/", 2, 2, 1.0, 1.0],
                                        [2, "page", "/pricing", 1, 1, 0.5, 0.5],
                                        [3, "event", "signup", 0, 0, 0.0, 0.0]]
    status, _, body = read_api.get(f"/api/v1/jobs/{second['job_id']}/result")
    result = json.loads(body)
    assert result["columns"][:3] == ["page", "visitors", "pageviews"]
    assert result["rows"] == [["/", 1, 1], ["/pricing", 1, 1]]
    status, _, body = read_api.get(f"/api/v1/jobs/{second['job_id']}/result",
                                   {"format": "csv"})
    assert body.decode().splitlines() == ["page,visitors,pageviews", "/,1,1", "/pricing,1,1"]

    status, again = submit(read_api, pages)  # the same question: the cached answer
    assert (status, again["job_id"], again["cached"]) == (200, second["job_id"], True)


def test_bad_job_requests(read_api):
    day = read_api.d.isoformat()
    status, found = submit(read_api, {"site_id": read_api.k, "kind": "funnel", "start": day,
                                      "end": day, "steps": [{"type": "page", "value": "/"}]})
    assert status == 400 and found["title"] == "invalid_job" and "steps" in \
        found["description"]
    status, found = submit(read_api, {"site_id": read_api.s, "kind": "breakdown",
                                      "start": day, "end": day, "dimension": "page"})
    assert status == 403
    assert read_api.post("/api/v1/jobs", b"[", token=read_api.token)[0] == 400
    assert read_api.post("/api/v1/jobs", {"kind": "funnel"})[0] == 400
    assert read_api.post("/api/v1/jobs", {"site_id": read_api.k}, token=None)[0] == 401
    assert read_api.get("/api/v1/jobs/no-such-job")[0] == 404
