"""What the HTTP layer knows about the request an event came in with."""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = frozenset({"tracker", "pixel", "mp", "api"})


@dataclass(frozen=True)
class SiteSettings:
    site_id: str
    domain: str
    timezone: str = "UTC"
    client_id_opt_in: bool = False
    """The site lets the tracker keep a first-party client id (else: cookieless only)."""


@dataclass(frozen=True)
class RequestContext:
    received_at_ms: int
    """Server receive time, epoch milliseconds."""
    ip: str
    """The client IP as the HTTP layer determined it; never leaves the pipeline."""
    user_agent: str
    site: SiteSettings
    source: str = "tracker"
    """How the event arrived: tracker | pixel | mp | api."""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {sorted(SOURCES)}, not {self.source!r}")
