"""Container logs kept by Wharf: files under WHARF_HOME/logs/<container id>/, rotated.

Docker's own logs go with the container; these stay after it is removed, for as long as
the tenant's plan keeps them (`log_retention_hours`), and a timer deletes them after.
Each line is "<time> <text>\\n", the time as the engine stamped it (RFC 3339, UTC, nine
fraction digits, so that times compare as strings); a line is what ends with "\\n" and
nothing else (a "\\r" or a form feed inside it is part of its text).

`0.log` is the newest file; past FILE_BYTES it becomes `1.log`, and so on up to FILES
files. The lines of a file rotated out are counted in `dropped` (and the engine's own
gaps among them apart), and a reader that goes back past the oldest kept line is first
told how many were dropped: the newest lines are kept, and what was not kept is counted
exactly. Every line has an index, its place among all the lines ever kept (dropped ones
included), so that a follower that fell behind can tell exactly how many it missed.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import BinaryIO

from wharf.domain.loglines import (
    ENGINE_GAP,
    Dropped,
    LogLine,
    dropped_marker,
    normal_time,
    parse_raw,
)

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
        """Held while a container's files are written, rotated or read."""
        with self._guard:
            return self._locks.setdefault(container_id, threading.Lock())

    def cursor(self, container_id: str) -> str:
        """The time of the newest line kept ("" when none): a follower resumes after it."""
        with self.lock(container_id):
            for path in self._files(container_id):
                last = _last_time(_bytes(path))
                if last:
                    return last
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
            first, lines = self.lines_after(container_id, normal_time(since), tail)
            dropped = self.dropped(container_id)
            if lines and dropped.total and first == dropped.total + 1:
                # This read begins at the oldest kept line: what came before is counted.
                lines = [dropped_marker(lines[0].time, dropped.total,
                                        dropped.engine_gaps), *lines[:tail - 1]]
            return lines
        with self.lock(container_id):
            dropped = self._dropped(container_id)
            newest: list[LogLine] = []
            for path in self._files(container_id):
                for line in reversed(_parse(_bytes(path))):
                    newest.append(line)
                    if len(newest) == tail:
                        break
                if len(newest) == tail:
                    break
        newest.reverse()
        if dropped.total and len(newest) < tail:
            newest.insert(0, dropped_marker(newest[0].time if newest else "",
                                            dropped.total, dropped.engine_gaps))
        return newest[-tail:]

    def lines_after(self, container_id: str, since: str, limit: int
                    ) -> tuple[int, list[LogLine]]:
        """The first `limit` lines newer than `since` ("": from the oldest kept), and the
        index of the first of them among every line ever kept (1 for the first line ever
        written; dropped lines count). Files entirely older than `since` are counted,
        not parsed, so a follower's frequent reads stay cheap."""
        with self.lock(container_id):
            index = self._dropped(container_id).total + 1
            found: list[LogLine] = []
            for path in reversed(self._files(container_id)):
                data = _bytes(path)
                if not data:
                    continue
                if since and _last_time(data) <= since:
                    index += data.count(b"\n")
                    continue
                for line in _parse(data):
                    if since and line.time <= since:
                        index += 1
                        continue
                    found.append(line)
                    if len(found) >= limit:
                        return index, found
            return index, found

    def dropped(self, container_id: str) -> Dropped:
        with self.lock(container_id):
            return self._dropped(container_id)

    def _dropped(self, container_id: str) -> Dropped:
        return read_dropped(self._dir(container_id) / DROPPED)

    def _files(self, container_id: str) -> list[Path]:
        """Newest first."""
        directory = self._dir(container_id)
        return [directory / f"{n}.log" for n in range(self.files)]

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
                text = line.text[:MAX_LINE].replace("\n", " ")
                data = f"{line.time} {text}\n".encode("utf-8", "replace")
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
            data = oldest.read_bytes()
            counter = self.directory / DROPPED
            before = read_dropped(counter)
            temporary = counter.with_suffix(".tmp")
            lines = data.count(b"\n")
            gaps = data.count(ENGINE_GAP.encode())
            temporary.write_text(f"{before.lines + lines} {before.engine_gaps + gaps}")
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


def read_dropped(path: Path) -> Dropped:
    try:
        parts = path.read_text().split()
    except FileNotFoundError:
        return Dropped()
    try:
        return Dropped(int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)
    except (IndexError, ValueError):
        return Dropped()


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _parse(data: bytes) -> list[LogLine]:
    """The lines of a file: split at "\\n" only; a line whose head is not one of Wharf's
    times (none should be) is left out rather than misread."""
    lines = []
    for raw in data.decode("utf-8", errors="replace").split("\n"):
        stamp, _, text = raw.partition(" ")
        if len(stamp) == 30 and stamp[-1] == "Z" and stamp[10] == "T":
            lines.append(LogLine(stamp, text))
    return lines


def _last_time(data: bytes) -> str:
    """The time of a file's last line ("" for an empty file)."""
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    stamp = last[:30].decode("ascii", errors="replace")
    return stamp if len(stamp) == 30 and stamp.endswith("Z") else ""
