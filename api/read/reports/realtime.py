"""The ``realtime`` report: the last ``REALTIME_MINUTES`` minutes up to now, minute by
minute, with top pages and sources, straight from the speed layer's minute views (no
Falcon in here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from analytics.sites import Site
from api.read.reports.planner import PAGES, SOURCES, TOTALS
from api.read.reports.values import aware
from api.read.sketches import estimate, union_sketch

if TYPE_CHECKING:
    from api.read.reports import Reports

REALTIME_MINUTES = 30


def realtime_report(reports: Reports, site: Site, now: datetime, top: int = 10) -> dict:
    """The last 30 minutes up to now, minute by minute, with top pages and sources."""
    store = reports.store
    zone = ZoneInfo(site.timezone)
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=REALTIME_MINUTES)
    rows = store.speed_minutes(site.site_id, TOTALS, start, end)
    by_minute = {aware(r.minute): r for r in rows}
    minutes = []
    for n in range(REALTIME_MINUTES):
        at = start + timedelta(minutes=n)
        r = by_minute.get(at)
        minutes.append({"minute": at.astimezone(zone).isoformat(timespec="minutes"),
                        "visitors": (r.visitors or 0) if r else 0,
                        "pageviews": (r.pageviews or 0) if r else 0,
                        "events": (r.custom_events or 0) if r else 0})
    visitors = estimate(union_sketch((r.visitors_sketch for r in rows), reports.lg_k))

    def top_of(view: str, key_name: str) -> list[dict]:
        parts = store.speed(site.site_id, view, start, end, now)
        ranked = sorted(parts.items(), key=lambda kv: (-(kv[1].visitors or 0),
                                                       -kv[1].pageviews, kv[0]))
        return [{key_name: k, "visitors": p.visitors, "pageviews": p.pageviews}
                for k, p in ranked[:top]]

    return {"site_id": site.site_id, "timezone": site.timezone,
            "from": start.astimezone(zone).isoformat(timespec="minutes"),
            "to": now.astimezone(zone).isoformat(timespec="seconds"),
            "visitors": visitors, "pageviews": sum(m["pageviews"] for m in minutes),
            "events": sum(m["events"] for m in minutes), "minutes": minutes,
            "pages": top_of(PAGES, "page"), "sources": top_of(SOURCES, "source")}
