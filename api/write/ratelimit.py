"""Per-client token buckets of the write service (per worker process; the load balancer
spreads clients): one bucket per IPv4 address, per IPv6 /64 (:func:`client_key`)."""

from __future__ import annotations

from api.ratelimit import TokenBuckets, client_key

__all__ = ["RateLimiter", "client_key"]


class RateLimiter(TokenBuckets):
    def __init__(self, rate_per_s: float, burst: float, max_clients: int = 100_000):
        super().__init__(rate_per_s, burst, max_keys=max_clients)

    @property
    def max_clients(self) -> int:
        return self.max_keys

    def allow(self, client: str, cost: float = 1.0, now: float | None = None) -> bool:
        """Whether the client at address ``client`` may make a request now (taking
        ``cost`` tokens from its bucket)."""
        return super().allow(client_key(client), cost, now)
