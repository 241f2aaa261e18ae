"""Who a read-API request acts for (no Falcon in here): an API token, a signed-in person
(session cookie), or a shared link (``X-Share-Token``). Each answers ``may_read(site_id)``
and ``role(site_id)`` (``"admin"``, ``"viewer"`` or None), and has a ``key`` that limits
per caller count by (the ad-hoc jobs one may have at once).

Credentials are tried in this order: ``Authorization: Bearer`` (explicit), then
``X-Share-Token`` (explicit), then the ``sl_session`` cookie (ambient). A credential that
is present but wrong is refused; it never falls through to the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from analytics.storage.accounts import VIEWER
from analytics.storage.browser_sessions import BrowserSession
from analytics.storage.shared_links import SharedLink
from api.read.accounts import Accounts
from api.read.sharing import SharedLinks
from api.read.tokens import Token

SESSION_COOKIE = "sl_session"
UNLOCK_COOKIE_PREFIX = "sl_share_"


def unlock_cookie(link_id: str) -> str:
    return UNLOCK_COOKIE_PREFIX + link_id


class AuthFailure(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class NoCredentials(AuthFailure):
    pass


class BadCredentials(AuthFailure):
    """A token or session that is malformed, unknown, revoked or expired."""


class UnknownShare(AuthFailure):
    pass


class LockedShare(AuthFailure):
    pass


@dataclass(frozen=True)
class TokenPrincipal:
    token: Token
    kind = "token"
    read_only = False
    name = "this token"

    @property
    def key(self) -> str:
        return f"token:{self.token.token_id}"

    def may_read(self, site_id: str) -> bool:
        return self.token.may_read(site_id)

    def role(self, site_id: str) -> str | None:
        """API tokens read: they are viewers of their sites."""
        return VIEWER if self.may_read(site_id) else None


@dataclass(frozen=True)
class UserPrincipal:
    email: str
    roles: Mapping[str, str]
    session: BrowserSession
    kind = "user"
    read_only = False

    @property
    def name(self) -> str:
        return self.email

    @property
    def key(self) -> str:
        return f"user:{self.email}"

    def may_read(self, site_id: str) -> bool:
        return site_id in self.roles

    def role(self, site_id: str) -> str | None:
        return self.roles.get(site_id)


@dataclass(frozen=True)
class SharePrincipal:
    link: SharedLink
    kind = "share"
    read_only = True
    name = "this shared link"

    @property
    def key(self) -> str:
        return f"share:{self.link.link_id}"

    def may_read(self, site_id: str) -> bool:
        return site_id == self.link.site_id

    def role(self, site_id: str) -> str | None:
        return None


Principal = TokenPrincipal | UserPrincipal | SharePrincipal

LOGIN_HINT = ("log in (POST /api/v1/auth/login) or send Authorization: Bearer <token> "
              "(make one with: python -m api.manage token create --site <site>)")


class Principals:
    def __init__(self, tokens, accounts: Accounts, links: SharedLinks):
        self.tokens = tokens
        self.accounts = accounts
        self.links = links

    def resolve(self, *, authorization: str | None, share_token: str | None,
                cookie: Callable[[str], str | None], now: datetime) -> Principal:
        if authorization is not None:
            return self._token(authorization, now)
        if share_token is not None:
            return self._share(share_token, cookie)
        secret = cookie(SESSION_COOKIE)
        if secret is not None:
            found = self.accounts.session(secret, now)
            if found is None:
                raise BadCredentials("session_expired",
                                     "the session ended or expired; log in again")
            return UserPrincipal(found.email, self.accounts.roles(found.email), found)
        raise NoCredentials("authentication_required", LOGIN_HINT)

    def _token(self, header: str, now: datetime) -> TokenPrincipal:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise NoCredentials("token_required", "send Authorization: Bearer <token> "
                                "(make one with: python -m api.manage token create --site "
                                "<site>)")
        token = self.tokens.verify(raw.strip())
        if token is None:
            raise BadCredentials("invalid_token", "the token is unknown or revoked")
        if token.expired(now):
            raise BadCredentials("token_expired", (
                f"the token expired at {token.expires_at:%Y-%m-%d %H:%M} UTC; make a new one "
                "with: python -m api.manage token create"))
        return TokenPrincipal(token)

    def _share(self, raw: str, cookie: Callable[[str], str | None]) -> SharePrincipal:
        link = self.links.find(raw.strip())
        if link is None:
            raise UnknownShare("unknown_link", "this shared link was revoked or never existed")
        if not self.links.unlocked(link, cookie(unlock_cookie(link.link_id))):
            raise LockedShare("link_locked", "this shared link has a password: POST it to "
                              "/api/v1/share/{secret}/unlock first")
        return SharePrincipal(link)
