"""A site's settings and members through the API: viewers read the settings, only admins
change them or manage members, every invalid value is a 400 with the field named, and a
site keeps at least one admin."""

from __future__ import annotations

import pytest

from analytics.sites import Site
from tests.unit.api.errors import error_body
from tests.unit.api.read.conftest import ADMIN, ALL_TOKEN, OUTSIDER, PASSWORD, VIEWER

SETTINGS = "/api/v1/sites/shop.example/settings"
MEMBERS = "/api/v1/sites/shop.example/members"
STORED = {"site_id": "shop.example", "domain": "shop.example", "allowed_origins": [],
          "timezone": "Europe/Berlin", "goals": ["signup"], "retention_days": None}
GRANTED = "2026-12-01T12:00:00.000Z"


def test_members_read_the_settings_outsiders_do_not(world):
    assert world.signed_in(VIEWER).get(SETTINGS).json == STORED
    assert world.signed_in(ADMIN).get(SETTINGS).json == STORED
    result = world.signed_in(OUTSIDER).get(SETTINGS)
    assert (result.status_code, error_body(result)) == (403, {
        "title": "forbidden", "description": "otto@example.com may not read 'shop.example'"})


def test_a_viewer_cannot_change_settings(world):
    result = world.signed_in(VIEWER).patch(SETTINGS, {"timezone": "Asia/Tokyo"})
    assert (result.status_code, error_body(result)) == (403, {
        "title": "forbidden",
        "description": "vic@example.com is a viewer of 'shop.example'; this needs the admin "
                       "role"})
    assert world.sites.get("shop.example").timezone == "Europe/Berlin"


def test_an_admin_changes_settings(world):
    world.sites.save(Site(site_id="shop.example", domain="shop.example",
                          timezone="Europe/Berlin", goals=frozenset({"signup"}),
                          mp_secret_hash="abc", client_id_opt_in=True))
    admin = world.signed_in(ADMIN)
    assert admin.get("/api/v1/realtime?site_id=shop.example").json["timezone"] == \
        "Europe/Berlin"  # cached now
    result = admin.patch(SETTINGS, {
        "domain": " Shop.Example ", "allowed_origins": ["https://WWW.shop.example",
                                                       "http://localhost:8000"],
        "timezone": "Asia/Kathmandu", "goals": ["signup", "/pricing", "signup"],
        "retention_days": 400})
    assert (result.status_code, result.json) == (200, {
        "site_id": "shop.example", "domain": "shop.example",
        "allowed_origins": ["http://localhost:8000", "https://www.shop.example"],
        "timezone": "Asia/Kathmandu", "goals": ["/pricing", "signup"], "retention_days": 400})
    assert world.sites.get("shop.example") == Site(
        site_id="shop.example", domain="shop.example", timezone="Asia/Kathmandu",
        goals=frozenset({"signup", "/pricing"}), retention_days=400,
        allowed_origins=frozenset({"https://www.shop.example", "http://localhost:8000"}),
        mp_secret_hash="abc", client_id_opt_in=True)  # what the API does not show stays
    realtime = world.signed_in(ADMIN).get("/api/v1/realtime?site_id=shop.example")
    assert realtime.json["timezone"] == "Asia/Kathmandu"  # the worker's cache forgot it
    again = world.signed_in(ADMIN).patch(SETTINGS, {"retention_days": None})
    assert again.json["retention_days"] is None and again.json["timezone"] == "Asia/Kathmandu"


@pytest.mark.parametrize(("change", "reason"), [
    ({"timezone": "Mars/Base"}, "timezone: 'Mars/Base' is not an IANA time zone like "
                                "Europe/Berlin"),
    ({"timezone": "../../etc/passwd"}, "timezone: '../../etc/passwd' is not an IANA time "
                                       "zone like Europe/Berlin"),
    ({"timezone": 1}, "timezone: 1 is not an IANA time zone like Europe/Berlin"),
    ({"retention_days": 0}, "retention_days: 0 is not a whole number of days from 1 to "
                            "36600, or null (keep forever)"),
    ({"retention_days": True}, "retention_days: True is not a whole number of days from 1 "
                               "to 36600, or null (keep forever)"),
    ({"retention_days": 1.5}, "retention_days: 1.5 is not a whole number of days from 1 to "
                              "36600, or null (keep forever)"),
    ({"goals": "signup"}, "goals: a list of at most 100 event names or paths"),
    ({"goals": [""]}, "goals: '' is not an event name or path (1-200 characters)"),
    ({"goals": [7]}, "goals: 7 is not an event name or path (1-200 characters)"),
    ({"allowed_origins": ["https://x.example/path"]},
     "allowed_origins: 'https://x.example/path' is not an origin like "
     "https://www.example.com"),
    ({"allowed_origins": ["ftp://x.example"]},
     "allowed_origins: 'ftp://x.example' is not an origin like https://www.example.com"),
    ({"domain": "not a host"}, "domain: 'not a host' is not a host name like example.com"),
    ({"domain": None}, "domain: None is not a host name like example.com"),
    ({"colour": "red", "timezone": "UTC"}, "colour: not a setting; settings: domain, "
                                           "allowed_origins, timezone, goals, retention_days"),
    ({}, "body: give at least one of domain, allowed_origins, timezone, goals, "
         "retention_days"),
])
def test_invalid_settings_are_refused_with_the_field(world, change, reason):
    result = world.signed_in(ADMIN).patch(SETTINGS, change)
    assert (result.status_code, error_body(result)) == (400, {"title": "invalid_settings",
                                                       "description": reason})
    assert world.sites.get("shop.example").timezone == "Europe/Berlin"


