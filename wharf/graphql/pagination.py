"""Relay connections over the read models' keyset pages (projections/reads): the page
types, the cursors (opaque to clients, checked when they come back) and `connection`."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import strawberry

from wharf.graphql.errors import ClientError
from wharf.projections.reads import Page, Reader

if TYPE_CHECKING:
    from wharf.graphql.context import Context

N = TypeVar("N")
R = TypeVar("R")


T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    """The key a cursor holds (None: no cursor); ClientError for anything this API did not
    give out: a list of `size` strings and numbers."""
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, TypeError, RecursionError):
        value = None
    if (not isinstance(value, list) or len(value) != size
            or not all(_key_part(v) for v in value)):
        raise ClientError("after: not a cursor this API gave out")
    return value


def _key_part(value: Any) -> bool:
    """What a cursor's key holds: text a store can be asked about, or a 64-bit integer."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value and len(value) <= 200
    return isinstance(value, int) and not isinstance(value, bool) and \
        -(2 ** 63) <= value < 2 ** 63



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
