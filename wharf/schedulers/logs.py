"""The log collector: copies the output of every running container into Wharf's own log
store, so logs stay readable after Docker removes the container.

Docker's follow stream cannot be trusted with a noisy container: when Docker rotates its
log file while the stream lags behind (a container printing faster than the engine
streams, about 100,000 lines a second here), the stream skips the rest of the old file,
or sends part of it twice. So lines are read with `tail` reads, each a consistent view of
what Docker holds: a read asks for the last k lines and, until they reach back to the
newest line already kept, asks again for more (a read that falls short is abandoned at
its first line). Lines are streamed and written in batches, so memory stays small and a
reader sees them as they come. Every line Docker still holds when it is read is kept (or,
past Wharf's size limit, counted: logstore.py). Where Docker discarded lines before Wharf
could read them (it keeps a few files of each container and drops the oldest), a line
says so; how many, nobody can tell.

A follow stream serves only as a wake-up: a quiet container costs nothing until it
prints; then its follower reads until it has been quiet for IDLE_AFTER, and waits again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Protocol

from wharf.domain.loglines import LogLine, engine_discarded, parse_raw

log = logging.getLogger(__name__)

FIRST_TAIL = 1000  # lines asked for at first; four times as many each time it falls short
MAX_TAIL = 1_000_000  # more than Docker keeps of any container (30 MB of JSON)
BATCH = 2000  # lines written at once
POLL_EVERY = 0.05  # seconds between reads while a container prints
IDLE_AFTER = 0.5  # seconds without output before a follower waits for a wake-up again

_ENDED = object()


class LogWriter(Protocol):
    def write(self, lines: list[LogLine]) -> None: ...

    def close(self) -> None: ...


class LogSink(Protocol):
    def cursor(self, container_id: str) -> str: ...

    def writer(self, container_id: str) -> LogWriter: ...


class LogSource(Protocol):
    def tail_logs(self, container_id: str, count: int | None) -> Iterator[str]:
        """The last `count` lines (None: all) the engine holds, oldest first, with their
        times, as a stream (closing it ends the read)."""

    def watch_logs(self, container_id: str, from_start: bool = False
                   ) -> Generator[None, None, None]:
        """Yields whenever the container prints (at once, if `from_start` and it printed
        anything already); ends when it stops."""


def copy_newer(source: LogSource, container_id: str, after: str,
               write: Callable[[list[LogLine]], None], guess: int = FIRST_TAIL
               ) -> tuple[int, str]:
    """Writes every line the engine holds that is newer than `after` ("": all it holds),
    oldest first and in batches, led by an `engine_discarded` line when the engine no
    longer holds `after` itself. Returns how many lines, and the newest one's time."""
    count: int | None = None if not after else max(guess, FIRST_TAIL)
    while True:
        stream = source.tail_logs(container_id, count)
        with contextlib.closing(stream):  # type: ignore[type-var]
            first = _next_line(stream)
            if first is None:
                return 0, after
            batch: list[LogLine] = []
            if after and first.time > after:
                if count is not None and _holds(source, container_id, after):
                    count = count * 4 if count < MAX_TAIL else None
                    continue  # asked for too few: ask again, for more
                batch.append(engine_discarded(first.time))
            if first.time > after:
                batch.append(first)
            copied, newest = 0, after
            for raw in stream:
                if not raw:
                    continue
                line = parse_raw(raw)
                if line.time <= after:
                    continue
                batch.append(line)
                if len(batch) >= BATCH:
                    write(batch)
                    copied, newest, batch = copied + len(batch), batch[-1].time, []
            if batch:
                write(batch)
                copied, newest = copied + len(batch), batch[-1].time
            return copied, newest


def _next_line(stream: Iterator[str]) -> LogLine | None:
    for raw in stream:
        if raw:
            return parse_raw(raw)
    return None


def _holds(source: LogSource, container_id: str, time_: str) -> bool:
    """Whether the engine still holds lines as old as `time_` (its oldest line is read
    alone: a read of all it holds, abandoned at its first line)."""
    stream = source.tail_logs(container_id, None)
    with contextlib.closing(stream):  # type: ignore[type-var]
        oldest = _next_line(stream)
    return oldest is not None and oldest.time <= time_


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
        """Watches first (two engine calls for a container that stays quiet: many
        containers start at once, and their followers must not load the engine), and
        reads on while the container prints."""
        while True:
            # A follower of a new container asks its watch to wake it for what was
            # printed already: one engine call, not two.
            fresh = not self.after
            watch = self.source.watch_logs(self.container_id, from_start=fresh)
            with contextlib.closing(watch) as wake:
                printed = not fresh and self.read() > 0  # (printed before it began)
                if not printed and next(wake, _ENDED) is _ENDED:
                    break  # stopped
            self.read_until_quiet()
        self.read()  # what it printed last

    def read(self) -> int:
        copied, self.after = copy_newer(self.source, self.container_id, self.after,
                                        self.writer.write, self.guess)
        self.guess = copied + copied // 4 + FIRST_TAIL
        return copied

    def read_until_quiet(self) -> None:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < IDLE_AFTER:
            if self.read():
                quiet_since = time.monotonic()
            time.sleep(POLL_EVERY)  # (pacing the engine's reads, not waiting on a result)
