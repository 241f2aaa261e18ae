"""Daily salts of cookieless visitor ids, shared by every write-service process.

The first process that needs a day's salt creates it with a lightweight transaction
(INSERT ... IF NOT EXISTS), so all processes agree; rows expire after three days.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime


class CassandraSalts:
    def __init__(self, session):
        self.session = session
        self._cache: dict[date, bytes] = {}
        self._lock = threading.Lock()

    def salt_for(self, day: date) -> bytes:
        salt = self._cache.get(day)
        if salt is not None:
            return salt
        with self._lock:
            salt = self._cache.get(day)
            if salt is None:
                salt = self._load_or_create(day)
                self._cache = {d: s for d, s in self._cache.items() if (day - d).days < 2}
                self._cache[day] = salt
        return salt

    def _load_or_create(self, day: date) -> bytes:
        salt = os.urandom(32)
        result = self.session.execute(
            "INSERT INTO visitor_salts (day, salt, created_at) VALUES (%s, %s, %s) "
            "IF NOT EXISTS", (day, salt, datetime.now(UTC)))
        if result.was_applied:
            return salt
        return bytes(result.one().salt)
