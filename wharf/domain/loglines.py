"""Lines of a container's output: their times, and the line that stands for lines
dropped. Pure: the log store (infra/logstore.py), the collector and the API share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class LogLine:
    time: str  # RFC 3339, UTC, nine fraction digits: times compare as strings
    text: str


ENGINE_GAP = "[wharf] the engine discarded lines here before Wharf could read them"


def dropped_marker(time: str, count: int, engine_gaps: int = 0) -> LogLine:
    """Stands before the oldest kept line for the `count` lines dropped before it (Wharf
    counts what it drops; what the engine discarded unread it cannot count)."""
    text = (f"[wharf] {count} earlier lines were dropped: over the log size limit, the "
            "newest lines are kept")
    if engine_gaps:
        text += ("; among them, the engine had discarded lines before Wharf could read "
                 "them (not counted)")
    return LogLine(time, text)


def engine_discarded(time: str) -> LogLine:
    """Marks where the engine had discarded lines before Wharf could read them (it keeps
    a few files of each container's output and drops the oldest)."""
    return LogLine(time, f"{ENGINE_GAP}; some may be missing")


def missed_marker(time: str, count: int) -> LogLine:
    """Told to a follower that fell behind by `count` lines rotated out before it read
    them."""
    return LogLine(time, f"[wharf] {count} lines were dropped here before this reader got "
                         "them (over the log size limit)")


def parse_raw(raw: str) -> LogLine:
    """A line as the engine gives it with timestamps: "<RFC 3339 time> <text>"."""
    stamp, _, text = raw.partition(" ")
    return LogLine(normal_time(stamp), text)  # (the engine always stamps its lines)




_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def normal_time(stamp: str) -> str:
    """An RFC 3339 time as UTC with exactly nine fraction digits, so that times compare
    as strings (Docker trims trailing zeros: "…:05.1Z" would sort after "…:05.123Z").
    "" for "" ; ValueError for what is not such a time."""
    if len(stamp) == 30 and stamp[19] == "." and stamp[29] == "Z" and stamp[10] == "T":
        return stamp  # already so (most of Docker's: it trims only trailing zeros)
    if not stamp:
        return ""
    match = _STAMP.match(stamp)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {stamp[:40]!r}")
    head, digits, zone = match.group(1), match.group(2) or "", match.group(3) or "Z"
    if zone not in ("Z", "+00:00", "-00:00"):  # another offset: move it to UTC
        moment = datetime.fromisoformat(f"{head}{zone}").astimezone(UTC)
        head = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{head}.{(digits + '000000000')[:9]}Z"


@dataclass(frozen=True)
class Dropped:
    """What a container's kept log lost to rotation."""

    lines: int = 0  # lines rotated out
    engine_gaps: int = 0  # of them, marks where the engine had discarded lines unread

    @property
    def total(self) -> int:
        return self.lines
