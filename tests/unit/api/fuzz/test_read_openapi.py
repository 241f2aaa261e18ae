"""Schemathesis against the read service's OpenAPI document (``GET /api/v1/openapi.json``),
in-process: every operation, positive and negative. Each case is sent with the
credentials schemathesis made up, or with a real one (an all-sites token, the blog's
token, the shop admin's session with its CSRF token, the shop's shared link), and often
with the shop's real ids in place of the generated ones (site, job, shared link, member),
so that it reaches the code behind authentication. Every answer is a 2xx or a 4xx with
a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.read.app import API_VERSION
from api.read.openapi import document
from tests.unit.api.fuzz.answers import Sent, check, simulate
from tests.unit.api.fuzz.cases import cases, operations, request_of, with_modes
from tests.unit.api.fuzz.conftest import fuzz
from tests.unit.api.read.conftest import ADMIN, ALL_TOKEN, BLOG_TOKEN, VIEWER, make_full_world

SHOP = "shop.example"
DOCUMENT = document(API_VERSION)
LOADED, OPERATIONS = operations(DOCUMENT)
EXAMPLES = {"positive": 45, "negative": 35}
"""Per operation; the report and job operations get twice as many."""


def _world(tmp_path):
    world = make_full_world(tmp_path)
    every = {"Authorization": f"Bearer {ALL_TOKEN}"}
    job = world.client.simulate_post("/api/v1/jobs", headers=every, json={
        "site_id": SHOP, "kind": "breakdown", "start": "2026-11-01", "end": "2026-11-02",
        "dimension": "page"}).json
    world.jobs.succeed(job["job_id"], ["page", "visitors"], [["=1+2", 1]])
    admin = world.signed_in(ADMIN)
    link = admin.post(f"/api/v1/sites/{SHOP}/shared-links", {"label": "board"}).json
    ids = {"site_id": SHOP, "job_id": job["job_id"], "link_id": link["link_id"],
           "email": VIEWER, "secret": link["url"].rsplit("/", 1)[1]}
    credentials = [
        None, None,  # as schemathesis made them up
        ({"Authorization": f"Bearer {ALL_TOKEN}"}, {}),
        ({"Authorization": f"Bearer {ALL_TOKEN}"}, {}),
        ({"Authorization": f"Bearer {BLOG_TOKEN}"}, {}),
        ({"X-CSRF-Token": admin.csrf}, dict(admin.cookies)),
        ({"X-Share-Token": ids["secret"]}, {}),
    ]
    return world, ids, credentials


def _real_ids(case, ids: dict, use: bool) -> None:
    if not use:
        return
    for name in list(case.path_parameters or {}):
        if name in ids:
            case.path_parameters[name] = ids[name]
    for found in (case.query, case.body):  # a site_id of the wrong type stays as it is
        if isinstance(found, dict) and isinstance(found.get("site_id"), str):
            found["site_id"] = SHOP


@pytest.mark.parametrize(("method", "path", "mode"), with_modes(DOCUMENT, OPERATIONS))
def test_every_operation_of_the_document(tmp_path, request, method, path, mode):
    world, ids, credentials = _world(tmp_path)
    assert world.client.simulate_get("/api/v1/openapi.json").json == DOCUMENT
    sent = Sent(request.node.nodeid)
    examples = EXAMPLES[mode] * (2 if "/reports/" in path or "/jobs" in path else 1)

    @fuzz(examples)
    @given(cases(LOADED, method, path, mode), st.sampled_from(credentials), st.booleans())
    def run(case, credential, real_ids):
        _real_ids(case, ids, real_ids)
        headers, cookies = credential or (None, None)
        kwargs = request_of(case, headers, cookies)
        result = simulate(world.client, kwargs.pop("method"), kwargs.pop("path"), **kwargs)
        sent.add()
        check(result, f"{kwargs}")

    run()
    assert sent.count >= 1
