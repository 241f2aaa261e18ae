"""Password hashes (argon2id, ``argon2-cffi``) and the rules a new password must meet.
Shared by the people's accounts and the passwords of shared links (no Falcon in here)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 1024


class WeakPassword(ValueError):
    pass


def check_new(password: object, field: str = "password") -> str:
    """``password`` if it may be set; :class:`WeakPassword` with the reason otherwise."""
    if not isinstance(password, str):
        raise WeakPassword(f"{field}: must be a string")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"{field}: at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"{field}: at most {MAX_LENGTH} characters")
    return password


class Passwords:
    """Hash and verify with one :class:`argon2.PasswordHasher` (argon2-cffi's defaults:
    argon2id, RFC 9106's low-memory profile; tests pass a cheap one)."""

    def __init__(self, hasher: PasswordHasher | None = None):
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash("not the password of anyone")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: object) -> bool:
        """True when ``password`` matches; with no hash (unknown user) a dummy hash is
        checked, so an unknown address costs the same time as a wrong password."""
        if not isinstance(password, str) or len(password) > MAX_LENGTH:
            password = ""
        try:
            return self.hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """The hash was made with other parameters than the current ones."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return False
