"""Keyset pagination into Relay-style connections."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from wharf.graphql.types import Connection, Edge, PageInfo, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from wharf.graphql.context import Context

N = TypeVar("N")
MAX_PAGE = 100


async def page(
    context: Context, sql: str, params: tuple[Any, ...], keys: tuple[str, ...], first: int,
    after: str | None, build: Callable[[dict[str, Any]], N], descending: bool = False,
) -> Connection[N]:
    """A page of a keyset-ordered query: `sql` has a WHERE clause and no ORDER BY."""
    first = max(0, min(first, MAX_PAGE))
    cursor = decode_cursor(after, len(keys))
    columns = ", ".join(keys)
    if cursor is not None:
        marks = ", ".join("?" * len(keys))
        sql += f" AND ({columns}) {'<' if descending else '>'} ({marks})"
        params = (*params, *cursor)
    order = ", ".join(f"{k} {'DESC' if descending else 'ASC'}" for k in keys)
    rows = await context.read(f"{sql} ORDER BY {order} LIMIT {first + 1}", params)
    edges = [Edge(cursor=encode_cursor(*(row[k] for k in keys)), node=build(row))
             for row in rows[:first]]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None))


