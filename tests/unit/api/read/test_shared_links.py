"""Shared links: made by an admin (the secret shown once), opened by anyone with the
secret, read-only and for one site, a password unlocks them (throttled like logins) by an
HttpOnly cookie, and a revoked link is 404 ``unknown_link`` everywhere."""

from __future__ import annotations

import re

import pytest

from tests.unit.api.errors import error_body
from tests.unit.api.read.conftest import ADMIN, VIEWER

LINKS = "/api/v1/sites/shop.example/shared-links"
SHOP = {"site_id": "shop.example", "domain": "shop.example", "timezone": "Europe/Berlin",
        "goals": ["signup"]}
GONE = {"title": "unknown_link", "description": "this shared link was revoked or never existed"}
NOW = "2026-12-01T12:00:00.000Z"


def make_link(world, **body) -> tuple[str, dict]:
    result = world.signed_in(ADMIN).post(LINKS, {"label": "Press", **body})
    assert result.status_code == 201, result.json
    return result.json["url"].removeprefix("/share/"), result.json


def test_an_admin_makes_a_link_and_sees_its_secret_once(world):
    secret, made = make_link(world)
    link_id = made["link_id"]
    assert re.fullmatch(r"[0-9a-f]{12}", link_id)
    assert re.fullmatch(rf"{link_id}\.[A-Za-z0-9_-]{{43}}", secret)
    assert made == {"link_id": link_id, "label": "Press", "password_protected": False,
                    "created_at": NOW, "url": f"/share/{secret}"}
    assert secret not in repr(world.links.links)  # stored as its hash
    listed = world.signed_in(ADMIN).get(LINKS).json
    assert listed == {"links": [{"link_id": link_id, "label": "Press",
                                 "password_protected": False, "created_at": NOW,
                                 "revoked_at": None}]}


def test_anyone_with_the_secret_opens_the_link_and_reads_its_site_only(world):
    secret, made = make_link(world)
    opened = world.client.simulate_get(f"/api/v1/share/{secret}")
    assert (opened.status_code, opened.json) == (200, {
        "site": SHOP, "password_required": False, "unlocked": True})
    share = world.browser()
    share.headers["X-Share-Token"] = secret
    assert share.get("/api/v1/auth/me").json == {
        "share": {"link_id": made["link_id"], "site_id": "shop.example", "label": "Press"},
        "sites": [{**SHOP, "role": None}]}
    assert share.get("/api/v1/sites").json == {"sites": [{**SHOP, "role": None}]}
    realtime = share.get("/api/v1/realtime?site_id=shop.example")
    assert (realtime.status_code, realtime.json) == (200, {
        "site_id": "shop.example", "timezone": "Europe/Berlin", "minutes": []})
    blog = share.get("/api/v1/realtime?site_id=blog.example")
    assert (blog.status_code, blog.json["description"]) == (
        403, "this shared link may not read 'blog.example'")
    settings = share.get("/api/v1/sites/shop.example/settings")
    assert (settings.status_code, settings.json["description"]) == (
        403, "this shared link may not read the settings of 'shop.example'")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/v1/reports/aggregate", {"site_id": "shop.example"}),
    ("POST", "/api/v1/jobs", {"site_id": "shop.example"}),
    ("PATCH", "/api/v1/sites/shop.example/settings", {"timezone": "UTC"}),
    ("POST", "/api/v1/sites/shop.example/members", {"email": VIEWER, "role": "admin"}),
    ("DELETE", "/api/v1/sites/shop.example/members/vic@example.com", None),
    ("POST", LINKS, {"label": "mine now"}),
    ("POST", "/api/v1/auth/password", {"current_password": "x", "new_password": "y"}),
    ("PUT", "/api/v1/sites/shop.example/settings", {"timezone": "UTC"}),
])
def test_a_shared_link_changes_nothing(world, method, path, body):
    secret, _ = make_link(world)
    viewer = world.signed_in(VIEWER)  # a session alongside does not lend its rights
    result = viewer.request(method, path, json=body, headers={"X-Share-Token": secret})
    assert (result.status_code, error_body(result)) == (403, {
        "title": "forbidden", "description": "a shared link can only read"})
    assert world.sites.get("shop.example").timezone == "Europe/Berlin"
    assert world.accounts.roles(VIEWER)["shop.example"] == "viewer"


