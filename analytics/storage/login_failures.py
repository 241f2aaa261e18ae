"""Failed password attempts per throttle key in Cassandra's ``login_failures`` (migration
0008), each row written with a TTL of the throttle window. Kept in Cassandra rather than
in each process so the limit holds across every read-service worker and replica, and
survives a restart; the policy is :class:`api.read.throttle.Throttle`."""

from __future__ import annotations

import uuid
from datetime import datetime

from analytics.storage.times import utc

MAX_READ = 1000


class LoginFailureStore:
    def __init__(self, session):
        self.session = session

    def add(self, key: str, at: datetime, ttl_s: int) -> None:
        self.session.execute(
            "INSERT INTO login_failures (throttle_key, failed_at, attempt_id) "
            "VALUES (%s, %s, %s) USING TTL %s", (key, at, uuid.uuid4(), max(1, int(ttl_s))))

    def since(self, key: str, start: datetime) -> list[datetime]:
        """When ``key`` failed after ``start``, oldest first (at most ``MAX_READ``)."""
        rows = self.session.execute(
            "SELECT failed_at FROM login_failures WHERE throttle_key = %s AND failed_at > %s "
            f"LIMIT {MAX_READ}", (key, start))
        return [utc(r.failed_at) for r in rows]

    def clear(self, key: str) -> None:
        self.session.execute("DELETE FROM login_failures WHERE throttle_key = %s", (key,))
