"""Rate limits: a token bucket per caller, and a back-off for addresses that keep sending
bad tokens. Both answer 429 with Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_TRACKED = 100_000  # callers remembered at once; the oldest are forgotten beyond it


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
            tokens, then = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1 - tokens) / self.rate
            _forget_oldest(self._buckets)
            return wait


class AuthFailures:
    """After `free` failures from one address, each further failure makes that address's
    bad tokens wait twice as long as before (up to `longest` seconds). Good tokens from
    the same address are never refused; the count is forgotten `longest` seconds after
    the last failure (not by a success, which an attacker holding one token could send)."""

    def __init__(self, free: int = 5, longest: float = 60.0,
                 now: Callable[[], float] = time.monotonic):
        self.free = free
        self.longest = longest
        self.now = now
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def failed(self, address: str) -> float:
        """Counts a failure; returns how long the address's bad tokens must now wait."""
        with self._lock:
            count, _ = self._count(address)
            count = min(count + 1, self.free + 30)  # (a count past the longest wait is moot)
            self._failures.pop(address, None)
            self._failures[address] = (count, self.now())
            _forget_oldest(self._failures)
        return self._wait(count)

    def retry_after(self, address: str) -> float:
        with self._lock:
            count, last = self._count(address)
        if not count:
            return 0.0
        return max(0.0, last + self._wait(count) - self.now())

    def _count(self, address: str) -> tuple[int, float]:
        count, last = self._failures.get(address, (0, 0.0))
        if count and self.now() - last > self.longest:
            return 0, 0.0
        return count, last

    def _wait(self, count: int) -> float:
        if count < self.free:
            return 0.0
        return min(self.longest, 2.0 ** min(count - self.free, 30))


def _forget_oldest(table: dict[str, tuple[float, float]] | dict[str, tuple[int, float]]
                   ) -> None:
    """Keeps a table of callers bounded: a flood of new keys cannot grow it for ever.
    (Dicts keep insertion order and every write re-inserts its key, so the first is the
    least recently used.)"""
    while len(table) > MAX_TRACKED:
        del table[next(iter(table))]
