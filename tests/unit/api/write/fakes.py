"""In-memory stand-ins for the write service's collaborators, for tests of the app
through ``falcon.testing`` without Cassandra or Kafka: a site store (the methods of
``analytics.sites.CachedSites`` that the intake calls) and a sink that records what it
was given instead of producing it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from analytics.sites import Site
from api.write.sink import Published


class MemorySites:
    """Sites by id; every answer is a fresh one (nothing to expire)."""

    def __init__(self, *sites: Site):
        self.sites = {s.site_id: s for s in sites}

    def cached(self, site_id: str) -> tuple[bool, Site | None]:
        return True, self.sites.get(site_id)

    def get(self, site_id: str) -> Site | None:
        return self.sites.get(site_id)

    def all(self) -> list[Site]:
        """Every site (what the write service's site directory indexes by domain and
        Umami website id)."""
        return sorted(self.sites.values(), key=lambda s: s.site_id)


@dataclass
class _Spool:
    def pending_count(self) -> int:
        return 0


class RecordingSink:
    """Keeps every published record ``(topic, key, value)`` in order and acknowledges it
    at once, as Kafka would."""

    def __init__(self, raw_topic: str = "events.raw", invalid_topic: str = "events.invalid"):
        self.raw_topic = raw_topic
        self.invalid_topic = invalid_topic
        self.records: list[tuple[str, str | None, str]] = []
        self.spool = _Spool()
        self.breaker_open = False

    async def publish(self, records) -> Published:
        self.records.extend(records)
        return Published(delivered=len(records))

    def kafka_reachable(self, timeout: float = 1.0) -> bool:
        return True

    @property
    def accepted(self) -> list[dict]:
        """The enriched events on the raw-events topic."""
        return [json.loads(v) for t, _k, v in self.records if t == self.raw_topic]

    @property
    def invalid(self) -> list[dict]:
        """The refusals kept on the invalid-events topic."""
        return [json.loads(v) for t, _k, v in self.records if t == self.invalid_topic]

    def clear(self) -> None:
        self.records.clear()
