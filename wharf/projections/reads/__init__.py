"""Typed reads of the read models: the one way other layers (the API, the scheduler, the
timers, the CLI) read them. Each module holds one read model's rows, as frozen
dataclasses, and the queries that return them; SQL stays in `projections/`.

Every query takes a `Reader` (the read-model store, or a mutation's reader at its own
position) as its first argument and returns rows; pages are keyset-ordered (`Page`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

R = TypeVar("R")
MAX_PAGE = 100


class Reader(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Page(Generic[R]):
    rows: list[R]
    keys: list[tuple[Any, ...]]  # each row's keyset position, for the cursors
    has_next: bool


def keyset_page(
    reader: Reader, sql: str, params: tuple[Any, ...], keys: tuple[str, ...], first: int,
    after: Sequence[Any] | None, build: Callable[[dict[str, Any]], R],
    descending: bool = False,
) -> Page[R]:
    """A page of a keyset-ordered query: `sql` has a WHERE clause and no ORDER BY; `after`
    is the key of the last row of the page before (a cursor's content)."""
    first = max(0, min(first, MAX_PAGE))
    columns = ", ".join(keys)
    if after is not None:
        marks = ", ".join("?" * len(keys))
        sql += f" AND ({columns}) {'<' if descending else '>'} ({marks})"
        params = (*params, *after)
    order = ", ".join(f"{k} {'DESC' if descending else 'ASC'}" for k in keys)
    found = reader.query(f"{sql} ORDER BY {order} LIMIT {first + 1}", params)
    rows = found[:first]
    return Page([build(row) for row in rows], [tuple(row[k] for k in keys) for row in rows],
                has_next=len(found) > first)
