"""People's logins: one answer for an unknown address and a wrong password, throttling per
account and per client address, the session cookie's flags, logout, session expiry,
``/auth/me`` for each kind of principal, and password changes ending other sessions."""

from __future__ import annotations

import pytest

from analytics.config import Config
from tests.unit.api.errors import error_body
from tests.unit.api.read.conftest import ADMIN, BLOG_TOKEN, OUTSIDER, PASSWORD, VIEWER, make_world

WRONG = {"title": "invalid_credentials", "description": "wrong e-mail address or password"}
SHOP = {"site_id": "shop.example", "domain": "shop.example", "timezone": "Europe/Berlin",
        "goals": ["signup"]}
BLOG = {"site_id": "blog.example", "domain": "blog.example", "timezone": "UTC", "goals": []}


def test_login_answers_the_user_and_a_csrf_token_and_sets_the_session_cookie(world):
    browser = world.browser()
    result = browser.login("  Ada@Example.COM ", PASSWORD)
    assert result.status_code == 200
    assert result.json == {"user": {"email": ADMIN}, "csrf_token": browser.csrf}
    assert len(browser.csrf) == 43 and result.headers["Cache-Control"] == "no-store"
    cookie = result.cookies["sl_session"]
    assert (cookie.http_only, cookie.same_site, cookie.secure, cookie.path, cookie.max_age) \
        == (True, "Lax", False, "/", 14 * 86400)
    session = world.sessions.get(next(iter(world.sessions.rows)))
    assert cookie.value not in world.sessions.rows  # stored as its hash only
    assert (session.email, session.csrf_token) == (ADMIN, browser.csrf)


def test_the_cookie_is_secure_over_https(world):
    result = world.browser(https=True).login(ADMIN, PASSWORD)
    assert result.cookies["sl_session"].secure is True


@pytest.mark.parametrize(("trusted", "secure"), [(False, False), (True, True)])
def test_x_forwarded_proto_counts_only_when_trusted(trusted, secure):
    world = make_world(Config().replace(read_trust_proxy_headers=trusted))
    browser = world.browser()
    browser.headers["X-Forwarded-Proto"] = "https"
    assert browser.login(ADMIN, PASSWORD).cookies["sl_session"].secure is secure


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(world):
    wrong = world.browser().login(ADMIN, "not the password")
    unknown = world.browser().login("nobody@example.com", PASSWORD)
    malformed = world.browser().login("nobody", PASSWORD)
    for result in (wrong, unknown, malformed):
        assert (result.status_code, error_body(result)) == (401, WRONG)
        assert "sl_session" not in result.cookies


def test_an_account_is_throttled_after_five_failures_even_for_the_right_password(world):
    for n in range(5):  # from five addresses: the account's own limit
        assert world.browser(remote_addr=f"203.0.113.{n}").login(
            ADMIN, "guess " + str(n)).status_code == 401
    refused = world.browser(remote_addr="192.0.2.1").login(ADMIN, PASSWORD)
    assert (refused.status_code, refused.json["title"]) == (429, "too_many_attempts")
    assert refused.headers["Retry-After"] == "900"
    assert refused.json["description"] == "too many failed attempts; try again in 900 s"
    world.clock.advance(seconds=899)
    assert world.browser().login(ADMIN, PASSWORD).headers["Retry-After"] == "1"
    world.clock.advance(seconds=1)
    assert world.browser().login(ADMIN, PASSWORD).status_code == 200
    assert world.browser().login(VIEWER, PASSWORD).status_code == 200  # others never were


def test_a_client_address_is_throttled_after_twenty_failures(world):
    for n in range(20):
        assert world.browser().login(f"guess{n}@example.com", PASSWORD).status_code == 401
    refused = world.browser().login(ADMIN, PASSWORD)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "900")
    assert world.browser(remote_addr="192.0.2.9").login(ADMIN, PASSWORD).status_code == 200


def test_a_successful_login_forgets_the_accounts_failures(world):
    for _ in range(4):
        world.browser(remote_addr="192.0.2.1").login(ADMIN, "wrong password")
    assert world.browser(remote_addr="192.0.2.2").login(ADMIN, PASSWORD).status_code == 200
    for _ in range(4):
        world.browser(remote_addr="192.0.2.3").login(ADMIN, "wrong password")
    assert world.browser(remote_addr="192.0.2.4").login(ADMIN, PASSWORD).status_code == 200


