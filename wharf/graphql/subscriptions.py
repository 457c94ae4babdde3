"""Subscriptions: the caller's own events, live, woken by the projector."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anyio
import anyio.to_thread
import strawberry
from strawberry.types import Info

from wharf.domain.loglines import normal_time
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import ClientError
from wharf.graphql.queries import owned_row
from wharf.graphql.types import AuditEntry, LogLine

WAKE_EVERY = 5.0
LOG_POLL = 0.25  # seconds between looks at a followed container's log


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
            # Woken only by news of this tenant: every subscriber woken by every event
            # (and each then querying) let one tenant's subscriptions slow all tenants.
            async with context.tenant_news(tenant_id) as news:
                rows = await context.read(
                    "SELECT * FROM rm_audit WHERE tenant_id = ? AND position > ? "
                    "ORDER BY position LIMIT 500", (tenant_id, last))
                for row in rows:
                    yield AuditEntry.from_row(row)
                    last = row["position"]
                if not rows:
                    await news.wait(WAKE_EVERY)

    @strawberry.subscription(description=(
        "A container's output as it is written, from the line after `since` (default: "
        "from now). Ends at once for a container the caller cannot see."))
    async def container_log(
        self, info: Info[Context, Any], id: strawberry.ID, since: str | None = None
    ) -> AsyncGenerator[LogLine, None]:
        context = info.context
        try:
            since = normal_time(since) if since is not None else None
        except ValueError:
            raise ClientError("since: not an RFC 3339 time such as "
                              "2026-11-01T09:00:00.123456789Z") from None
        if not await owned_row(context, "rm_containers", id):
            return
        container_id = str(parse_id(id))
        logs = context.wiring.logs
        last = since if since is not None else await anyio.to_thread.run_sync(
            logs.cursor, container_id)
        while True:
            lines = await anyio.to_thread.run_sync(logs.read, container_id, 10_000, last)
            for line in lines:
                yield LogLine(time=line.time, text=line.text)
                last = line.time
            if not lines:
                await anyio.sleep(LOG_POLL)