def test_a_password_protected_link_needs_unlocking(world):
    secret, made = make_link(world, password="open sesame!")
    assert made["password_protected"] is True
    link_id = made["link_id"]
    browser = world.browser()
    assert browser.get(f"/api/v1/share/{secret}").json == {
        "site": SHOP, "password_required": True, "unlocked": False}
    browser.headers["X-Share-Token"] = secret
    locked = browser.get("/api/v1/realtime?site_id=shop.example")
    assert (locked.status_code, error_body(locked)) == (401, {
        "title": "link_locked", "description": "this shared link has a password: POST it to "
                                               "/api/v1/share/{secret}/unlock first"})
    wrong = browser.post(f"/api/v1/share/{secret}/unlock", {"password": "open sesame?"})
    assert (wrong.status_code, error_body(wrong)) == (401, {
        "title": "invalid_password", "description": "wrong password for this link"})
    unlocked = browser.post(f"/api/v1/share/{secret}/unlock", {"password": "open sesame!"})
    assert unlocked.status_code == 204
    cookie = unlocked.cookies[f"sl_share_{link_id}"]
    assert (cookie.http_only, cookie.same_site, cookie.secure, cookie.path, cookie.max_age) \
        == (True, "Lax", False, "/", 86400)
    assert browser.get(f"/api/v1/share/{secret}").json["unlocked"] is True
    assert browser.get("/api/v1/realtime?site_id=shop.example").status_code == 200
    other = world.browser()  # another browser has no unlock cookie
    other.headers["X-Share-Token"] = secret
    assert other.get("/api/v1/realtime?site_id=shop.example").status_code == 401


def test_over_https_the_unlock_cookie_works_in_an_embedding_page(world):
    secret, made = make_link(world, password="open sesame!")
    result = world.browser(https=True).post(f"/api/v1/share/{secret}/unlock",
                                            {"password": "open sesame!"})
    cookie = result.cookies[f"sl_share_{made['link_id']}"]
    assert (cookie.http_only, cookie.same_site, cookie.secure) == (True, "None", True)
    assert "Partitioned" in result.headers["Set-Cookie"]


def test_unlocking_is_throttled_like_logins(world):
    secret, _ = make_link(world, password="open sesame!")
    for n in range(5):
        assert world.browser(remote_addr=f"203.0.113.{n}").post(
            f"/api/v1/share/{secret}/unlock", {"password": f"guess {n}"}).status_code == 401
    refused = world.browser().post(f"/api/v1/share/{secret}/unlock",
                                   {"password": "open sesame!"})
    assert (refused.status_code, refused.json["title"], refused.headers["Retry-After"]) == (
        429, "too_many_attempts", "900")
    world.clock.advance(seconds=900)
    assert world.browser().post(f"/api/v1/share/{secret}/unlock",
                                {"password": "open sesame!"}).status_code == 204


def test_a_revoked_link_is_404_everywhere(world):
    secret, made = make_link(world)
    admin = world.signed_in(ADMIN)
    world.clock.advance(hours=1)
    assert admin.delete(f"{LINKS}/{made['link_id']}").status_code == 204
    assert admin.delete(f"{LINKS}/{made['link_id']}").status_code == 204  # idempotent
    assert admin.get(LINKS).json["links"][0]["revoked_at"] == "2026-12-01T13:00:00.000Z"
    for result in (world.client.simulate_get(f"/api/v1/share/{secret}"),
                   world.client.simulate_post(f"/api/v1/share/{secret}/unlock",
                                              json={"password": "x"}),
                   world.client.simulate_get("/api/v1/realtime?site_id=shop.example",
                                             headers={"X-Share-Token": secret}),
                   world.client.simulate_get("/api/v1/auth/me",
                                             headers={"X-Share-Token": secret})):
        assert (result.status_code, error_body(result)) == (404, GONE)


@pytest.mark.parametrize("secret", ["nope", "abc.def", "", "a" * 300])
def test_unknown_secrets_are_404(world, secret):
    real, made = make_link(world)
    wrong = f"{made['link_id']}.{'x' * 43}"
    for raw in (secret, wrong):
        result = world.client.simulate_get("/api/v1/auth/me", headers={"X-Share-Token": raw})
        assert (result.status_code, error_body(result)) == (404, GONE)
    if secret:
        assert world.client.simulate_get(f"/api/v1/share/{secret}").status_code == 404


def test_revoking_a_link_of_no_such_id_is_404(world):
    result = world.signed_in(ADMIN).delete(f"{LINKS}/0123456789ab")
    assert (result.status_code, error_body(result)) == (404, {
        "title": "unknown_link", "description": "'shop.example' has no shared link "
                                                "'0123456789ab'"})


@pytest.mark.parametrize(("body", "reason"), [
    ({}, "label: a non-empty string is required"),
    ({"label": "  "}, "label: a non-empty string is required"),
    ({"label": "x" * 201}, "label: at most 200 characters"),
    ({"label": "Press", "password": "short"}, "password: at least 10 characters"),
    ({"label": "Press", "password": 1234567890}, "password: must be a string"),
])
def test_invalid_links_are_refused_with_a_reason(world, body, reason):
    result = world.signed_in(ADMIN).post(LINKS, body)
    assert (result.status_code, error_body(result)) == (400, {"title": "invalid_link",
                                                       "description": reason})


def test_viewers_do_not_manage_links(world):
    viewer = world.signed_in(VIEWER)
    for result in (viewer.get(LINKS), viewer.post(LINKS, {"label": "x"})):
        assert (result.status_code, result.json["title"]) == (403, "forbidden")
    assert world.links.links == {}
