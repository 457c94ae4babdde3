"""The per-request context: who is calling, and the read side at the position they need."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import anyio.to_thread
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from wharf.commands.actors import Actor
from wharf.domain.errors import Forbidden
from wharf.graphql.errors import ClientError
from wharf.graphql.ports import Backend, Models
from wharf.projections.reads import Reader
from wharf.projections.reads import hosts as host_reads
from wharf.projections.reads import repositories as repository_reads
from wharf.projections.reads import tenants as tenant_reads
from wharf.projections.reads.repositories import TagRow
from wharf.projections.reads.tenants import TenantRow

T = TypeVar("T")
READ_SIDE_TIMEOUT = 10.0
OTHER_PROCESS_POLL = 0.25  # seconds between looks at a read side another process writes


class ReadSideBehind(ClientError):
    """The read side did not reach a position in time (the projector is behind or
    stopped): the client may retry; nothing it wrote is lost."""

    def __init__(self, wanted: int, reached: int) -> None:
        super().__init__(f"the read side has reached position {reached}, not yet {wanted} "
                         f"(waited {READ_SIDE_TIMEOUT:g} s); retry later")


@dataclass
class Context:
    backend: Backend
    actor: Actor | None
    min_position: int = 0
    connection_params: dict[str, Any] | None = None  # graphql-transport-ws connection_init
    address: str = "unknown"  # the caller's address, for per-address limits
    correlation_id: str | None = None  # Wharf-Correlation-Id: the chain its mutations join
    refused: str | None = None  # why a WebSocket's upgrade request is refused (bad header)
    cookie_authorization: str | None = None  # a WebSocket's dashboard session, if any
    # Made per request, so one request's batching never serves another's caller.
    tenants: DataLoader[str, TenantRow | None] = field(init=False)
    image_tags: DataLoader[str, list[TagRow]] = field(init=False)  # by repository id
    host_addresses: DataLoader[str, str] = field(init=False)  # by host id

    def __post_init__(self) -> None:
        self.tenants = DataLoader(load_fn=self._load_tenants)
        self.image_tags = DataLoader(load_fn=self._load_tags)
        self.host_addresses = DataLoader(load_fn=self._load_addresses)

    async def _load_addresses(self, ids: list[str]) -> list[str]:
        found = await self.read(host_reads.addresses, ids)
        return [found.get(i, "127.0.0.1") for i in ids]

    async def _load_tags(self, ids: list[str]) -> list[list[TagRow]]:
        found = await self.read(repository_reads.tags_of, ids)
        return [found[i] for i in ids]

    async def _load_tenants(self, ids: list[str]) -> list[TenantRow | None]:
        found = await self.read(tenant_reads.tenants_by_id, ids)
        return [found.get(i) for i in ids]

    def require_actor(self) -> Actor:
        if self.actor is None:
            raise Forbidden("authentication required: send Authorization: Bearer <token>")
        return self.actor

    def require_operator(self) -> Actor:
        actor = self.require_actor()
        if not actor.is_operator:
            raise Forbidden("operators only")
        return actor

    def tenant_scope(self, tenant: str | None = None) -> UUID:
        """The tenant a query reads: the caller's own, or any one for an operator."""
        actor = self.require_actor()
        if actor.is_operator:
            if tenant is None:
                raise Forbidden("operators name the tenant they read")
            return parse_id(tenant)
        assert actor.tenant_id is not None
        return actor.tenant_id

    async def read(self, query: Callable[..., T], *args: Any) -> T:
        """`query(reader, *args)` (a read of projections/reads), once the read side has
        reached the request's minimum position."""
        await self.reach(self.min_position)
        return await anyio.to_thread.run_sync(query, self.reader, *args)

    async def position(self, models: Models = None) -> int:
        return await anyio.to_thread.run_sync(self.backend.read_side.position, models)

    async def reach(self, position: int, models: Models = None) -> None:
        """Waits, holding no thread, until the read side (`models` of it) has reached
        `position`; ReadSideBehind past READ_SIDE_TIMEOUT."""
        if position <= 0:
            return
        try:
            with anyio.fail_after(READ_SIDE_TIMEOUT):
                await self.backend.read_side.reached(position, models)
        except TimeoutError:
            raise ReadSideBehind(position, await self.position(models)) from None

    @contextlib.asynccontextmanager
    async def tenant_news(self, tenant_id: str) -> AsyncIterator[TenantNews]:
        """Entered before reading, so that news committed meanwhile is not missed; its
        `wait` returns when the tenant's rows change (or at the timeout). Without the
        projector in this process, a short sleep stands in for the news."""
        read_side = self.backend.read_side
        future = read_side.watch_tenant(tenant_id)
        try:
            yield TenantNews(future)
        finally:
            if future is not None:
                read_side.unwatch_tenant(tenant_id, future)

    def wait_for(self, position: int, models: Models = None) -> None:
        """Blocks (in a mutation's worker thread) until `models` of the read side have
        reached `position`, the command's own write: moments, unless a consumer is
        stuck."""
        if position <= 0:
            return
        read_side = self.backend.read_side
        try:
            read_side.wait(position, READ_SIDE_TIMEOUT, models)
        except TimeoutError:
            raise ReadSideBehind(position, read_side.position(models)) from None

    @property
    def reader(self) -> Reader:
        """The read side as it is (for a worker thread that has waited already), asked
        only what a store can be asked."""
        return _Checked(self.backend.read_side.reader)


@dataclass
class TenantNews:
    future: asyncio.Future[None] | None

    async def wait(self, timeout: float) -> None:
        if self.future is None:
            await anyio.sleep(min(timeout, OTHER_PROCESS_POLL))
            return
        with anyio.move_on_after(timeout):
            await asyncio.shield(self.future)


def ctx(info: Info[Context, Any]) -> Context:
    return info.context


class _Checked:
    """A reader that refuses, in words, arguments no store can take (PostgreSQL refuses
    NUL; an unpaired surrogate cannot be encoded): "Unexpected error." otherwise."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        for value in params:
            if isinstance(value, str) and not storable(value):
                raise ClientError("arguments must not contain NUL or unpaired surrogate "
                                  "characters")
        return self.reader.query(sql, params)


def storable(text: str) -> bool:
    """Whether a store can be asked about `text` (PostgreSQL refuses NUL, and an unpaired
    surrogate cannot be encoded)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        return UUID(int=0)  # an id that matches nothing: the caller gets NotFound
