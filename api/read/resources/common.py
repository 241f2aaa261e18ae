"""What every resource of the read service shares: the site a request may read
(:class:`Access`), request bodies (size and depth limits), the answer format, instants as
text and the 400 they refuse with."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import falcon
import orjson

from analytics import client_json
from analytics.sites import CachedSites, Site
from analytics.storage.accounts import ADMIN

log = logging.getLogger("sitelens.read")


def now() -> datetime:
    return datetime.now(UTC)


def bad_request(reason: str, title: str = "invalid_query") -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title=title, description=reason)


class Access:
    """The site a request names, if its principal may read it (403 before 404, so a
    principal learns nothing about sites it may not read), or administer it."""

    def __init__(self, sites: CachedSites):
        self.sites = sites

    def site(self, req, site_id: object) -> Site:
        if not site_id:
            raise bad_request("site_id: required")
        if not isinstance(site_id, str):
            raise bad_request("site_id: must be a site id (a string)")
        principal = req.context.principal
        if not principal.may_read(site_id):
            raise falcon.HTTPForbidden(title="forbidden",
                                       description=f"{principal.name} may not read {site_id!r}")
        site = self.sites.get(site_id)
        if site is None:
            raise falcon.HTTPNotFound(title="unknown_site", description=f"no site {site_id!r}")
        return site

    def admin_site(self, req, site_id: str) -> Site:
        """The site, if the principal is an admin of it (403 ``forbidden`` otherwise)."""
        site = self.site(req, site_id)
        principal = req.context.principal
        role = principal.role(site_id)
        if role != ADMIN:
            raise falcon.HTTPForbidden(title="forbidden", description=(
                f"{principal.name} is {f'a {role}' if role else 'not a member'} of "
                f"{site_id!r}; this needs the admin role"))
        return site


def iso(instant: datetime | None) -> str | None:
    """An instant as RFC 3339 UTC with milliseconds (``2026-12-01T21:53:00.000Z``)."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_json(req, limit: int) -> object:
    if req.content_length is not None and req.content_length > limit:
        raise falcon.HTTPContentTooLarge(title="body_too_large",
                                         description=f"{req.content_length} bytes; at most {limit}")
    body = req.bounded_stream.read(limit + 1)
    if len(body) > limit:
        raise falcon.HTTPContentTooLarge(title="body_too_large",
                                         description=f"more than {limit} bytes")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"body: not JSON ({exc})", "invalid_json") from None
    return shallow(document, "")


def shallow(document, field: str):
    """``document`` if it nests at most ``MAX_DEPTH`` levels (400 ``too_deep``)."""
    try:
        client_json.check_depth(document)
    except client_json.ClientJSONError as exc:
        raise bad_request(f"{field}{exc.detail}", "too_deep") from None
    return document


def read_object(req, limit: int) -> dict:
    """A JSON object body (400 ``invalid_json`` for anything else)."""
    document = read_json(req, limit)
    if not isinstance(document, dict):
        raise bad_request("body: must be a JSON object", "invalid_json")
    return document


def wants_csv(req) -> bool:
    fmt = req.get_param("format")
    if fmt:
        if fmt not in ("json", "csv"):
            raise bad_request(f"format: {fmt!r} is not json or csv", "invalid_format")
        return fmt == "csv"
    return "text/csv" in (req.get_header("Accept") or "")
