"""Authorisation is decided by the resource a request reaches, whatever the path's
spelling: no credentials are 401, unknown routes stay 404, public documents and the
dashboard's pages stay public, and a request authenticated by cookie that changes
something needs the session's CSRF token (bearer-token requests do not)."""

from __future__ import annotations

import pytest

from api.read.principals import LOGIN_HINT
from tests.unit.api.errors import error_body
from tests.unit.api.read.conftest import ADMIN, BLOG_TOKEN, VIEWER

UNAUTHENTICATED = {"title": "authentication_required", "description": LOGIN_HINT}
SPELLINGS = ["/api/v1/sites", "//api/v1/sites", "///api/v1/sites", "/api/v1/sites/",
             "/api%2Fv1%2Fsites", "/api/v1/sites%2F", "/%2Fapi/v1/sites"]


@pytest.mark.parametrize("path", SPELLINGS)
def test_no_spelling_of_a_protected_path_bypasses_authentication(world, path):
    result = world.client.simulate_get(path)
    assert (result.status_code, error_body(result)) == (401, UNAUTHENTICATED)
    assert result.headers["WWW-Authenticate"] == 'Bearer realm="sitelens"'


@pytest.mark.parametrize("path", ["//api/v1/sites/shop.example/members",
                                  "/api/v1/sites/shop.example/members/",
                                  "/api/v1%2Fsites%2Fshop.example%2Fmembers"])
def test_no_spelling_of_an_admin_path_bypasses_the_role_check(world, path):
    viewer = world.signed_in(VIEWER)
    assert world.client.simulate_get(path).status_code == 401
    result = viewer.get(path)
    assert (result.status_code, result.json["title"]) == (403, "forbidden")


@pytest.mark.parametrize("path", [
    "/api/v1/nope", "//api/v1/nope", "/api/v1//sites", "/API/v1/sites", "/api/v2/sites",
    "/api/v1/sites/shop.example/members/a%2Fb/c",
    "/api/v1/share/x%2F..%2F..%2Fsites",  # decoded, but not a route: never the public one
    "/api/v1/openapi.json/../sites", "/api/v1/share/x/unlock/../../sites"])
def test_unknown_routes_are_404_however_spelled(world, path):
    assert world.client.simulate_get(path).status_code == 404
    assert world.signed_in(ADMIN).get(path).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "//api/v1/openapi.json",
                                  "/api/v1/schemas/query-1-0-0.json", "/tableau"])
def test_documents_are_public(world, path):
    assert world.client.simulate_get(path).status_code == 200


def test_the_dashboards_pages_are_public(world):
    assert world.client.simulate_get("/").status_code == 302
    # 200 with a built dashboard/dist, 503 dashboard_not_built without: never 401
    for path in ("/dashboard/", "/dashboard/shop.example/realtime", "/share/abc.def"):
        assert world.client.simulate_get(path).status_code in (200, 503), path


def test_healthz_is_public(world):
    assert world.client.simulate_get("/healthz").status_code == 503  # no Cassandra here


def test_tokens_read_their_sites_and_are_viewers(world):
    auth = {"Authorization": f"Bearer {BLOG_TOKEN}"}
    result = world.client.simulate_get("/api/v1/sites", headers=auth)
    assert result.json == {"sites": [{"site_id": "blog.example", "domain": "blog.example",
                                      "timezone": "UTC", "goals": [], "role": "viewer"}]}
    shop = world.client.simulate_get("/api/v1/realtime", params={"site_id": "shop.example"},
                                     headers=auth)
    assert (shop.status_code, shop.json["description"]) == (
        403, "this token may not read 'shop.example'")
    patch = world.client.simulate_patch("/api/v1/sites/blog.example/settings",
                                        json={"timezone": "Asia/Tokyo"}, headers=auth)
    assert (patch.status_code, error_body(patch)) == (403, {
        "title": "forbidden", "description":
            "this token is a viewer of 'blog.example'; this needs the admin role"})


@pytest.mark.parametrize(("header", "title"), [
    ("Bearer sl_nope_nope", "invalid_token"), ("Basic YTpi", "token_required"),
    ("Bearer ", "token_required")])
def test_a_wrong_authorization_header_is_refused_even_with_a_session(world, header, title):
    admin = world.signed_in(ADMIN)
    result = admin.get("/api/v1/sites", headers={"Authorization": header})
    assert (result.status_code, result.json["title"]) == (401, title)


def test_cookie_requests_that_change_something_need_the_csrf_token(world):
    admin = world.signed_in(ADMIN)
    path = "/api/v1/sites/shop.example/settings"
    refused = {"title": "csrf_failed", "description": (
        "send the session's csrf_token (from /api/v1/auth/login or /api/v1/auth/me) in the "
        "X-CSRF-Token header")}
    missing = admin.patch(path, {"timezone": "Asia/Tokyo"}, csrf=False)
    assert (missing.status_code, error_body(missing)) == (403, refused)
    wrong = admin.patch(path, {"timezone": "Asia/Tokyo"}, csrf=False,
                        headers={"X-CSRF-Token": admin.csrf[:-1] + "x"})
    assert (wrong.status_code, error_body(wrong)) == (403, refused)
    assert world.sites.get("shop.example").timezone == "Europe/Berlin"
    assert admin.get(path).status_code == 200  # reading needs none
    done = admin.patch(path, {"timezone": "Asia/Tokyo"})
    assert (done.status_code, done.json["timezone"]) == (200, "Asia/Tokyo")


def test_another_sessions_csrf_token_does_not_do(world):
    admin, viewer = world.signed_in(ADMIN), world.signed_in(VIEWER)
    result = admin.patch("/api/v1/sites/shop.example/settings", {"goals": []}, csrf=False,
                         headers={"X-CSRF-Token": viewer.csrf})
    assert (result.status_code, result.json["title"]) == (403, "csrf_failed")


def test_bearer_token_requests_need_no_csrf_token(world):
    result = world.client.simulate_post(
        "/api/v1/reports/aggregate", json={"site_id": "blog.example", "metrics": ["nope"]},
        headers={"Authorization": f"Bearer {BLOG_TOKEN}"})
    assert (result.status_code, result.json["title"]) == (400, "invalid_query")


def test_a_bearer_token_wins_over_a_session_cookie(world):
    admin = world.signed_in(ADMIN)
    result = admin.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {BLOG_TOKEN}"})
    assert result.json["token"] == {"token_id": "blogtoken", "label": "blog tableau"}
