"""Falcon responders of a site's administration: ``/api/v1/sites/{site_id}/settings``,
``/members`` and ``/shared-links``. Viewers may read the settings; everything else needs
the admin role on that site (403 ``forbidden`` with the reason otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import falcon

from analytics.sites import CachedSites
from analytics.storage.shared_links import SharedLink
from api.read import render
from api.read.accounts import AccountError, Accounts, LastAdmin, UnknownUser
from api.read.resources import Access, bad_request, iso, read_object
from api.read.sharing import SharedLinks, SharingError
from api.read.site_settings import SettingsError, SitesCache, apply_changes, settings_json


class SettingsResource:
    """``GET`` (members and tokens, not shared links) and ``PATCH`` (admins)
    ``/api/v1/sites/{site_id}/settings``.
    Both read the stored site, not the worker's cache, so a change is seen at once."""

    def __init__(self, sites: CachedSites, access: Access, body_limit: int):
        self.sites = sites
        self.access = access
        self.body_limit = body_limit

    def on_get(self, req, resp, site_id):
        self.access.site(req, site_id)
        principal = req.context.principal
        if principal.role(site_id) is None:
            raise falcon.HTTPForbidden(title="forbidden", description=(
                f"{principal.name} may not read the settings of {site_id!r}"))
        render.json_response(resp, settings_json(self._stored(site_id)))

    def on_patch(self, req, resp, site_id):
        self.access.admin_site(req, site_id)
        changes = read_object(req, self.body_limit)
        try:
            site = apply_changes(self._stored(site_id), changes)
        except SettingsError as exc:
            raise bad_request(str(exc), "invalid_settings") from None
        self.sites.repository.save(site)
        if isinstance(self.sites, SitesCache):
            self.sites.forget(site_id)
        render.json_response(resp, settings_json(site))

    def _stored(self, site_id: str):
        site = self.sites.repository.get(site_id)
        if site is None:
            raise falcon.HTTPNotFound(title="unknown_site", description=f"no site {site_id!r}")
        return site


def member_json(member) -> dict:
    return {"email": member.email, "role": member.role, "granted_at": iso(member.granted_at)}


class MembersResource:
    """``GET``/``POST /api/v1/sites/{site_id}/members`` and ``DELETE .../members/{email}``.
    The person must have an account (an operator makes it with ``python -m api.manage
    user create``); a site always keeps at least one admin (409 ``last_admin``)."""

    def __init__(self, accounts: Accounts, access: Access, body_limit: int,
                 clock: Callable[[], datetime]):
        self.accounts = accounts
        self.access = access
        self.body_limit = body_limit
        self.clock = clock

    def on_get(self, req, resp, site_id):
        self.access.admin_site(req, site_id)
        render.json_response(resp, {"members": [
            member_json(m) for m in self.accounts.members(site_id)]})

    def on_post(self, req, resp, site_id):
        self.access.admin_site(req, site_id)
        document = read_object(req, self.body_limit)
        try:
            member, new = self.accounts.grant(document.get("email"), site_id,
                                              document.get("role"), self.clock(),
                                              keep_an_admin=True)
        except AccountError as exc:
            raise _account_error(exc) from None
        render.json_response(resp, member_json(member),
                             status=falcon.HTTP_201 if new else falcon.HTTP_200)

    def on_delete_member(self, req, resp, site_id, email):
        self.access.admin_site(req, site_id)
        try:
            removed = self.accounts.revoke(email, site_id, keep_an_admin=True)
        except AccountError as exc:
            raise _account_error(exc) from None
        if not removed:
            raise falcon.HTTPNotFound(title="unknown_member",
                                      description=f"{email} is not a member of {site_id!r}")
        resp.status = falcon.HTTP_204


def _account_error(exc: AccountError) -> falcon.HTTPError:
    if isinstance(exc, UnknownUser):
        return falcon.HTTPNotFound(title=exc.code, description=str(exc))
    if isinstance(exc, LastAdmin):
        return falcon.HTTPConflict(title=exc.code, description=str(exc))
    return bad_request(str(exc), exc.code)


def link_json(link: SharedLink) -> dict:
    return {"link_id": link.link_id, "label": link.label,
            "password_protected": link.password_hash is not None,
            "created_at": iso(link.created_at), "revoked_at": iso(link.revoked_at)}


class SharedLinksResource:
    """``GET``/``POST /api/v1/sites/{site_id}/shared-links`` and ``DELETE
    .../shared-links/{link_id}`` (revoke: the link's calls are 404 ``unknown_link`` after)."""

    def __init__(self, links: SharedLinks, access: Access, body_limit: int,
                 clock: Callable[[], datetime]):
        self.links = links
        self.access = access
        self.body_limit = body_limit
        self.clock = clock

    def on_get(self, req, resp, site_id):
        self.access.admin_site(req, site_id)
        render.json_response(resp, {"links": [
            link_json(link) for link in self.links.for_site(site_id)]})

    def on_post(self, req, resp, site_id):
        self.access.admin_site(req, site_id)
        document = read_object(req, self.body_limit)
        try:
            link, secret = self.links.create(site_id, document.get("label"),
                                             document.get("password"), self.clock())
        except SharingError as exc:
            raise bad_request(str(exc), exc.code) from None
        found = link_json(link)
        del found["revoked_at"]
        resp.cache_control = ["no-store"]
        render.json_response(resp, {**found, "url": f"/share/{secret}"},
                             status=falcon.HTTP_201)

    def on_delete_link(self, req, resp, site_id, link_id):
        self.access.admin_site(req, site_id)
        if not self.links.revoke(site_id, link_id, self.clock()):
            raise falcon.HTTPNotFound(title="unknown_link",
                                      description=f"{site_id!r} has no shared link {link_id!r}")
        resp.status = falcon.HTTP_204
