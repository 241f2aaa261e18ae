"""People's accounts of the dashboard: users, logins (throttled), browser sessions, and
each person's role on a site (no Falcon in here; storage in :mod:`analytics.storage`).

A session cookie holds a random secret; the stored session id is its SHA-256, and each
session has its own CSRF token, which cookie-authenticated requests that change something
must echo in ``X-CSRF-Token``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from analytics.storage.accounts import ADMIN, ROLES, Membership, User
from analytics.storage.browser_sessions import BrowserSession
from api.read.passwords import Passwords, check_new
from api.read.throttle import Throttle

EMAIL_RE = re.compile(r"^[^@\s/\\]{1,64}@[^@\s/\\]+\.[^@\s/\\]+$")
MAX_EMAIL = 254


class AccountError(ValueError):
    """A request the rules refuse; ``code`` is the API's machine code."""

    code = "invalid_account"


class InvalidEmail(AccountError):
    code = "invalid_email"


class UserExists(AccountError):
    code = "user_exists"


class UnknownUser(AccountError):
    code = "unknown_user"


class InvalidRole(AccountError):
    code = "invalid_role"


class LastAdmin(AccountError):
    code = "last_admin"


class InvalidCredentials(Exception):
    """Wrong address or password (one answer for both)."""


@dataclass(frozen=True)
class LoggedIn:
    email: str
    secret: str
    """The cookie's value (shown to the browser once, stored only hashed)."""
    session: BrowserSession


def normalize_email(raw: object) -> str:
    return raw.strip().lower() if isinstance(raw, str) else ""


def check_email(raw: object) -> str:
    email = normalize_email(raw)
    if len(email) > MAX_EMAIL or not EMAIL_RE.match(email):
        raise InvalidEmail(f"email: {raw!r} is not an e-mail address")
    return email


def session_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def to_ms(at: datetime) -> datetime:
    """Cassandra keeps milliseconds: values are cut to them before they are stored."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class Accounts:
    def __init__(self, users, sessions, passwords: Passwords, throttle: Throttle, *,
                 session_ttl_s: int, max_failures: int, client_max_failures: int):
        self.users = users
        self.sessions = sessions
        self.passwords = passwords
        self.throttle = throttle
        self.session_ttl_s = session_ttl_s
        self.max_failures = max_failures
        self.client_max_failures = client_max_failures

    # -- users ----------------------------------------------------------------------------

    def create_user(self, email: object, password: object, now: datetime) -> User:
        email = check_email(email)
        user = User(email, self.passwords.hash(check_new(password)), to_ms(now), to_ms(now))
        if not self.users.insert_user(user):
            raise UserExists(f"{email} has an account already")
        return user

    def all_users(self) -> list[User]:
        return self.users.all_users()

    def set_password(self, email: object, password: object, now: datetime) -> None:
        """The operator's reset (``user passwd``): every session of the user ends."""
        email = check_email(email)
        if not self.users.set_password(email, self.passwords.hash(check_new(password)),
                                       to_ms(now)):
            raise UnknownUser(f"no user {email}")
        self.sessions.delete(email, self.sessions.ids_of(email))

    # -- logins and sessions --------------------------------------------------------------

    def guard_keys(self, email: str, client: str | None) -> list[tuple[str, int]]:
        keys = [(f"account:{email}", self.max_failures)] if EMAIL_RE.match(email) else []
        if client:
            keys.append((f"client:{client}", self.client_max_failures))
        return keys

    def login(self, email: object, password: object, client: str | None,
              now: datetime) -> LoggedIn:
        """A new session; :class:`InvalidCredentials` or
        :class:`api.read.throttle.Throttled` otherwise."""
        email = normalize_email(email)[:MAX_EMAIL + 1]
        keys = self.guard_keys(email, client)
        self.throttle.check(keys, now)
        user = self.users.get_user(email) if EMAIL_RE.match(email) else None
        if not self.passwords.verify(user.password_hash if user else None, password):
            self.throttle.failed(keys, now)
            raise InvalidCredentials
        self.throttle.forget(f"account:{email}")
        if self.passwords.needs_rehash(user.password_hash):
            self.users.set_password(email, self.passwords.hash(password),
                                    user.password_changed_at or to_ms(now))
        return self.open_session(email, now)

    def open_session(self, email: str, now: datetime) -> LoggedIn:
        secret = secrets.token_urlsafe(32)
        found = BrowserSession(session_id(secret), email, secrets.token_urlsafe(32),
                               to_ms(now), to_ms(now + timedelta(seconds=self.session_ttl_s)))
        self.sessions.insert(found, self.session_ttl_s)
        return LoggedIn(email, secret, found)

    def session(self, secret: str | None, now: datetime) -> BrowserSession | None:
        """The live session of a cookie's value, or None."""
        if not secret or len(secret) > 200:
            return None
        found = self.sessions.get(session_id(secret))
        if found is None or found.expires_at is None or found.expires_at <= now:
            return None
        return found

    def logout(self, found: BrowserSession) -> None:
        self.sessions.delete(found.email, [found.session_id])

    def change_password(self, found: BrowserSession, current: object, new: object,
                        client: str | None, now: datetime) -> None:
        """Set a new password (checked against the current one, throttled like a login)
        and end every other session of the user; this one stays."""
        new = check_new(new, "new_password")
        keys = self.guard_keys(found.email, client)
        self.throttle.check(keys, now)
        user = self.users.get_user(found.email)
        if not self.passwords.verify(user.password_hash if user else None, current):
            self.throttle.failed(keys, now)
            raise InvalidCredentials
        self.users.set_password(found.email, self.passwords.hash(new), to_ms(now))
        others = [i for i in self.sessions.ids_of(found.email) if i != found.session_id]
        self.sessions.delete(found.email, others)

    # -- roles ----------------------------------------------------------------------------

    def roles(self, email: str) -> dict[str, str]:
        return self.users.roles_of(email)

    def members(self, site_id: str) -> list[Membership]:
        return sorted(self.users.members_of(site_id), key=lambda m: m.email)

    def grant(self, email: object, site_id: str, role: object, now: datetime, *,
              keep_an_admin: bool = False) -> tuple[Membership, bool]:
        """Give ``email`` ``role`` on the site; (membership, True when it is new)."""
        email = check_email(email)
        if role not in ROLES:
            raise InvalidRole(f"role: {role!r} is not one of {', '.join(ROLES)}")
        if self.users.get_user(email) is None:
            raise UnknownUser(f"no user {email}; an operator creates accounts with "
                              "`python -m api.manage user create`")
        before = self.users.roles_of(email).get(site_id)
        if keep_an_admin and before == ADMIN and role != ADMIN:
            self._keep_an_admin(site_id, email)
        self.users.set_role(email, site_id, role, to_ms(now))
        return Membership(site_id, email, role, to_ms(now)), before is None

    def revoke(self, email: object, site_id: str, *, keep_an_admin: bool = False) -> bool:
        """False when ``email`` had no role on the site."""
        email = normalize_email(email)
        before = self.users.roles_of(email).get(site_id)
        if before is None:
            return False
        if keep_an_admin and before == ADMIN:
            self._keep_an_admin(site_id, email)
        self.users.remove_role(email, site_id)
        return True

    def _keep_an_admin(self, site_id: str, leaving: str) -> None:
        admins = [m.email for m in self.users.members_of(site_id) if m.role == ADMIN]
        if admins == [leaving]:
            raise LastAdmin(f"{leaving} is the last admin of {site_id!r}; make someone "
                            "else admin first")

