"""Daily salts for the cookieless visitor hash.

A :class:`SaltProvider` answers the salt of one UTC day. Every write-service process must
get the same salt for the same day (so a shared, Cassandra-backed provider is what runs in
production; it lives elsewhere). Salts are forgotten soon after their day ends, which is
what makes yesterday's visitor ids impossible to recompute.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

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


class SaltsAhead:
    """Daily salts held ahead of need, so that the hot path never waits for (or fails
    with) the shared salt store.

    A background thread asks ``store`` (the shared provider every process agrees through,
    e.g. Cassandra) for today's and tomorrow's salt — so tomorrow's is held well before
    00:00 UTC — every ``refresh_s``, retrying failures at the next round. ``salt_for``
    only reads memory. A day not held yet (the store was down since before the day began,
    or at the very start of a process) gets a random salt of this process, with a
    warning; the shared salt replaces it as soon as the store answers, so processes agree
    again once the store is back (visitors seen during the gap count once per process).
    Salts of days before yesterday are forgotten.
    """

    def __init__(self, store: SaltProvider, *, refresh_s: float = 60.0,
                 clock=None, salt_bytes: int = 32, start: bool = True,
                 start_wait_s: float = 5.0) -> None:
        if not 16 <= salt_bytes <= MAX_SALT_BYTES:
            raise ValueError(f"salt_bytes must be 16..{MAX_SALT_BYTES}")
        self.store = store
        self.refresh_s = refresh_s
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.salt_bytes = salt_bytes
        self.fallbacks_used = 0
        """How many answers were a process-local salt because the shared one was missing."""
        self._shared: dict[dt.date, bytes] = {}
        self._local: dict[dt.date, bytes] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._first_round = threading.Event()
        if start:  # the first round at start-up, so the first requests find the salts;
            # waited for briefly only (a hung store must not stall the worker's boot)
            threading.Thread(target=self._run, name="salts-ahead", daemon=True).start()
            self._first_round.wait(start_wait_s)

    def salt_for(self, day: dt.date) -> bytes:
        salt = self._shared.get(day)
        if salt is not None:
            return salt
        with self._lock:
            salt = self._shared.get(day) or self._local.get(day)
            if salt is None:
                salt = self._local[day] = secrets.token_bytes(self.salt_bytes)
                log.warning("no shared salt for %s yet (salt store unreachable?): this "
                            "process uses its own until the store answers", day)
                self._wake.set()  # ask the store again now
            self.fallbacks_used += 1
            return salt

    def refresh(self) -> list[dt.date]:
        """Fetch today's and tomorrow's salts if not held; forget old days. Returns the
        days that could not be fetched (logged)."""
        today = self.clock().astimezone(dt.UTC).date()
        wanted = [today, today + dt.timedelta(days=1)]
        wanted += [d for d in list(self._local) if d >= today - dt.timedelta(days=1)]
        missing = []
        for day in dict.fromkeys(wanted):
            if day in self._shared:
                continue
            try:
                salt = self.store.salt_for(day)
            except Exception as exc:
                log.warning("salt of %s not fetched from the store: %s", day, exc)
                missing.append(day)
                continue
            with self._lock:
                self._shared[day] = salt
                self._local.pop(day, None)
        self._forget_before(today - dt.timedelta(days=1))
        return missing

    def _forget_before(self, oldest_kept: dt.date) -> None:
        with self._lock:
            for held in (self._shared, self._local):
                for day in [d for d in held if d < oldest_kept]:
                    del held[day]

    @property
    def days(self) -> list[dt.date]:
        """The days whose shared salts are held (oldest first)."""
        return sorted(self._shared)

    def _run(self) -> None:
        while True:
            try:
                self.refresh()
            except Exception:  # never stop holding salts ahead
                log.exception("salt refresh")
            self._first_round.set()
            self._wake.wait(self.refresh_s)
            self._wake.clear()
