"""Daily salts for the cookieless visitor hash.

A :class:`SaltProvider` answers the salt of one UTC day. Every write-service process must
get the same salt for the same day (so a shared, Cassandra-backed provider is what runs in
production; it lives elsewhere). Salts are forgotten soon after their day ends, which is
what makes yesterday's visitor ids impossible to recompute.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from typing import Protocol, runtime_checkable

MAX_SALT_BYTES = 64
"""blake2b accepts keys of at most 64 bytes."""


@runtime_checkable
class SaltProvider(Protocol):
    def salt_for(self, day: dt.date) -> bytes:
        """The salt of one UTC day (the same bytes for every call with that day)."""
        ...


class StaticSaltProvider:
    """One fixed salt per day, derived from a seed: deterministic, for tests."""

    def __init__(self, seed: bytes = b"static-test-salt") -> None:
        if len(seed) > MAX_SALT_BYTES - 11:
            raise ValueError(f"seed must be at most {MAX_SALT_BYTES - 11} bytes")
        self.seed = seed

    def salt_for(self, day: dt.date) -> bytes:
        return self.seed + b"|" + day.isoformat().encode()


class InMemoryRotatingSalts:
    """A random 32-byte salt per UTC day, kept in this process only.

    Only the salts of the newest day asked for and the ``keep_days - 1`` days before it are
    kept; older ones are forgotten. Good for a single process (and tests); several workers
    need a shared provider.
    """

    def __init__(self, keep_days: int = 2, salt_bytes: int = 32) -> None:
        if keep_days < 1:
            raise ValueError("keep_days must be at least 1")
        if not 16 <= salt_bytes <= MAX_SALT_BYTES:
            raise ValueError(f"salt_bytes must be 16..{MAX_SALT_BYTES}")
        self.keep_days = keep_days
        self.salt_bytes = salt_bytes
        self._salts: dict[dt.date, bytes] = {}
        self._lock = threading.Lock()

    def salt_for(self, day: dt.date) -> bytes:
        salt = self._salts.get(day)
        if salt is not None:
            return salt
        with self._lock:
            salt = self._salts.get(day)
            if salt is None:
                salt = self._create(day)
                self._salts[day] = salt
                self._forget_old()
            return salt

    def _create(self, day: dt.date) -> bytes:
        """A new salt for ``day`` (a shared provider agrees on it with other processes)."""
        return secrets.token_bytes(self.salt_bytes)

    def _forget_old(self) -> None:
        oldest_kept = max(self._salts) - dt.timedelta(days=self.keep_days - 1)
        for day in [d for d in self._salts if d < oldest_kept]:
            del self._salts[day]

    @property
    def days(self) -> list[dt.date]:
        """The days whose salts are currently held (oldest first)."""
        return sorted(self._salts)
