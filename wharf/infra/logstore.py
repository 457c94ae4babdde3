"""Container logs kept by Wharf: files under WHARF_HOME/logs/<container id>/, rotated.

Docker's own logs go with the container; these stay after it is removed, for as long as
the tenant's plan keeps them (`log_retention_hours`), and a timer deletes them after.
Each line is "<time> <text>", the time as the engine stamped it (RFC 3339, UTC).
"""

from __future__ import annotations

import shutil
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FILE_BYTES = 1024 * 1024  # a log file is rotated at this size
FILES = 5  # current plus four rotated: at most about 5 MiB per container


@dataclass(frozen=True)
class LogLine:
    time: str
    text: str


class LogStore:
    def __init__(self, root: Path, file_bytes: int = FILE_BYTES, files: int = FILES) -> None:
        self.root = root
        self.file_bytes = file_bytes
        self.files = files
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _dir(self, container_id: str) -> Path:
        return self.root / container_id

    def _lock(self, container_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(container_id, threading.Lock())

    def cursor(self, container_id: str) -> str:
        """The time of the newest line kept ("" when none): a follower resumes after it."""
        newest = ""
        for line in self._tail_of(self._dir(container_id) / "0.log", 1):
            newest = line.time
        if not newest:
            for line in self._tail_of(self._dir(container_id) / "1.log", 1):
                newest = line.time
        return newest

    def append(self, container_id: str, lines: list[LogLine]) -> None:
        if not lines:
            return
        directory = self._dir(container_id)
        with self._lock(container_id):
            directory.mkdir(parents=True, exist_ok=True)
            current = directory / "0.log"
            with current.open("a", encoding="utf-8") as out:
                for line in lines:
                    out.write(f"{line.time} {line.text}\n")
            if current.stat().st_size >= self.file_bytes:
                self._rotate(directory)

    def _rotate(self, directory: Path) -> None:
        (directory / f"{self.files - 1}.log").unlink(missing_ok=True)
        for n in range(self.files - 2, -1, -1):
            source = directory / f"{n}.log"
            if source.exists():
                source.rename(directory / f"{n + 1}.log")

    def append_raw(self, container_id: str, lines: list[str]) -> None:
        """Lines as `docker logs --timestamps` gives them; older than the cursor: dropped
        (the engine's `since` is in whole seconds, so a resumed follower sees some again)."""
        cursor = self.cursor(container_id)
        parsed = []
        for raw in lines:
            stamp, _, text = raw.partition(" ")
            line = LogLine(normal_time(stamp), text)
            if line.time > cursor:
                parsed.append(line)
        self.append(container_id, parsed)

    def read(self, container_id: str, tail: int = 100, since: str = "") -> list[LogLine]:
        """The newest `tail` lines, or those after `since` (an RFC 3339 time) if given."""
        kept: deque[LogLine] = deque(maxlen=max(tail, 0))
        since = normal_time(since)
        for line in self._lines(container_id):
            if not since or line.time > since:
                kept.append(line)
        return list(kept)

    def _lines(self, container_id: str) -> Iterator[LogLine]:
        directory = self._dir(container_id)
        for n in range(self.files - 1, -1, -1):
            path = directory / f"{n}.log"
            if path.exists():
                yield from _parse(path.read_text(encoding="utf-8", errors="replace"))

    def _tail_of(self, path: Path, count: int) -> list[LogLine]:
        if not path.exists():
            return []
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
        return list(_parse(text))[-count:]

    def exists(self, container_id: str) -> bool:
        return self._dir(container_id).is_dir()

    def containers(self) -> list[str]:
        return [p.name for p in self.root.iterdir() if p.is_dir()] if self.root.is_dir() else []

    def purge(self, container_id: str) -> None:
        shutil.rmtree(self._dir(container_id), ignore_errors=True)


def _parse(text: str) -> Iterator[LogLine]:
    for raw in text.splitlines():
        stamp, _, rest = raw.partition(" ")
        if stamp:
            yield LogLine(stamp, rest)


def normal_time(stamp: str) -> str:
    """An RFC 3339 UTC time with exactly nine fraction digits, so that times compare as
    strings (Docker trims trailing zeros: "…:05.1Z" would sort after "…:05.123Z")."""
    if not stamp:
        return ""
    head, dot, rest = stamp.rstrip("Z").partition(".")
    if "+" in head[10:]:
        head = head.split("+")[0]
    digits = rest.split("+")[0] if dot else ""
    return f"{head}.{(digits + '000000000')[:9]}Z"
