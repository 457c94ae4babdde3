"""Running one command for a mutation: errors become result types, and the answer waits
until the read side has reached the position the command wrote (read-your-writes)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
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
from wharf.projections.catalog import WORKLOAD_MODELS
from wharf.projections.reads import Reader

S = TypeVar("S")


Answer = Callable[[Reader, Outcome], S]
"""Builds a mutation's success payload; runs in a worker thread once the read side has
reached the command's position, and reads with the `Reader` it is given."""


async def run(
    info: Info[Context, Any], command: Callable[[Actor], Command], success: Answer[S],
    answers_from: Sequence[str] = WORKLOAD_MODELS,
) -> S | Error:
    """Runs the command, then waits for the read models the answer reads
    (`answers_from`: the workloads by default) to reach its write; the others (the audit
    trail) catch up on their own."""
    context = info.context

    def execute(message: Command) -> S:
        # One worker thread for the command, the wait and the read: each hop between the
        # event loop and a thread costs a turn of the GIL, which under load is most of
        # a mutation's latency.
        outcome = context.backend.handle(message)
        context.wait_for(outcome.position, answers_from)
        return success(context.reader, outcome)

    try:
        message = command(context.require_actor())
        if context.correlation_id is not None and message.correlation_id is None:
            message = dataclasses.replace(message, correlation_id=context.correlation_id)
        await context.reach(context.min_position)  # (holding no thread while it waits)
        return await anyio.to_thread.run_sync(execute, message)
    except DomainError as error:
        return to_graphql(error)


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
