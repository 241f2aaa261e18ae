"""Throttling of password guesses (logins, password changes, shared-link passwords): at
most ``limit`` failures per key within ``window_s``. Keys are ``account:<email>``,
``client:<address>`` and ``link:<link_id>``, each with its own limit. Failures are kept in
a store (Cassandra's ``login_failures`` in the service) so every worker sees them.

An attempt refused while throttled is not checked and not counted, so the key opens
again ``window_s`` after the failure that closed it. Two attempts racing each other may
both be checked at the limit; the limit is a brake on guessing, not an exact count."""

from __future__ import annotations

import math
from datetime import datetime, timedelta


class Throttled(Exception):
    def __init__(self, retry_after_s: int):
        super().__init__(f"too many failed attempts; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class Throttle:
    def __init__(self, failures, window_s: int):
        self.failures = failures
        self.window = timedelta(seconds=window_s)

    def check(self, keys: list[tuple[str, int]], now: datetime) -> None:
        """:class:`Throttled` when a key has ``limit`` failures within the window."""
        wait = 0.0
        for key, limit in keys:
            recent = self.failures.since(key, now - self.window)
            if limit > 0 and len(recent) >= limit:
                opens = recent[len(recent) - limit] + self.window
                wait = max(wait, (opens - now).total_seconds())
        if wait > 0:
            raise Throttled(max(1, math.ceil(wait)))

    def failed(self, keys: list[tuple[str, int]], now: datetime) -> None:
        for key, _limit in keys:
            self.failures.add(key, now, int(self.window.total_seconds()))

    def forget(self, key: str) -> None:
        self.failures.clear(key)
