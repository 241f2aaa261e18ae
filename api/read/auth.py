"""Authentication of the read service, decided per resource (never by how the path is
spelled: ``//api/v1/sites``, ``/api/v1/sites/`` and ``/api%2Fv1/sites`` reach the same
resource and the same check).

A resource declares the HTTP methods anyone may call in ``auth_public`` (a set of method
names, :data:`EVERY_METHOD` for static documents); every other responder needs a
principal (:mod:`api.read.principals`), which the middleware puts on
``req.context.principal``. Undeclared resources are not public. Besides that:

- a shared link only reads (GET/HEAD): anything else is 403 ``forbidden``;
- a request authenticated by the session cookie that changes something (POST, PUT, PATCH,
  DELETE) must carry ``X-CSRF-Token`` equal to its session's token, else 403
  ``csrf_failed``; bearer-token and share-header requests are exempt (browsers do not
  add those headers on their own).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime

import falcon

from api.read.principals import (
    SESSION_COOKIE,
    AuthFailure,
    LockedShare,
    Principals,
    UnknownShare,
    unlock_cookie,
)

EVERY_METHOD = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
READ_METHODS = frozenset({"GET", "HEAD"})
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CHALLENGE = ['Bearer realm="sitelens"']


def now() -> datetime:
    return datetime.now(UTC)


def public(methods: frozenset[str] = EVERY_METHOD):
    """Class decorator: these methods of the resource need no principal."""
    def mark(cls):
        cls.auth_public = frozenset(methods)
        return cls
    return mark


def cookie(req, name: str) -> str | None:
    values = req.get_cookie_values(name)
    return values[0] if values else None


class ClientInfo:
    """The client's address and whether it reached us over https: from the connection, or
    from a trusted load balancer's X-Forwarded-For (right-most entry) and
    X-Forwarded-Proto (``read_trust_proxy_headers``)."""

    def __init__(self, trust_proxy_headers: bool):
        self.trust = trust_proxy_headers

    def address(self, req) -> str | None:
        if self.trust:
            forwarded = (req.get_header("X-Forwarded-For") or "").split(",")[-1].strip()
            if forwarded:
                return forwarded[:64]
        return req.remote_addr

    def https(self, req) -> bool:
        if req.scheme == "https":
            return True
        if self.trust:
            proto = (req.get_header("X-Forwarded-Proto") or "").split(",")[-1].strip()
            return proto.lower() == "https"
        return False


def set_session_cookie(resp, secret: str, max_age: int, secure: bool) -> None:
    resp.set_cookie(SESSION_COOKIE, secret, max_age=max_age, path="/", secure=secure,
                    http_only=True, same_site="Lax")


def clear_session_cookie(resp) -> None:
    resp.unset_cookie(SESSION_COOKIE, path="/", same_site="Lax")


def set_unlock_cookie(resp, link_id: str, value: str, max_age: int, secure: bool) -> None:
    """Over https the unlock cookie is ``SameSite=None; Secure; Partitioned`` so a shared
    dashboard embedded in another site's page works; it opens nothing without the link's
    secret, which only the X-Share-Token header carries. Over plain http, Lax."""
    if secure:
        resp.set_cookie(unlock_cookie(link_id), value, max_age=max_age, path="/",
                        secure=True, http_only=True, same_site="None", partitioned=True)
    else:
        resp.set_cookie(unlock_cookie(link_id), value, max_age=max_age, path="/",
                        secure=False, http_only=True, same_site="Lax")


class AuthMiddleware:
    def __init__(self, principals: Principals, *, public_types: tuple[type, ...] = (),
                 clock: Callable[[], datetime] = now):
        self.principals = principals
        self.public_types = public_types
        self.clock = clock

    def is_public(self, resource, method: str) -> bool:
        return (isinstance(resource, self.public_types)
                or method in getattr(resource, "auth_public", ()))

    def process_resource(self, req, resp, resource, params):
        req.context.principal = None
        if resource is None or req.method == "OPTIONS" or self.is_public(resource,
                                                                         req.method):
            return
        try:
            principal = self.principals.resolve(
                authorization=req.get_header("Authorization"),
                share_token=req.get_header("X-Share-Token"),
                cookie=lambda name: cookie(req, name), now=self.clock())
        except UnknownShare as exc:
            raise falcon.HTTPNotFound(title=exc.code, description=exc.reason) from None
        except LockedShare as exc:
            raise falcon.HTTPUnauthorized(title=exc.code, description=exc.reason) from None
        except AuthFailure as exc:
            if exc.code == "session_expired":
                clear_session_cookie(resp)
            raise falcon.HTTPUnauthorized(title=exc.code, description=exc.reason,
                                          challenges=CHALLENGE) from None
        if principal.read_only and req.method not in READ_METHODS:
            raise falcon.HTTPForbidden(title="forbidden",
                                       description="a shared link can only read")
        if principal.kind == "user" and req.method in UNSAFE:
            check_csrf(req, principal.session.csrf_token)
        req.context.principal = principal


def check_csrf(req, expected: str) -> None:
    sent = req.get_header("X-CSRF-Token") or ""
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise falcon.HTTPForbidden(title="csrf_failed", description=(
            "send the session's csrf_token (from /api/v1/auth/login or /api/v1/auth/me) "
            "in the X-CSRF-Token header"))
