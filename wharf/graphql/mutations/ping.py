"""A mutation that changes nothing: clients check their token and the round trip with it,
and the benchmark compares real mutations against it."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import strawberry
from strawberry.types import Info

from wharf.graphql.context import Context


@strawberry.type
class Pong:
    position: int = strawberry.field(description="The newest position in the log.")


@strawberry.type
class PingMutations:
    @strawberry.mutation(description="Changes nothing; answers the log's newest position.")
    async def ping(self, info: Info[Context, Any]) -> Pong:
        info.context.require_actor()
        head = await anyio.to_thread.run_sync(info.context.backend.head)
        return Pong(position=head)
