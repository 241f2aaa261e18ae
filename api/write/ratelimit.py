"""Per-client token buckets (per worker process; the load balancer spreads clients)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: float, max_clients: int = 100_000):
        self.rate = rate_per_s
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def allow(self, client: str, cost: float = 1.0, now: float | None = None) -> bool:
        if not self.enabled:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= cost
            if allowed:
                tokens -= cost
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return allowed

    def retry_after_s(self) -> int:
        return max(1, int(1 / self.rate)) if self.enabled else 0
