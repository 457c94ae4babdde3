"""The gate every API call passes first, over HTTP and WebSocket alike: who is calling,
and may they call now.

- No token, or not a bearer token: 401 (no operation is open to anonymous callers, so
  an anonymous document is never even validated).
- A caller over its rate: 429 with Retry-After (a bucket per token, and one per member,
  so that issuing more tokens buys no more requests).
- A bad token: 401, one message whatever was wrong with it (unknown, expired, revoked,
  malformed), so that the answer tells an attacker nothing. An address that keeps
  sending bad tokens gets 429 with a doubling Retry-After (up to a minute); meanwhile
  its tokens are not even looked up, except those that have proved good in this process
  (one bad client behind a shared address does not lock out its neighbours' tokens;
  a token never used before waits out the back-off). Tokens are 256-bit random strings:
  the back-off sheds a bad client's load, guessing is hopeless anyway.

The address is the peer's, or the one a configured proxy forwarded (uvicorn's proxy
headers, trusted only from WHARF_TRUSTED_PROXIES).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread

from wharf.commands.actors import Actor
from wharf.domain.errors import Forbidden
from wharf.infra.ratelimit import AuthFailures, TokenBuckets

BAD_TOKEN = "invalid token: it is unknown, expired or revoked"
MAX_TOKEN = 200  # characters: Wharf's tokens have about 80
PROVED = 10_000  # tokens remembered as good, the least recently used forgotten first
NO_TOKEN = "authentication required: send Authorization: Bearer <token>"


@dataclass(frozen=True)
class Refusal:
    status: int  # 401 or 429
    message: str
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


@dataclass(frozen=True)
class Admitted:
    actor: Actor
    token: str  # kept for the life of a WebSocket, to notice its revocation
    key: str  # the caller: its member (or operator), whichever token it came with


class Gate:
    def __init__(self, authenticate: Callable[[str], Actor], buckets: TokenBuckets,
                 failures: AuthFailures) -> None:
        self.authenticate = authenticate
        self.buckets = buckets
        self.failures = failures
        self._proved: OrderedDict[str, None] = OrderedDict()  # tokens that were good
        self._lock = threading.Lock()

    async def admit(self, address: str, authorization: str | None) -> Admitted | Refusal:
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return Refusal(401, NO_TOKEN)
        if len(token) > MAX_TOKEN or not (token.isascii() and token.isprintable()):
            return self.refuse_bad_token(address)  # no token Wharf issues looks like it
        key = token_key(token)
        wait = self.buckets.take(key)
        if wait:
            return Refusal(429, "too many requests for this token; retry later", wait)
        backing_off = self.failures.retry_after(address)
        if backing_off and not self._was_good(key):
            return Refusal(429, "too many bad tokens from this address; retry later",
                           backing_off)
        try:
            actor = await anyio.to_thread.run_sync(self.authenticate, token)
        except Forbidden:
            return self.refuse_bad_token(address)
        self._proved_good(key)
        caller = caller_key(actor)
        wait = self.buckets.take(caller)
        if wait:
            return Refusal(429, "too many requests from this member; retry later", wait)
        return Admitted(actor, token, caller)

    def _was_good(self, key: str) -> bool:
        with self._lock:
            return key in self._proved

    def _proved_good(self, key: str) -> None:
        with self._lock:
            self._proved[key] = None
            self._proved.move_to_end(key)
            while len(self._proved) > PROVED:
                self._proved.popitem(last=False)

    def refuse_bad_token(self, address: str) -> Refusal:
        wait = self.failures.retry_after(address)
        self.failures.failed(address)
        if wait:
            return Refusal(429, "too many bad tokens from this address; retry later", wait)
        return Refusal(401, BAD_TOKEN)

    def take(self, key: str) -> float:
        """One more operation for an admitted caller (a WebSocket's subscribe): 0 when
        it may go ahead, else the seconds until it may."""
        return self.buckets.take(key)

    async def still_valid(self, token: str) -> bool:
        try:
            await anyio.to_thread.run_sync(self.authenticate, token)
        except Forbidden:
            return False
        return True


def token_key(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode()).hexdigest()


def caller_key(actor: Actor) -> str:
    return f"caller:{actor.tenant_id}:{actor.label}"
