"""Browser sessions of the dashboard in Cassandra's ``browser_sessions`` (and the per-user
list ``browser_sessions_by_user``), migration 0008. Rows are written with a TTL, so an
expired session disappears on its own; ``session_id`` is the SHA-256 of the cookie's
secret (made and checked in :mod:`api.read.accounts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analytics.storage.times import utc


@dataclass(frozen=True)
class BrowserSession:
    session_id: str
    email: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class BrowserSessionStore:
    def __init__(self, session):
        self.session = session

    def insert(self, found: BrowserSession, ttl_s: int) -> None:
        self.session.execute(
            "BEGIN BATCH "
            "INSERT INTO browser_sessions (session_id, email, csrf_token, created_at, "
            "expires_at) VALUES (%s, %s, %s, %s, %s) USING TTL %s; "
            "INSERT INTO browser_sessions_by_user (email, session_id, expires_at) "
            "VALUES (%s, %s, %s) USING TTL %s; "
            "APPLY BATCH",
            (found.session_id, found.email, found.csrf_token, found.created_at,
             found.expires_at, ttl_s, found.email, found.session_id, found.expires_at, ttl_s))

    def get(self, session_id: str) -> BrowserSession | None:
        row = self.session.execute(
            "SELECT session_id, email, csrf_token, created_at, expires_at "
            "FROM browser_sessions WHERE session_id = %s", (session_id,)).one()
        if row is None:
            return None
        return BrowserSession(row.session_id, row.email, row.csrf_token, utc(row.created_at),
                              utc(row.expires_at))

    def ids_of(self, email: str) -> list[str]:
        rows = self.session.execute(
            "SELECT session_id FROM browser_sessions_by_user WHERE email = %s", (email,))
        return [r.session_id for r in rows]

    def delete(self, email: str, session_ids: list[str]) -> None:
        for session_id in session_ids:
            self.session.execute(
                "BEGIN BATCH "
                "DELETE FROM browser_sessions WHERE session_id = %s; "
                "DELETE FROM browser_sessions_by_user WHERE email = %s AND session_id = %s; "
                "APPLY BATCH", (session_id, email, session_id))
