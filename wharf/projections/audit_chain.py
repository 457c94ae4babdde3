"""The audit trail's hash chain: each tenant's entries, in log order, each linked to the
one before by SHA-256, so that altering, removing or reordering any entry breaks every
link after it; the tenant's head (its last entry, and how many there are) catches the
removal of the last ones. Pure: the projection links, `wharf audit verify` checks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64  # the link before a tenant's first entry


def link(previous: str, entry: Sequence[Any]) -> str:
    """The chain value of `entry` (position, tenant, object, kind, version, time, actor,
    cause, type, summary) after `previous`."""
    text = json.dumps(list(entry), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{text}".encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first entry whose link does not hold, or a head that does not match."""

    position: int | None
    what: str


def verify(entries: Iterable[tuple[Sequence[Any], str]],
           head: tuple[int, str, int] | None) -> tuple[int, Break | None]:
    """Walks (entry, its stored chain value) in position order; how many entries it
    checked, and the first break (None: the chain holds)."""
    previous, checked, last = GENESIS, 0, None
    for entry, chain in entries:
        try:
            position = int(entry[0])
            linked = link(previous, entry)
        except (TypeError, ValueError):  # a value no longer of the type it was written as
            return checked, Break(_position(entry), (
                f"entry {entry[0]!r} cannot be read as it was written: it was altered"))
        if last is not None and position <= last:
            return checked, Break(position, f"entry {position} is out of order after {last}")
        if linked != chain:
            return checked, Break(position, (
                f"entry {position} does not match the chain: it was altered, or an entry "
                f"before it (after {last if last is not None else 'the start'}) was removed, "
                "altered or reordered"))
        previous, last, checked = chain, position, checked + 1
    if head is None:
        return checked, (None if checked == 0 else
                         Break(last, "the chain has entries but no head"))
    head_position, head_chain, count = head
    if (last, checked) != (head_position, count):
        return checked, Break(last, (
            f"the chain ends at entry {last} after {checked} entries, but its head says "
            f"entry {head_position} after {count}: entries at the end were removed or "
            "added"))
    if previous != head_chain:
        return checked, Break(last, (
            f"the chain's last link (entry {last}) is not the one its head keeps: the last "
            "entry or the head was altered"))
    return checked, None


def _position(entry: Sequence[Any]) -> int | None:
    try:
        return int(entry[0])
    except (TypeError, ValueError):
        return None
