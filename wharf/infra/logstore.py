"""Container logs kept by Wharf: files under WHARF_HOME/logs/<container id>/, rotated.

Docker's own logs go with the container; these stay after it is removed, for as long as
the tenant's plan keeps them (`log_retention_hours`), and a timer deletes them after.
Each line is "<time> <text>", the time as the engine stamped it (RFC 3339, UTC, nine
fraction digits, so that times compare as strings).

`0.log` is the newest file; past FILE_BYTES it becomes `1.log`, and so on up to FILES
files. The lines of a file rotated out are counted in `dropped`, and a reader that goes
back past the oldest kept line is first told how many were dropped: the newest lines
are kept, and what was not kept is counted exactly.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from wharf.domain.loglines import LogLine, dropped_marker, normal_time, parse_raw

FILE_BYTES = 1024 * 1024  # a log file is rotated at this size
FILES = 5  # current plus four rotated: at most about 5 MiB per container
MAX_LINE = 16 * 1024  # characters kept of one line (Docker splits longer ones itself)
DROPPED = "dropped"


class LogStore:
    def __init__(self, root: Path, file_bytes: int = FILE_BYTES, files: int = FILES) -> None:
        self.root = root
        self.file_bytes = file_bytes
        self.files = files
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _dir(self, container_id: str) -> Path:
        return self.root / container_id

    def lock(self, container_id: str) -> threading.Lock:
        """Held while a container's files are written or rotated."""
        with self._guard:
            return self._locks.setdefault(container_id, threading.Lock())

    def cursor(self, container_id: str) -> str:
        """The time of the newest line kept ("" when none): a follower resumes after it."""
        for line in self._newest_first(container_id):
            return line.time
        return ""

    def writer(self, container_id: str) -> LogWriter:
        return LogWriter(self, container_id)

    def append(self, container_id: str, lines: list[LogLine]) -> None:
        """Appends lines (newer than what is kept) in one write."""
        if lines:
            with self.writer(container_id) as writer:
                writer.write(lines)

    def append_raw(self, container_id: str, lines: list[str]) -> None:
        """Lines as `docker logs --timestamps` gives them; those not newer than the newest
        kept are dropped (the engine's `since` is in whole seconds, so a resumed follower
        sees some again)."""
        cursor = self.cursor(container_id)
        self.append(container_id, [line for line in map(parse_raw, lines)
                                   if line.time > cursor])

    def read(self, container_id: str, tail: int = 100, since: str = "") -> list[LogLine]:
        """The newest `tail` lines, or the first `tail` after `since` (an RFC 3339 time)
        when given. A read that reaches back past the oldest kept line starts with a line
        saying how many earlier ones were dropped."""
        if tail <= 0:
            return []
        if since:
            return self._after(container_id, normal_time(since), tail)
        newest: list[LogLine] = []
        for line in self._newest_first(container_id):
            newest.append(line)
            if len(newest) == tail:
                break
        newest.reverse()
        dropped = self.dropped(container_id)
        if dropped and len(newest) < tail:
            newest.insert(0, dropped_marker(newest[0].time if newest else "", dropped))
        return newest[-tail:]

    def _after(self, container_id: str, since: str, limit: int) -> list[LogLine]:
        found: list[LogLine] = []
        first = True
        for line in self._oldest_first(container_id):
            if first:
                first = False
                dropped = self.dropped(container_id)
                if dropped and line.time > since:  # the reader missed what was dropped
                    found.append(dropped_marker(line.time, dropped))
            if line.time > since:
                found.append(line)
                if len(found) >= limit:
                    break
        return found

    def dropped(self, container_id: str) -> int:
        try:
            return int((self._dir(container_id) / DROPPED).read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _files(self, container_id: str) -> list[Path]:
        """Newest first."""
        directory = self._dir(container_id)
        return [directory / f"{n}.log" for n in range(self.files)]

    def _newest_first(self, container_id: str) -> Iterator[LogLine]:
        for path in self._files(container_id):
            yield from reversed(_read(path))

    def _oldest_first(self, container_id: str) -> Iterator[LogLine]:
        for path in reversed(self._files(container_id)):
            yield from _read(path)

    def exists(self, container_id: str) -> bool:
        return self._dir(container_id).is_dir()

    def containers(self) -> list[str]:
        return [p.name for p in self.root.iterdir() if p.is_dir()] if self.root.is_dir() else []

    def purge(self, container_id: str) -> None:
        with self.lock(container_id):
            shutil.rmtree(self._dir(container_id), ignore_errors=True)


class LogWriter:
    """Appends to one container's log, holding its newest file open between writes (a
    follower writes many small batches), rotating it past the size, and counting the
    lines of the file rotated out. A context manager: closing it closes the file."""

    def __init__(self, store: LogStore, container_id: str) -> None:
        self.store = store
        self.directory = store._dir(container_id)
        self.lock = store.lock(container_id)
        self._out: BinaryIO | None = None
        self._size = 0

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def write(self, lines: list[LogLine]) -> None:
        """Appends `lines`, rotating whenever the newest file reaches the size (a batch
        larger than a file spans several)."""
        if not lines:
            return
        with self.lock:
            out = self._open()
            chunk: list[bytes] = []
            for line in lines:
                data = f"{line.time} {line.text[:MAX_LINE]}\n".encode("utf-8", "replace")
                chunk.append(data)
                self._size += len(data)
                if self._size >= self.store.file_bytes:
                    out.write(b"".join(chunk))
                    chunk = []
                    self._rotate()
                    out = self._open()
            if chunk:
                out.write(b"".join(chunk))
            out.flush()

    def _open(self) -> BinaryIO:
        current = self.directory / "0.log"
        if self._out is None or not current.exists():  # (purged, or rotated by another)
            if self._out is not None:
                self._out.close()
            self.directory.mkdir(parents=True, exist_ok=True)
            self._out = current.open("ab")
            self._size = self._out.tell()
        return self._out

    def _rotate(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        files = self.store.files
        oldest = self.directory / f"{files - 1}.log"
        if oldest.exists():
            lines = oldest.read_bytes().count(b"\n")
            counter = self.directory / DROPPED
            try:
                before = int(counter.read_text() or 0)
            except (FileNotFoundError, ValueError):
                before = 0
            temporary = counter.with_suffix(".tmp")
            temporary.write_text(str(before + lines))
            os.replace(temporary, counter)
            oldest.unlink()
        for n in range(files - 2, -1, -1):
            source = self.directory / f"{n}.log"
            if source.exists():
                source.rename(self.directory / f"{n + 1}.log")
        self._size = 0

    def close(self) -> None:
        with self.lock:
            if self._out is not None:
                self._out.close()
                self._out = None


def _read(path: Path) -> list[LogLine]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    lines = []
    for raw in text.splitlines():
        stamp, _, rest = raw.partition(" ")
        if stamp:
            lines.append(LogLine(stamp, rest))
    return lines
