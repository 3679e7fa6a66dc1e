"""Console passwords, hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory
profile). Only the hash is stored; `verify` also says when a hash should be redone with
newer parameters."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()


class WeakPassword(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


DUMMY_HASH = _hasher.hash("omnisync: not anybody's password")
"""Verified against when the name is unknown, so a wrong name takes as long as a wrong
password and the time does not tell which names exist."""
