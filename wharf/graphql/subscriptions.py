"""Subscriptions: the caller's own events, live, woken by the projector."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anyio
import anyio.to_thread
import strawberry
from strawberry.types import Info

from wharf.domain.loglines import dropped_marker, missed_marker, normal_time
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import ClientError
from wharf.graphql.queries import own_tenant, owned_container
from wharf.graphql.types import AuditEntry, LogLine
from wharf.projections.reads import audit as audit_reads
from wharf.projections.reads import pipelines as pipeline_reads

WAKE_EVERY = 5.0
PLATFORM_POLL = 0.5
LOG_POLL = 0.25  # seconds between looks at a followed container's log
LOG_BATCH = 2000  # lines read at once; a follower behind reads again at once


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
        # "From now": from the log's head, not from where the audit trail has got to.
        last = after if after is not None else await anyio.to_thread.run_sync(
            context.backend.head)
        while True:
            # Woken only by news of this tenant: every subscriber woken by every event
            # (and each then querying) let one tenant's subscriptions slow all tenants.
            async with context.tenant_news(tenant_id) as news:
                rows = await context.read(audit_reads.after, tenant_id, last, 500)
                for row in rows:
                    yield AuditEntry.from_row(row)
                    last = row.position
                if not rows:
                    await news.wait(WAKE_EVERY)

    @strawberry.subscription(description=(
        "Operators only: every tenant's events and the operators' own as they happen, "
        "each with its tenant. `after` resumes after a position."))
    async def platform_events(
        self, info: Info[Context, Any], after: int | None = None
    ) -> AsyncGenerator[AuditEntry, None]:
        context = info.context
        context.require_operator()
        last = after if after is not None else await anyio.to_thread.run_sync(
            context.backend.head)
        while True:  # (operators are few: they poll, at most every PLATFORM_POLL seconds)
            rows = await context.read(audit_reads.platform_after, last, 500)
            for row in rows:
                yield AuditEntry.from_row(row)
                last = row.position
            if not rows:
                await anyio.sleep(PLATFORM_POLL)

    @strawberry.subscription(description=(
        "A container's output as it is written, from the line after `since` (default: "
        "from now). A follower slower than the container, past the log's size limit, is "
        "told how many lines it missed, where it missed them. Ends at once for a "
        "container the caller cannot see."))
    async def container_log(
        self, info: Info[Context, Any], id: strawberry.ID, since: str | None = None
    ) -> AsyncGenerator[LogLine, None]:
        context = info.context
        try:
            since = normal_time(since) if since is not None else None
        except ValueError:
            raise ClientError("since: not an RFC 3339 time such as "
                              "2026-11-01T09:00:00.123456789Z") from None
        if not await owned_container(context, id):
            return
        container_id = str(parse_id(id))
        logs = context.backend.logs
        last = since if since is not None else await anyio.to_thread.run_sync(
            logs.cursor, container_id)
        expected = None  # the index of the next line, once the first read placed us
        while True:
            first, lines = await anyio.to_thread.run_sync(
                logs.lines_after, container_id, last, LOG_BATCH)
            if lines and expected is not None and first > expected:
                marker = missed_marker(lines[0].time, first - expected)
                yield LogLine(time=marker.time, text=marker.text)
            elif lines and expected is None and since is not None:
                dropped = await anyio.to_thread.run_sync(logs.dropped, container_id)
                if dropped.total and first == dropped.total + 1:  # back past the oldest
                    marker = dropped_marker(lines[0].time, dropped.total,
                                            dropped.engine_gaps)
                    yield LogLine(time=marker.time, text=marker.text)
            for line in lines:
                yield LogLine(time=line.time, text=line.text)
                last = line.time
            if lines:
                expected = first + len(lines)
            if len(lines) < LOG_BATCH:
                await anyio.sleep(LOG_POLL)

    @strawberry.subscription(description=(
        "A build's log as it is written, from its first line (or after `since`); ends when "
        "the build has ended and every line is sent. Ends at once for a build the caller "
        "cannot see."))
    async def build_log(
        self, info: Info[Context, Any], id: strawberry.ID, since: str | None = None
    ) -> AsyncGenerator[LogLine, None]:
        context = info.context
        try:
            last = normal_time(since) if since is not None else ""
        except ValueError:
            raise ClientError("since: not an RFC 3339 time such as "
                              "2026-11-01T09:00:00.123456789Z") from None
        build_id, tenant = str(parse_id(id)), own_tenant(context)
        row = await context.read(pipeline_reads.build, build_id, tenant)
        if row is None:
            return
        logs = context.backend.build_logs
        while True:
            ended = row is None or row.state in ("succeeded", "failed")
            _, lines = await anyio.to_thread.run_sync(logs.lines_after, build_id, last,
                                                      LOG_BATCH)
            for line in lines:
                yield LogLine(time=line.time, text=line.text)
                last = line.time
            if ended and len(lines) < LOG_BATCH:
                return  # (its state was read before its last lines: none come after)
            if len(lines) < LOG_BATCH:
                await anyio.sleep(LOG_POLL)
                row = await context.read(pipeline_reads.build, build_id, tenant)
