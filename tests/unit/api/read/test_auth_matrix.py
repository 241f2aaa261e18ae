"""Every route of the read API's OpenAPI document, with its path parameters set to the
shop's real ids (a job, a shared link, a member), spelled ``/p``, ``//p``, ``/p/`` and with
encoded slashes, called by whoever may not touch the shop: nobody, a garbage, revoked or
expired token, an ended or garbage session, a revoked shared link, and the blog's token, the
blog's shared link and a person without a role (each of them sends a body that names the
shop). Only 401, 403 and 404 come back. The public routes (login, logout, a shared link's
own page and unlock, the schemas) are the listed exceptions: there no one gets a 5xx.
A control with the right credentials shows each route does answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from api.read.app import API_VERSION
from api.read.openapi import document
from api.read.tables import TABLES
from tests.unit.api.read.conftest import (
    ADMIN,
    ALL_TOKEN,
    BLOG_TOKEN,
    EXPIRED_TOKEN,
    OUTSIDER,
    PASSWORD,
    REVOKED_TOKEN,
    make_full_world,
)

DOCUMENT = document(API_VERSION)
ROUTES = sorted((method.upper(), path) for path, item in DOCUMENT["paths"].items()
                for method in item if method != "parameters")
PUBLIC = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/logout"),
          ("GET", "/api/v1/share/{secret}"), ("POST", "/api/v1/share/{secret}/unlock"),
          ("GET", "/api/v1/schemas/query-1-0-0.json")}
SITE_FREE = {("GET", "/api/v1/sites"), ("GET", "/api/v1/export/tables"),
             ("GET", "/api/v1/auth/me"), ("POST", "/api/v1/auth/password")}
"""Routes about the caller, not about a site: another site's principal may get an answer
(its own sites, the table definitions), which must not mention the shop."""
SHOP = "shop.example"
BLOGGER = "bo@example.com"
BODIES = {
    "/api/v1/reports/": {"site_id": SHOP, "date_range": "7d", "dimensions": ["page"]},
    "/api/v1/jobs": {"site_id": SHOP, "kind": "breakdown", "start": "2026-11-01",
                     "end": "2026-11-02", "dimension": "page"},
    "/settings": {"timezone": "Asia/Tokyo"},
    "/members": {"email": OUTSIDER, "role": "admin"},
    "/shared-links": {"label": "mine now"},
    "/auth/login": {"email": ADMIN, "password": "not the password"},
    "/auth/password": {"current_password": PASSWORD, "new_password": "x" * 20},
    "/unlock": {"password": "not the password"},
}
QUERY = {"site_id": SHOP, "start": "2026-11-01", "end": "2026-11-02",
         "date_range": "7d", "tables": "pages", "dimension": "page"}


def test_the_public_and_site_free_routes_are_what_the_document_says():
    public = {(m.upper(), p) for p, item in DOCUMENT["paths"].items()
              for m, op in item.items() if m != "parameters" and op.get("security") == []}
    assert public == PUBLIC
    assert SITE_FREE <= set(ROUTES)


@dataclass
class Shop:
    """The shop's real ids, made through the API."""

    job_id: str
    link_id: str
    secret: str


def _shop(world) -> Shop:
    every = {"Authorization": f"Bearer {ALL_TOKEN}"}
    job = world.client.simulate_post("/api/v1/jobs", json=BODIES["/api/v1/jobs"],
                                     headers=every).json
    world.jobs.succeed(job["job_id"], ["page", "visitors"], [["/", 1]])
    admin = world.signed_in(ADMIN)
    link = admin.post(f"/api/v1/sites/{SHOP}/shared-links", {"label": "board"}).json
    return Shop(job["job_id"], link["link_id"], link["url"].rsplit("/", 1)[1])


