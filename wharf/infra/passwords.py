"""Passwords, hashed with argon2id by argon2-cffi (its default parameters: RFC 9106's
low-memory profile, about a sixth of a second a hash here). Hashing and checking are
slow on purpose, so they run on worker threads, at most a few at a time: a flood of
sign-ins waits its turn rather than taking every core.

An unknown e-mail is checked against a dummy hash, so that the answer takes as long as
for a known one and its time tells nothing.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from wharf.domain.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 128  # characters: the hash's cost grows with it, and nobody types more

_hasher = PasswordHasher()
_slots = anyio.CapacityLimiter(2)  # hashes at a time in this process
_DUMMY = _hasher.hash("wharf: no such member, but take as long as for one")


def check_password(password: str) -> str:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput("password", f"{MIN_LENGTH} to {MAX_LENGTH} characters")
    if not password.strip():
        raise InvalidInput("password", "not only spaces")
    if "\x00" in password:
        raise InvalidInput("password", "no NUL character")
    return password


async def hash_password(password: str) -> str:
    check_password(password)
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_slots)


async def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed (None: no such member; False after as long)."""
    if len(password) > MAX_LENGTH:
        return False  # (never set: nothing longer was ever hashed)

    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check, limiter=_slots)
