"""Falcon responders a shared link's page calls before it has a principal (both public):
``GET /api/v1/share/{secret}`` (what the link shows, whether it needs its password) and
``POST /api/v1/share/{secret}/unlock`` (the password -> an HttpOnly unlock cookie). The
report calls that follow carry ``X-Share-Token: <secret>`` (:mod:`api.read.auth`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import falcon

from analytics.sites import CachedSites
from api.read import render
from api.read.account_resources import strings, too_many
from api.read.accounts import InvalidCredentials
from api.read.auth import ClientInfo, cookie, public, set_unlock_cookie
from api.read.principals import unlock_cookie
from api.read.resources import read_object
from api.read.sharing import SharedLinks, UnknownLink
from api.read.throttle import Throttled

GONE = "this shared link was revoked or never existed"


@public(frozenset({"GET", "POST"}))
class ShareResource:
    def __init__(self, links: SharedLinks, sites: CachedSites, *, client: ClientInfo,
                 body_limit: int, unlock_ttl_s: int, clock: Callable[[], datetime]):
        self.links = links
        self.sites = sites
        self.client = client
        self.body_limit = body_limit
        self.unlock_ttl_s = unlock_ttl_s
        self.clock = clock

    def on_get(self, req, resp, secret):
        link = self.links.find(secret)
        site = self.sites.get(link.site_id) if link else None
        if site is None:
            raise falcon.HTTPNotFound(title="unknown_link", description=GONE)
        resp.cache_control = ["no-store"]
        resp.set_header("Referrer-Policy", "no-referrer")
        render.json_response(resp, {
            "site": {"site_id": site.site_id, "domain": site.domain,
                     "timezone": site.timezone, "goals": sorted(site.goals)},
            "password_required": link.password_hash is not None,
            "unlocked": self.links.unlocked(link, cookie(req, unlock_cookie(link.link_id)))})

    def on_post_unlock(self, req, resp, secret):
        (password,) = strings(read_object(req, self.body_limit), "password")
        try:
            link, value = self.links.unlock(secret, password, self.client.address(req),
                                            self.clock())
        except UnknownLink:
            raise falcon.HTTPNotFound(title="unknown_link", description=GONE) from None
        except Throttled as exc:
            raise too_many(exc) from None
        except InvalidCredentials:
            raise falcon.HTTPUnauthorized(title="invalid_password",
                                          description="wrong password for this link") from None
        if value is not None:
            set_unlock_cookie(resp, link.link_id, value, self.unlock_ttl_s,
                              self.client.https(req))
        resp.status = falcon.HTTP_204
