"""The log collector: follows the output of every running container into Wharf's own log
store, so logs stay readable after Docker removes the container.

One follower thread per running container; it resumes after the newest line kept (a
restarted scheduler neither loses nor repeats lines) and ends when the container stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Protocol

log = logging.getLogger(__name__)


class LogSink(Protocol):
    def cursor(self, container_id: str) -> str: ...

    def append_raw(self, container_id: str, lines: list[str]) -> None: ...


class LogSource(Protocol):
    def logs(self, container_id: str, since: str) -> Iterator[list[str]]: ...


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
        try:
            for lines in source.logs(container_id, self.sink.cursor(container_id)):
                self.sink.append_raw(container_id, lines)
        except Exception as error:  # the container or its engine went away
            log.debug("logs of %s: %s", container_id, error)

    def following(self) -> int:
        with self._guard:
            return sum(1 for t in self._following.values() if t.is_alive())
