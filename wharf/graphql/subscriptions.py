"""Subscriptions: the caller's own events, live, woken by the projector."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from wharf.graphql.context import Context
from wharf.graphql.types import AuditEntry

WAKE_EVERY = 5.0


@strawberry.type
class Subscription:
    @strawberry.subscription(description=(
        "The caller's tenant's events as they happen (operators: name a tenant). "
        "`after` resumes after a position, e.g. the last one a client saw."))
    async def events(
        self, info: Info[Context, Any], after: int | None = None, tenant: str | None = None
    ) -> AsyncGenerator[AuditEntry, None]:
        context = info.context
        tenant_id = str(context.tenant_scope(tenant))
        last = after if after is not None else await context.next_position(-1, 0)
        while True:
            rows = await context.read(
                "SELECT * FROM rm_audit WHERE tenant_id = ? AND position > ? "
                "ORDER BY position LIMIT 500", (tenant_id, last))
            for row in rows:
                yield AuditEntry.from_row(row)
                last = row["position"]
            if not rows:
                await context.next_position(max(last, context.wiring.projector.position),
                                            WAKE_EVERY)