def test_an_unknown_site_is_404_only_for_who_may_read_every_site(world):
    every = world.client.simulate_get("/api/v1/sites/nope.example/settings",
                                      headers={"Authorization": f"Bearer {ALL_TOKEN}"})
    assert (every.status_code, error_body(every)) == (404, {"title": "unknown_site",
                                                     "description": "no site 'nope.example'"})
    admin = world.signed_in(ADMIN).get("/api/v1/sites/nope.example/settings")
    assert (admin.status_code, admin.json["title"]) == (403, "forbidden")


def test_admins_list_add_change_and_remove_members(world):
    admin = world.signed_in(ADMIN)
    assert admin.get(MEMBERS).json == {"members": [
        {"email": ADMIN, "role": "admin", "granted_at": GRANTED},
        {"email": VIEWER, "role": "viewer", "granted_at": GRANTED}]}
    world.clock.advance(minutes=5)
    added = admin.post(MEMBERS, {"email": " Otto@Example.com", "role": "viewer"})
    assert (added.status_code, added.json) == (201, {
        "email": OUTSIDER, "role": "viewer", "granted_at": "2026-12-01T12:05:00.000Z"})
    outsider = world.signed_in(OUTSIDER)
    assert [s["role"] for s in outsider.get("/api/v1/auth/me").json["sites"]] == ["viewer"]
    changed = admin.post(MEMBERS, {"email": OUTSIDER, "role": "admin"})
    assert (changed.status_code, changed.json["role"]) == (200, "admin")
    assert outsider.get(SETTINGS).status_code == 200
    assert outsider.patch(SETTINGS, {"goals": []}).status_code == 200  # an admin now
    removed = admin.delete(f"{MEMBERS}/{OUTSIDER}")
    assert removed.status_code == 204
    assert outsider.get(SETTINGS).status_code == 403  # roles are read on every request
    again = admin.delete(f"{MEMBERS}/{OUTSIDER}")
    assert (again.status_code, error_body(again)) == (404, {
        "title": "unknown_member",
        "description": "otto@example.com is not a member of 'shop.example'"})


@pytest.mark.parametrize(("body", "status", "answer"), [
    ({"email": "new@example.com", "role": "viewer"}, 404, {
        "title": "unknown_user", "description": "no user new@example.com; an operator "
        "creates accounts with `python -m api.manage user create`"}),
    ({"email": OUTSIDER, "role": "owner"}, 400, {
        "title": "invalid_role", "description": "role: 'owner' is not one of viewer, admin"}),
    ({"email": "not-an-address", "role": "viewer"}, 400, {
        "title": "invalid_email", "description": "email: 'not-an-address' is not an e-mail "
                                                 "address"}),
    ({"email": ["x"], "role": "viewer"}, 400, {
        "title": "invalid_email", "description": "email: ['x'] is not an e-mail address"}),
    ({"role": "viewer"}, 400, {
        "title": "invalid_email", "description": "email: None is not an e-mail address"}),
])
def test_adding_a_member_is_refused_with_a_reason(world, body, status, answer):
    result = world.signed_in(ADMIN).post(MEMBERS, body)
    assert (result.status_code, error_body(result)) == (status, answer)


def test_a_site_keeps_its_last_admin(world):
    admin = world.signed_in(ADMIN)
    last = {"title": "last_admin", "description":
            "ada@example.com is the last admin of 'shop.example'; make someone else admin first"}
    removed = admin.delete(f"{MEMBERS}/{ADMIN}")
    assert (removed.status_code, error_body(removed)) == (409, last)
    demoted = admin.post(MEMBERS, {"email": ADMIN, "role": "viewer"})
    assert (demoted.status_code, error_body(demoted)) == (409, last)
    assert admin.post(MEMBERS, {"email": VIEWER, "role": "admin"}).status_code == 200
    assert admin.delete(f"{MEMBERS}/{ADMIN}").status_code == 204
    assert world.accounts.roles(ADMIN) == {}


def test_viewers_do_not_see_or_manage_members(world):
    viewer = world.signed_in(VIEWER)
    for result in (viewer.get(MEMBERS), viewer.post(MEMBERS, {"email": OUTSIDER,
                                                              "role": "admin"}),
                   viewer.delete(f"{MEMBERS}/{ADMIN}")):
        assert (result.status_code, result.json["title"]) == (403, "forbidden")
    assert world.accounts.roles(OUTSIDER) == {}
    assert world.browser().login(ADMIN, PASSWORD).status_code == 200
