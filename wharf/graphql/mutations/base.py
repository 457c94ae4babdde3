"""Running one command for a mutation: errors become result types, and the answer waits
until the read side has reached the position the command wrote (read-your-writes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import anyio.to_thread
import strawberry
from strawberry.types import Info

from wharf.commands.actors import Actor
from wharf.commands.context import Outcome
from wharf.commands.messages import Command
from wharf.domain.errors import DomainError, Forbidden
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import Error, to_graphql

S = TypeVar("S")


async def run(
    info: Info[Context, Any],
    command: Callable[[Actor], Command],
    success: Callable[[Context, Outcome], Awaitable[S]],
) -> S | Error:
    context = info.context
    try:
        actor = context.require_actor()
        outcome = await anyio.to_thread.run_sync(context.wiring.app.handle, command(actor))
    except DomainError as error:
        return to_graphql(error)
    await context.reach(outcome.position)
    return await success(context, outcome)


def own_tenant(actor: Actor, tenant: strawberry.ID | None) -> UUID:
    """The tenant a mutation acts on: the member's own, or the one an operator names."""
    if actor.is_operator:
        if tenant is None:
            raise Forbidden("operators name the tenant they act on")
        return parse_id(tenant)
    assert actor.tenant_id is not None
    if tenant is not None and parse_id(tenant) != actor.tenant_id:
        return parse_id(tenant)  # another tenant: the command answers NotFound
    return actor.tenant_id