def test_logout_ends_the_session_and_clears_the_cookie(world):
    admin = world.signed_in(ADMIN)
    old = dict(admin.cookies)
    refused = admin.post("/api/v1/auth/logout", {}, csrf=False)
    assert (refused.status_code, refused.json["title"]) == (403, "csrf_failed")
    result = admin.post("/api/v1/auth/logout", {})
    assert result.status_code == 204 and result.cookies["sl_session"].value == ""
    assert world.sessions.rows == {} and admin.cookies == {}
    admin.cookies = old
    ended = admin.get("/api/v1/auth/me")
    assert (ended.status_code, error_body(ended)) == (401, {
        "title": "session_expired", "description": "the session ended or expired; log in again"})
    assert ended.cookies["sl_session"].value == ""  # the stale cookie is cleared
    assert world.browser().post("/api/v1/auth/logout").status_code == 204  # nothing to end


def test_a_session_expires_with_its_ttl(world):
    admin = world.signed_in(ADMIN)
    world.clock.advance(seconds=14 * 86400 - 1)
    assert admin.get("/api/v1/auth/me").status_code == 200
    world.clock.advance(seconds=1)
    assert admin.get("/api/v1/auth/me").json["title"] == "session_expired"


def test_me_of_a_person_lists_their_sites_with_roles(world):
    viewer = world.signed_in(VIEWER)
    assert viewer.get("/api/v1/auth/me").json == {
        "user": {"email": VIEWER}, "csrf_token": viewer.csrf,
        "sites": [{**BLOG, "role": "viewer"}, {**SHOP, "role": "viewer"}]}
    assert viewer.get("/api/v1/sites").json == {
        "sites": [{**BLOG, "role": "viewer"}, {**SHOP, "role": "viewer"}]}
    outsider = world.signed_in(OUTSIDER)
    assert outsider.get("/api/v1/auth/me").json["sites"] == []
    assert outsider.get("/api/v1/sites").json == {"sites": []}


def test_me_of_a_token(world):
    result = world.client.simulate_get("/api/v1/auth/me",
                                       headers={"Authorization": f"Bearer {BLOG_TOKEN}"})
    assert result.json == {"token": {"token_id": "blogtoken", "label": "blog tableau"},
                           "sites": [{**BLOG, "role": "viewer"}]}


def test_a_password_change_ends_the_other_sessions(world):
    here, there = world.signed_in(VIEWER), world.signed_in(VIEWER)
    change = {"current_password": PASSWORD, "new_password": "a brand new secret"}
    assert here.post("/api/v1/auth/password", change, csrf=False).status_code == 403
    assert here.post("/api/v1/auth/password", change).status_code == 204
    assert here.get("/api/v1/auth/me").status_code == 200
    assert there.get("/api/v1/auth/me").json["title"] == "session_expired"
    assert error_body(world.browser().login(VIEWER, PASSWORD)) == WRONG
    assert world.browser().login(VIEWER, "a brand new secret").status_code == 200


@pytest.mark.parametrize(("body", "status", "answer"), [
    ({"current_password": "wrong password", "new_password": "a brand new secret"}, 403,
     {"title": "invalid_credentials", "description": "the current password is wrong"}),
    ({"current_password": PASSWORD, "new_password": "short"}, 400,
     {"title": "weak_password", "description": "new_password: at least 10 characters"}),
    ({"current_password": PASSWORD}, 400,
     {"title": "invalid_request", "description": "new_password: required, a string"}),
])
def test_a_password_change_is_refused_with_a_reason(world, body, status, answer):
    viewer = world.signed_in(VIEWER)
    result = viewer.post("/api/v1/auth/password", body)
    assert (result.status_code, error_body(result)) == (status, answer)
    assert world.browser().login(VIEWER, PASSWORD).status_code == 200


def test_wrong_current_passwords_are_throttled(world):
    viewer = world.signed_in(VIEWER)
    for _ in range(5):
        viewer.post("/api/v1/auth/password", {"current_password": "wrong password",
                                              "new_password": "a brand new secret"})
    result = viewer.post("/api/v1/auth/password", {"current_password": PASSWORD,
                                                   "new_password": "a brand new secret"})
    assert (result.status_code, result.headers["Retry-After"]) == (429, "900")


def test_only_people_change_passwords(world):
    result = world.client.simulate_post(
        "/api/v1/auth/password", json={"current_password": "x", "new_password": "y"},
        headers={"Authorization": f"Bearer {BLOG_TOKEN}"})
    assert (result.status_code, error_body(result)) == (403, {
        "title": "forbidden", "description": "this token has no password; log in as a person"})
