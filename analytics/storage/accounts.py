"""People of the dashboard and their role on each site, in Cassandra's ``users``,
``site_roles_by_user`` and ``site_roles_by_site`` (migration 0008). Storage only: the
rules (e-mail form, password strength, hashing) live in :mod:`api.read.accounts`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analytics.storage.times import utc

VIEWER = "viewer"
ADMIN = "admin"
ROLES = (VIEWER, ADMIN)


@dataclass(frozen=True)
class User:
    email: str
    password_hash: str
    created_at: datetime | None = None
    password_changed_at: datetime | None = None


@dataclass(frozen=True)
class Membership:
    site_id: str
    email: str
    role: str
    granted_at: datetime | None = None


class AccountStore:
    """Users and roles of one keyspace (``session`` bound to it)."""

    _USER = "email, password_hash, created_at, password_changed_at"

    def __init__(self, session):
        self.session = session

    # -- users ----------------------------------------------------------------------------

    def get_user(self, email: str) -> User | None:
        row = self.session.execute(f"SELECT {self._USER} FROM users WHERE email = %s",
                                   (email,)).one()
        return _user(row) if row else None

    def insert_user(self, user: User) -> bool:
        """Add ``user``; False (and nothing written) when the address has an account."""
        result = self.session.execute(
            "INSERT INTO users (email, password_hash, created_at, password_changed_at) "
            "VALUES (%s, %s, %s, %s) IF NOT EXISTS",
            (user.email, user.password_hash, user.created_at, user.password_changed_at))
        return bool(result.was_applied)

    def set_password(self, email: str, password_hash: str, at: datetime) -> bool:
        """False when there is no such user."""
        result = self.session.execute(
            "UPDATE users SET password_hash = %s, password_changed_at = %s WHERE email = %s "
            "IF EXISTS", (password_hash, at, email))
        return bool(result.was_applied)

    def all_users(self) -> list[User]:
        rows = self.session.execute(f"SELECT {self._USER} FROM users")
        return sorted((_user(r) for r in rows), key=lambda u: u.email)

    # -- roles ----------------------------------------------------------------------------

    def roles_of(self, email: str) -> dict[str, str]:
        """site_id -> role of everything ``email`` may see."""
        rows = self.session.execute(
            "SELECT site_id, role FROM site_roles_by_user WHERE email = %s", (email,))
        return {r.site_id: r.role for r in rows}

    def members_of(self, site_id: str) -> list[Membership]:
        rows = self.session.execute(
            "SELECT email, role, granted_at FROM site_roles_by_site WHERE site_id = %s",
            (site_id,))
        return [Membership(site_id, r.email, r.role, utc(r.granted_at)) for r in rows]

    def set_role(self, email: str, site_id: str, role: str, at: datetime) -> None:
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
        self.session.execute(
            "BEGIN BATCH "
            "INSERT INTO site_roles_by_user (email, site_id, role, granted_at) "
            "VALUES (%s, %s, %s, %s); "
            "INSERT INTO site_roles_by_site (site_id, email, role, granted_at) "
            "VALUES (%s, %s, %s, %s); "
            "APPLY BATCH", (email, site_id, role, at, site_id, email, role, at))

    def remove_role(self, email: str, site_id: str) -> None:
        self.session.execute(
            "BEGIN BATCH "
            "DELETE FROM site_roles_by_user WHERE email = %s AND site_id = %s; "
            "DELETE FROM site_roles_by_site WHERE site_id = %s AND email = %s; "
            "APPLY BATCH", (email, site_id, site_id, email))


def _user(row) -> User:
    return User(email=row.email, password_hash=row.password_hash or "",
                created_at=utc(row.created_at),
                password_changed_at=utc(row.password_changed_at))
