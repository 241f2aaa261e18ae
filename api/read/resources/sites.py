"""The sites a principal may read: ``GET /api/v1/sites`` and the JSON of one site."""

from __future__ import annotations

from analytics.sites import CachedSites, Site
from api.read import render


def site_json(site: Site, role: str | None) -> dict:
    return {"site_id": site.site_id, "domain": site.domain, "timezone": site.timezone,
            "goals": sorted(site.goals), "role": role}


class SitesResource:
    """``GET /api/v1/sites``: the sites the principal may read, each with its role."""

    def __init__(self, sites: CachedSites):
        self.sites = sites

    def on_get(self, req, resp):
        render.json_response(resp, {"sites": readable_sites(self.sites,
                                                            req.context.principal)})


def readable_sites(sites: CachedSites, principal) -> list[dict]:
    return [site_json(s, principal.role(s.site_id)) for s in sites.repository.all()
            if principal.may_read(s.site_id)]
