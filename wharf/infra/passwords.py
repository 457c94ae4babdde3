"""Passwords, hashed with argon2id by argon2-cffi, with OWASP's recommended parameters
(19 MiB, two passes, one lane: about 25 ms a hash here). Hashing and checking are slow
on purpose, so they run on worker threads, two at a time, and at most WAITING more wait
their turn: past that, an anonymous caller is told to retry (`Busy`) at once rather
than queued behind a flood. A caller the sign-in knows to be good (`known`) may wait
while KNOWN more do: the queue, and the worker threads it holds, stay bounded even when
an attacker signs in to accounts of their own to be "known".

An unknown e-mail is checked against a dummy hash, so that the answer takes as long as
for a known one and its time tells nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from wharf.domain.errors import Conflict, InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 128  # characters: the hash's cost grows with it, and nobody types more
SLOTS = 2  # hashes at a time in this process
WAITING = 8  # hashes that may wait for a slot, past which strangers are turned away
KNOWN = 8  # more that callers known to be good may add, past which they are too

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY = _hasher.hash("wharf: no such member, but take as long as for one")


T = TypeVar("T")


class Busy(Conflict):
    """Too many passwords being checked: retry in a moment."""

    def __init__(self) -> None:
        super().__init__("too many passwords being checked right now: retry in a few seconds")


class _Queue:
    def __init__(self) -> None:
        self.slots = threading.BoundedSemaphore(SLOTS)
        self.lock = threading.Lock()
        self.waiting = 0

    def run(self, work: Callable[[], T], known: bool) -> T:
        with self.lock:
            if self.waiting >= SLOTS + WAITING + (KNOWN if known else 0):
                raise Busy
            self.waiting += 1
        try:
            with self.slots:
                return work()
        finally:
            with self.lock:
                self.waiting -= 1


_queue = _Queue()


def check_password(password: str) -> str:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput("password", f"{MIN_LENGTH} to {MAX_LENGTH} characters")
    if not password.strip():
        raise InvalidInput("password", "not only spaces")
    if "\x00" in password:
        raise InvalidInput("password", "no NUL character")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("password", "not text (an unpaired surrogate)") from None
    return password


def hash_here(password: str) -> str:
    """The new password's hash, made on this thread (the CLI's: no queue to wait in)."""
    return _hasher.hash(check_password(password))


async def hash_password(password: str, known: bool = False) -> str:
    """The new password's hash; InvalidInput for a password too short or long, Busy when
    too many wait."""
    check_password(password)
    hashed: str = await anyio.to_thread.run_sync(
        _queue.run, lambda: _hasher.hash(password), known)
    return hashed


async def verify(password_hash: str | None, password: str, known: bool = False) -> bool:
    """Whether `password` is the one hashed (None or "": no password; False after as
    long). Busy when too many wait."""
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return False
    if len(password) > MAX_LENGTH:
        return False  # (never set: nothing longer was ever hashed)

    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    found: bool = await anyio.to_thread.run_sync(_queue.run, check, known)
    return found
