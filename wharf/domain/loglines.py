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


def dropped_marker(time: str, count: int) -> LogLine:
    """Stands before the oldest kept line for the `count` lines dropped before it."""
    return LogLine(time, f"[wharf] {count} earlier lines were dropped: over the log size "
                         "limit, the newest lines are kept")


def parse_raw(raw: str) -> LogLine:
    """A line as the engine gives it with timestamps: "<RFC 3339 time> <text>"."""
    stamp, _, text = raw.partition(" ")
    return LogLine(normal_time(stamp), text)  # (the engine always stamps its lines)




_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def normal_time(stamp: str) -> str:
    """An RFC 3339 time as UTC with exactly nine fraction digits, so that times compare
    as strings (Docker trims trailing zeros: "…:05.1Z" would sort after "…:05.123Z").
    "" for "" ; ValueError for what is not such a time."""
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
