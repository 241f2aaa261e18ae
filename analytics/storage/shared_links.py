"""Shared links (read-only dashboards of one site) and the browsers that unlocked a
password-protected one, in Cassandra's ``shared_links``, ``shared_links_by_site`` and
``shared_link_unlocks`` (migration 0008). Secrets and passwords arrive hashed; the rules
live in :mod:`api.read.sharing`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analytics.storage.times import utc


@dataclass(frozen=True)
class SharedLink:
    link_id: str
    site_id: str
    label: str
    secret_hash: str
    password_hash: str | None
    created_at: datetime | None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class SharedLinkStore:
    _COLUMNS = "link_id, site_id, label, secret_hash, password_hash, created_at, revoked_at"

    def __init__(self, session):
        self.session = session

    def insert(self, link: SharedLink) -> None:
        self.session.execute(
            "BEGIN BATCH "
            "INSERT INTO shared_links (link_id, site_id, label, secret_hash, password_hash, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s); "
            "INSERT INTO shared_links_by_site (site_id, link_id) VALUES (%s, %s); "
            "APPLY BATCH",
            (link.link_id, link.site_id, link.label, link.secret_hash, link.password_hash,
             link.created_at, link.site_id, link.link_id))

    def get(self, link_id: str) -> SharedLink | None:
        row = self.session.execute(
            f"SELECT {self._COLUMNS} FROM shared_links WHERE link_id = %s", (link_id,)).one()
        return _link(row) if row else None

    def for_site(self, site_id: str) -> list[SharedLink]:
        ids = [r.link_id for r in self.session.execute(
            "SELECT link_id FROM shared_links_by_site WHERE site_id = %s", (site_id,))]
        if not ids:
            return []
        from cassandra.query import ValueSequence

        rows = self.session.execute(
            f"SELECT {self._COLUMNS} FROM shared_links WHERE link_id IN %s",
            (ValueSequence(ids),))
        return [_link(r) for r in rows]

    def revoke(self, link_id: str, at: datetime) -> None:
        """Mark the link revoked (a revoked link keeps its first revocation time)."""
        self.session.execute(
            "UPDATE shared_links SET revoked_at = %s WHERE link_id = %s IF revoked_at = null",
            (at, link_id))

    def insert_unlock(self, unlock_id: str, link_id: str, at: datetime, ttl_s: int) -> None:
        self.session.execute(
            "INSERT INTO shared_link_unlocks (unlock_id, link_id, created_at) "
            "VALUES (%s, %s, %s) USING TTL %s", (unlock_id, link_id, at, ttl_s))

    def unlocked_link(self, unlock_id: str) -> str | None:
        """The link an unlock opens, or None (unknown or expired)."""
        row = self.session.execute(
            "SELECT link_id FROM shared_link_unlocks WHERE unlock_id = %s", (unlock_id,)).one()
        return row.link_id if row else None


def _link(row) -> SharedLink:
    return SharedLink(link_id=row.link_id, site_id=row.site_id, label=row.label or "",
                      secret_hash=row.secret_hash or "", password_hash=row.password_hash,
                      created_at=utc(row.created_at), revoked_at=utc(row.revoked_at))
