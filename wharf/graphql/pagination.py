"""Relay connections over the read models' keyset pages (projections/reads)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from wharf.graphql.types import Connection, Edge, PageInfo, decode_cursor, encode_cursor
from wharf.projections.reads import Page, Reader

if TYPE_CHECKING:
    from wharf.graphql.context import Context

N = TypeVar("N")
R = TypeVar("R")


async def connection(
    context: Context, fetch: Callable[[Reader, Sequence[Any] | None], Page[R]],
    key_size: int, after: str | None, build: Callable[[R], N],
) -> Connection[N]:
    """A page `fetch` reads after the cursor `after` (a key of `key_size` parts), as a
    connection whose edges carry the cursors of their rows."""
    cursor = decode_cursor(after, key_size)
    page: Page[R] = await context.read(fetch, cursor)
    edges = [Edge(cursor=encode_cursor(*key), node=build(row))
             for row, key in zip(page.rows, page.keys, strict=True)]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None))
