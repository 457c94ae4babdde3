"""Rate limits: a token bucket per bearer token, and a back-off for addresses that keep
failing to authenticate. Both answer 429 with Retry-After, before any GraphQL work."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


class TokenBuckets:
    def __init__(self, rate: float, burst: int, now: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.now = now
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when a request may go ahead, else the seconds until it may."""
        if self.rate == float("inf"):
            return 0.0
        with self._lock:
            now = self.now()
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


class AuthFailures:
    """After `free` failures from one address, each further attempt waits twice as long
    as the one before (up to `longest` seconds); a success forgets the address."""

    def __init__(self, free: int = 5, longest: float = 60.0,
                 now: Callable[[], float] = time.monotonic):
        self.free = free
        self.longest = longest
        self.now = now
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def failed(self, address: str) -> None:
        with self._lock:
            count, _ = self._failures.get(address, (0, 0.0))
            self._failures[address] = (count + 1, self.now())

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

    def retry_after(self, address: str) -> float:
        with self._lock:
            count, last = self._failures.get(address, (0, 0.0))
        if count < self.free:
            return 0.0
        wait = min(self.longest, 2.0 ** (count - self.free))
        return max(0.0, last + wait - self.now())


class RateLimit:
    """ASGI middleware for /graphql over HTTP."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets, failures: AuthFailures) -> None:
        self.app = app
        self.buckets = buckets
        self.failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        wait = self.failures.retry_after(address)
        if not wait:
            wait = self.buckets.take(caller_key(scope, address))
        if wait:
            await _too_many(send, wait)
            return
        await self.app(scope, receive, send)


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def caller_key(scope: Scope, address: str) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return "token:" + hashlib.sha256(value).hexdigest()
    return "address:" + address


async def _too_many(send: Send, wait: float) -> None:
    body = json.dumps({"errors": [{"message": "too many requests; retry later"}]}).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(max(1, math.ceil(wait))).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": 429, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
