"""The log collector: copies the output of every running container into Wharf's own log
store, so logs stay readable after Docker removes the container.

Docker's follow stream cannot be trusted with a noisy container: when Docker rotates its
log file while the stream lags behind (a container printing faster than the engine
streams, about 100,000 lines a second here), the stream skips the rest of the old file,
or sends part of it twice. So lines are read with `tail` reads, each a consistent view of
what Docker holds: a read asks for the last k lines and, until they reach back to the
newest line already kept, asks again for more. Every line Docker still holds when it is
read is kept (or, past Wharf's size limit, counted: logstore.py). Should Docker have
discarded lines before Wharf could read them, a line saying so marks the place.

A follow stream serves only as a wake-up: a quiet container costs nothing until it
prints; then its follower reads until it has been quiet for IDLE_AFTER, and waits again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Generator
from typing import Protocol

from wharf.domain.loglines import LogLine, parse_raw

log = logging.getLogger(__name__)

FIRST_TAIL = 1000  # lines asked for at first; four times as many each time it falls short
MAX_TAIL = 4_000_000  # more than Docker keeps of any container (30 MB of JSON)
POLL_EVERY = 0.05  # seconds between reads while a container prints
IDLE_AFTER = 0.5  # seconds without output before a follower waits for a wake-up again


_ENDED = object()


def engine_discarded(time: str) -> LogLine:
    return LogLine(time, "[wharf] the engine discarded earlier lines before Wharf could "
                         "read them; some may be missing here")


class LogWriter(Protocol):
    def write(self, lines: list[LogLine]) -> None: ...

    def close(self) -> None: ...


class LogSink(Protocol):
    def cursor(self, container_id: str) -> str: ...

    def writer(self, container_id: str) -> LogWriter: ...


class LogSource(Protocol):
    def tail_logs(self, container_id: str, count: int) -> list[str]:
        """The last `count` lines the engine holds, oldest first, with their times."""

    def watch_logs(self, container_id: str) -> Generator[None, None, None]:
        """Yields whenever the container prints; ends when it stops."""


def newer_lines(source: LogSource, container_id: str, after: str,
                guess: int = FIRST_TAIL) -> list[LogLine]:
    """Every line the engine holds that is newer than `after` ("" for all), oldest first;
    led by an `engine_discarded` line when the engine no longer holds `after` itself and
    may have dropped lines since."""
    count = max(guess, FIRST_TAIL)
    while True:
        lines = [parse_raw(raw) for raw in source.tail_logs(container_id, count) if raw]
        holds_all = len(lines) < count or count >= MAX_TAIL
        if lines and after and lines[0].time <= after:
            return [line for line in lines if line.time > after]  # reached what is kept
        if holds_all:
            if lines and after:
                return [engine_discarded(lines[0].time), *lines]
            return lines
        count *= 4


class LogCollector:
    def __init__(self, sink: LogSink) -> None:
        self.sink = sink
        self._following: dict[str, threading.Thread] = {}
        self._guard = threading.Lock()

    def follow(self, container_id: str, source: LogSource) -> None:
        """Starts following the container unless a follower runs already."""
        with self._guard:
            running = self._following.get(container_id)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(target=self._run, args=(container_id, source),
                                      daemon=True, name=f"wharf-logs-{container_id[:8]}")
            self._following[container_id] = thread
            thread.start()

    def _run(self, container_id: str, source: LogSource) -> None:
        with contextlib.closing(self.sink.writer(container_id)) as writer:
            follower = _Follower(container_id, source, writer,
                                 self.sink.cursor(container_id))
            try:
                follower.run()
            except Exception as error:  # the container or its engine went away
                log.debug("logs of %s: %s", container_id, error)

    def following(self) -> int:
        with self._guard:
            return sum(1 for t in self._following.values() if t.is_alive())


class _Follower:
    def __init__(self, container_id: str, source: LogSource, writer: LogWriter,
                 after: str) -> None:
        self.container_id = container_id
        self.source = source
        self.writer = writer
        self.after = after  # the newest line kept
        self.guess = FIRST_TAIL

    def run(self) -> None:
        while True:
            self.read_until_quiet()
            with contextlib.closing(self.source.watch_logs(self.container_id)) as wake:
                if self.read():  # printed before the watch began: read on
                    continue
                if next(wake, _ENDED) is _ENDED:
                    break  # stopped
        self.read()  # what it printed last

    def read(self) -> int:
        lines = newer_lines(self.source, self.container_id, self.after, self.guess)
        if lines:
            self.writer.write(lines)
            self.after = lines[-1].time
        self.guess = len(lines) + len(lines) // 4 + FIRST_TAIL
        return len(lines)

    def read_until_quiet(self) -> None:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < IDLE_AFTER:
            if self.read():
                quiet_since = time.monotonic()
            time.sleep(POLL_EVERY)  # (pacing the engine's reads, not waiting on a result)
