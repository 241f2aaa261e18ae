"""Token buckets per key, in memory of one worker process (the load balancer spreads
clients over the workers), shared by the write and the read service; and the key a client
address is limited by (no Falcon in here)."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict

IPV6_PREFIX = 64


def client_key(address: str) -> str:
    """The key a client address is limited by: an IPv4 address itself; an IPv6 address
    by its /64 (a home or mobile network gets a /64 and its devices pick and rotate
    addresses within it); an IPv4-mapped IPv6 address (``::ffff:198.51.100.7``) as the
    IPv4 address. Anything else (empty, a host name) is its own key."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    host_bits = 128 - IPV6_PREFIX
    return str(ipaddress.IPv6Network((int(ip) >> host_bits << host_bits, IPV6_PREFIX)))


class TokenBuckets:
    """A bucket of ``burst`` tokens per key, refilled at ``rate_per_s``; each request
    takes ``cost`` tokens or is refused. The least recently used keys beyond
    ``max_keys`` are forgotten (they come back with a full bucket). ``now`` is in seconds
    of any clock that does not jump (default: ``time.monotonic``); a clock that goes back
    refills nothing."""

    def __init__(self, rate_per_s: float, burst: float, max_keys: int = 100_000):
        self.rate = rate_per_s
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.pop(key, (self.burst, now))
        return min(self.burst, tokens + max(0.0, now - last) * self.rate)

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """0.0 when ``cost`` tokens were taken from ``key``'s bucket; otherwise none are
        taken and the answer is the seconds until there will be enough."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._tokens(key, now)
            wait = 0.0 if tokens >= cost else (cost - tokens) / self.rate
            self._buckets[key] = (tokens - cost if wait == 0.0 else tokens, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait

    def wait_s(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """The seconds until ``key`` has ``cost`` tokens (0.0: now), taking none."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            if key not in self._buckets:
                return 0.0
            tokens = self._tokens(key, now)
            self._buckets[key] = (tokens, now)
            return 0.0 if tokens >= cost else (cost - tokens) / self.rate

    def allow(self, key: str, cost: float = 1.0, now: float | None = None) -> bool:
        return self.take(key, cost, now) == 0.0

    def retry_after_s(self) -> int:
        """A Retry-After for any refused key: the time one token takes (at least 1 s)."""
        return max(1, int(1 / self.rate)) if self.enabled else 0


def retry_after(wait_s: float) -> int:
    """Whole seconds for a Retry-After header: ``wait_s`` rounded up, at least 1."""
    return max(1, math.ceil(wait_s))
