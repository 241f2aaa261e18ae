"""Falcon responders of people's accounts: ``/api/v1/auth/login``, ``/logout``, ``/me`` and
``/password``. Thin: the rules are :mod:`api.read.accounts`; cookies and the client's
address come from :mod:`api.read.auth`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import falcon

from analytics.sites import CachedSites
from api.read import render
from api.read.accounts import Accounts, InvalidCredentials
from api.read.auth import (
    ClientInfo,
    check_csrf,
    clear_session_cookie,
    cookie,
    public,
    set_session_cookie,
)
from api.read.passwords import WeakPassword
from api.read.principals import SESSION_COOKIE
from api.read.resources import bad_request, read_object, readable_sites, site_json
from api.read.throttle import Throttled

WRONG_LOGIN = "wrong e-mail address or password"


def too_many(exc: Throttled) -> falcon.HTTPTooManyRequests:
    return falcon.HTTPTooManyRequests(title="too_many_attempts", description=str(exc),
                                      retry_after=exc.retry_after_s)


def strings(document: dict, *names: str) -> list[str]:
    values = [document.get(name) for name in names]
    missing = [n for n, v in zip(names, values, strict=True) if not isinstance(v, str)]
    if missing:
        raise bad_request(f"{', '.join(missing)}: required, a string", "invalid_request")
    return values


@public(frozenset({"POST"}))
class LoginResource:
    """``POST /api/v1/auth/login`` ``{"email", "password"}``: 200 with the session cookie,
    401 ``invalid_credentials`` (one answer for an unknown address and a wrong
    password), 429 ``too_many_attempts`` with Retry-After."""

    def __init__(self, accounts: Accounts, client: ClientInfo, body_limit: int,
                 session_ttl_s: int, clock: Callable[[], datetime]):
        self.accounts = accounts
        self.client = client
        self.body_limit = body_limit
        self.session_ttl_s = session_ttl_s
        self.clock = clock

    def on_post(self, req, resp):
        email, password = strings(read_object(req, self.body_limit), "email", "password")
        try:
            logged = self.accounts.login(email, password, self.client.address(req),
                                         self.clock())
        except Throttled as exc:
            raise too_many(exc) from None
        except InvalidCredentials:
            raise falcon.HTTPUnauthorized(title="invalid_credentials",
                                          description=WRONG_LOGIN) from None
        set_session_cookie(resp, logged.secret, self.session_ttl_s, self.client.https(req))
        resp.cache_control = ["no-store"]
        render.json_response(resp, {"user": {"email": logged.email},
                                    "csrf_token": logged.session.csrf_token})


@public(frozenset({"POST"}))
class LogoutResource:
    """``POST /api/v1/auth/logout``: 204, the session ended and its cookie cleared (a live
    session needs its X-CSRF-Token; without one there is nothing to end)."""

    def __init__(self, accounts: Accounts, clock: Callable[[], datetime]):
        self.accounts = accounts
        self.clock = clock

    def on_post(self, req, resp):
        found = self.accounts.session(cookie(req, SESSION_COOKIE), self.clock())
        if found is not None:
            check_csrf(req, found.csrf_token)
            self.accounts.logout(found)
        clear_session_cookie(resp)
        resp.status = falcon.HTTP_204


class MeResource:
    """``GET /api/v1/auth/me``: who is asking and the sites they may read."""

    def __init__(self, sites: CachedSites):
        self.sites = sites

    def on_get(self, req, resp):
        principal = req.context.principal
        resp.cache_control = ["no-store"]
        if principal.kind == "share":
            link = principal.link
            site = self.sites.get(link.site_id)
            render.json_response(resp, {
                "share": {"link_id": link.link_id, "site_id": link.site_id,
                          "label": link.label},
                "sites": [site_json(site, None)] if site else []})
            return
        found = {"sites": readable_sites(self.sites, principal)}
        if principal.kind == "user":
            found = {"user": {"email": principal.email},
                     "csrf_token": principal.session.csrf_token, **found}
        else:
            found = {"token": {"token_id": principal.token.token_id,
                               "label": principal.token.label}, **found}
        render.json_response(resp, found)


class PasswordResource:
    """``POST /api/v1/auth/password`` ``{"current_password", "new_password"}``: 204; every
    other session of the person ends."""

    def __init__(self, accounts: Accounts, client: ClientInfo, body_limit: int,
                 clock: Callable[[], datetime]):
        self.accounts = accounts
        self.client = client
        self.body_limit = body_limit
        self.clock = clock

    def on_post(self, req, resp):
        principal = req.context.principal
        if principal.kind != "user":
            raise falcon.HTTPForbidden(title="forbidden", description=(
                f"{principal.name} has no password; log in as a person"))
        current, new = strings(read_object(req, self.body_limit), "current_password",
                               "new_password")
        try:
            self.accounts.change_password(principal.session, current, new,
                                          self.client.address(req), self.clock())
        except WeakPassword as exc:
            raise bad_request(str(exc), "weak_password") from None
        except Throttled as exc:
            raise too_many(exc) from None
        except InvalidCredentials:
            raise falcon.HTTPForbidden(title="invalid_credentials",
                                       description="the current password is wrong") from None
        resp.status = falcon.HTTP_204