def _callers(world) -> tuple[dict[str, dict], dict[str, dict]]:
    """name -> headers/cookies of someone who may not touch the shop: those of no site,
    and those of another site."""
    admin = world.signed_in(ADMIN)
    world.accounts.create_user(BLOGGER, PASSWORD, world.clock())
    world.accounts.grant(BLOGGER, "blog.example", "admin", world.clock())
    blog_link = world.signed_in(BLOGGER).post("/api/v1/sites/blog.example/shared-links",
                                              {"label": "b"})
    ended = world.signed_in(ADMIN)
    ended_cookie = dict(ended.cookies)
    assert ended.post("/api/v1/auth/logout").status_code == 204
    revoked = admin.post(f"/api/v1/sites/{SHOP}/shared-links", {"label": "old"}).json
    assert admin.delete(f"/api/v1/sites/{SHOP}/shared-links/{revoked['link_id']}") \
        .status_code == 204
    outsider, blogger = world.signed_in(OUTSIDER), world.signed_in(BLOGGER)
    callers = {
        "nobody": {},
        "garbage token": {"headers": {"Authorization": "Bearer sl_garbage_garbage"}},
        "not a bearer token": {"headers": {"Authorization": "Basic YWRhOnB3"}},
        "revoked token": {"headers": {"Authorization": f"Bearer {REVOKED_TOKEN}"}},
        "expired token": {"headers": {"Authorization": f"Bearer {EXPIRED_TOKEN}"}},
        "garbage session": {"cookies": {"sl_session": "garbage"}},
        "ended session": {"cookies": ended_cookie},
        "revoked shared link": {"headers": {"X-Share-Token": revoked["url"].rsplit("/")[-1]}},
        "garbage shared link": {"headers": {"X-Share-Token": "x.y"}},
    }
    other_site = {
        "blog token": {"headers": {"Authorization": f"Bearer {BLOG_TOKEN}"}},
        "blog admin": {"cookies": dict(blogger.cookies),
                       "headers": {"X-CSRF-Token": blogger.csrf}},
        "blog shared link": {"headers": {"X-Share-Token":
                                         blog_link.json["url"].rsplit("/")[-1]}},
        "person without a role": {"cookies": dict(outsider.cookies),
                                  "headers": {"X-CSRF-Token": outsider.csrf}},
    }
    return callers, other_site


def _paths(path: str, shop: Shop) -> list[str]:
    """The route with its parameters set to the shop's ids (each table, each suffix)."""
    tables = [*TABLES, "pages.hyper"] if "{table}" in path else [None]
    found = []
    for table in tables:
        found.append(re.sub(r"{(\w+)}", lambda m, t=table: {
            "site_id": SHOP, "email": ADMIN, "link_id": shop.link_id, "job_id": shop.job_id,
            "secret": shop.secret, "table": t}[m.group(1)], path))
    return found


def spellings(path: str) -> list[str]:
    inner = path[1:]
    head, _, last = path.rpartition("/")
    return [path, "/" + path, path + "/", "/" + inner.replace("/", "%2F"),
            f"{head}%2F{last}", "/%2F" + inner, "//" + inner + "/"]


def _body(path: str):
    for marker, body in BODIES.items():
        if marker in path:
            return body
    return None


def _call(world, method: str, route: str, spelled: str, caller: dict):
    return world.client.simulate_request(
        method, spelled, params=QUERY, json=_body(route) if method in ("POST", "PATCH")
        else None, headers=caller.get("headers"), cookies=caller.get("cookies"))


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_nobody_reaches_the_shop_without_its_credentials(tmp_path, method, route):
    world = make_full_world(tmp_path)
    shop = _shop(world)
    callers, other_site = _callers(world)
    if (method, route) not in SITE_FREE:
        callers.update(other_site)
    answers = {}
    for path in _paths(route, shop):
        for spelled in spellings(path):
            for name, caller in callers.items():
                answers[(spelled, name)] = _call(world, method, route, spelled,
                                                 caller).status_code
    if (method, route) in PUBLIC:
        assert all(status < 500 for status in answers.values()), answers
        return
    wrong = {key: status for key, status in answers.items() if status not in (401, 403, 404)}
    assert wrong == {}
    assert world.sites.get(SHOP).timezone == "Europe/Berlin"
    assert ADMIN in {m.email for m in world.accounts.members(SHOP)}
    assert [link.revoked_at for link in world.links.for_site(SHOP)
            if link.link_id == shop.link_id] == [None]


@pytest.mark.parametrize(("method", "route"), sorted(SITE_FREE))
def test_another_sites_principal_learns_nothing_of_the_shop(tmp_path, method, route):
    world = make_full_world(tmp_path)
    _, other_site = _callers(world)
    for name, caller in other_site.items():
        for spelled in spellings(route):
            result = _call(world, method, route, spelled, caller)
            assert result.status_code < 500, (name, spelled)
            assert SHOP not in result.text, (name, spelled, result.text)


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_with_the_right_credentials_every_route_answers(tmp_path, method, route):
    world = make_full_world(tmp_path)
    shop = _shop(world)
    admin = world.signed_in(ADMIN)
    for path in _paths(route, shop):
        result = admin.request(method, f"{path}?{urlencode(QUERY)}", json=_body(path)
                               if method in ("POST", "PATCH") else None)
        assert 200 <= result.status_code < 300 or (route, result.json["title"]) in {
            ("/api/v1/auth/login", "invalid_credentials"),  # the wrong password we sent
            ("/api/v1/auth/password", "invalid_credentials"),
            ("/api/v1/share/{secret}/unlock", "invalid_password"),
            ("/api/v1/sites/{site_id}/members/{email}", "last_admin"),  # the shop's admin
        }, (path, result.status_code, result.text[:300])
