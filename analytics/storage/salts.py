"""Daily salts of cookieless visitor ids, shared by every write-service process.

The first process that needs a day's salt creates it with a lightweight transaction
(INSERT ... IF NOT EXISTS), so all processes agree; rows expire after three days. Each
process keeps the last two days in memory (the caching of :class:`InMemoryRotatingSalts`).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from analytics.enrich.salts import InMemoryRotatingSalts


class CassandraSalts(InMemoryRotatingSalts):
    def __init__(self, session):
        super().__init__(keep_days=2, salt_bytes=32)
        self.session = session

    def _create(self, day: date) -> bytes:
        salt = os.urandom(self.salt_bytes)
        result = self.session.execute(
            "INSERT INTO visitor_salts (day, salt, created_at) VALUES (%s, %s, %s) "
            "IF NOT EXISTS", (day, salt, datetime.now(UTC)))
        if result.was_applied:
            return salt
        return bytes(result.one().salt)
