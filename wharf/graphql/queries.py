"""Queries: thin resolvers over the read models, always scoped to the caller's tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio.to_thread
import strawberry
from strawberry.types import Info

from wharf.domain.loglines import normal_time
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import ClientError
from wharf.graphql.pagination import page
from wharf.graphql.types import (
    AuditEntry,
    Connection,
    Container,
    Host,
    LogLine,
    Me,
    Member,
    MetricPoint,
    Plan,
    QuotaRejection,
    Secret,
    Tenant,
    Volume,
)

MAX_LOG_LINES = 10_000


MAX_STEP = 86_400
MAX_POINTS = 10_000


def _time(argument: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ClientError(f"{argument}: not an ISO 8601 time such as "
                          "2026-11-01T09:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@strawberry.type
class Query:
    @strawberry.field(description="Who the token belongs to.")
    async def me(self, info: Info[Context, Any]) -> Me:
        context = info.context
        actor = context.require_actor()
        if actor.tenant_id is None:
            return Me(actor=actor.label, kind=actor.kind, tenant=None, role=None)
        tenants = await context.read("SELECT * FROM rm_tenants WHERE id = ?",
                                     (str(actor.tenant_id),))
        roles = await context.read("SELECT role FROM rm_members WHERE tenant_id = ? AND "
                                   "email = ?", (str(actor.tenant_id), actor.name))
        return Me(actor=actor.label, kind=actor.kind,
                  tenant=Tenant.from_row(tenants[0]) if tenants else None,
                  role=roles[0]["role"] if roles else None)

    @strawberry.field(description="The newest version of every plan.")
    async def plans(self, info: Info[Context, Any]) -> list[Plan]:
        info.context.require_actor()
        rows = await info.context.read(
            "SELECT * FROM rm_plans p WHERE version = (SELECT max(version) FROM rm_plans q "
            "WHERE q.name = p.name) ORDER BY name")
        return [Plan.from_row(row) for row in rows]

    @strawberry.field
    async def containers(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        desired: str | None = None, observed: str | None = None, tenant: str | None = None,
    ) -> Connection[Container]:
        context = info.context
        sql = "SELECT * FROM rm_containers WHERE tenant_id = ?"
        params: tuple[Any, ...] = (str(context.tenant_scope(tenant)),)
        if desired is not None:
            sql += " AND desired = ?"
            params += (desired,)
        else:
            sql += " AND desired != 'deleted'"
        if observed is not None:
            sql += " AND observed = ?"
            params += (observed,)
        return await page(context, sql, params, ("created_at", "id"), first, after,
                          Container.from_row)

    @strawberry.field
    async def container(self, info: Info[Context, Any], id: strawberry.ID) -> Container | None:
        rows = await owned_row(info.context, "rm_containers", id)
        return Container.from_row(rows[0]) if rows else None

    @strawberry.field(description=(
        "A container's output, newest last: the last `tail` lines (at most 10,000), or "
        "those after `since` (RFC 3339). Kept after the container is removed, for the "
        "plan's log retention. Null for a container the caller cannot see."))
    async def container_logs(
        self, info: Info[Context, Any], id: strawberry.ID, tail: int = 100,
        since: str | None = None,
    ) -> list[LogLine] | None:
        if not 0 <= tail <= MAX_LOG_LINES:
            raise ClientError(f"tail: must be between 0 and {MAX_LOG_LINES}")
        try:
            since = normal_time(since or "")
        except ValueError:
            raise ClientError("since: not an RFC 3339 time such as "
                              "2026-11-01T09:00:00.123456789Z") from None
        if not await owned_row(info.context, "rm_containers", id):
            return None
        lines = await anyio.to_thread.run_sync(
            info.context.wiring.logs.read, str(parse_id(id)), tail, since)
        return [LogLine(time=line.time, text=line.text) for line in lines]

    @strawberry.field(description=(
        "Samples of a container (or, for operators, a host) from `from` to `to` (ISO "
        "8601; default: the last hour), averaged over `step` seconds. Kept raw for an "
        "hour, per minute for a day and per hour for a month. Null for a target the "
        "caller cannot see."))
    async def metrics(
        self, info: Info[Context, Any], target: strawberry.ID,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None, step: int = 60,
    ) -> list[MetricPoint] | None:
        context = info.context
        actor = context.require_actor()
        now = context.wiring.app.clock.now()
        end = _time("to", to) if to else now
        start = _time("from", from_) if from_ else end - timedelta(hours=1)
        if not 1 <= step <= MAX_STEP:
            raise ClientError(f"step: must be between 1 and {MAX_STEP} seconds")
        if start > end:
            raise ClientError("from: must not be after to")
        if (end - start).total_seconds() / step > MAX_POINTS:
            raise ClientError(f"step: at most {MAX_POINTS} points a query; take a longer "
                              "step or a shorter range")
        visible = await owned_row(context, "rm_containers", target)
        if not visible and actor.is_operator:
            visible = await context.read("SELECT id FROM rm_hosts WHERE id = ?",
                                         (str(parse_id(target)),))
        if not visible:
            return None
        points = await anyio.to_thread.run_sync(
            context.wiring.metrics.points, str(parse_id(target)), start, end, step, now)
        return [MetricPoint(at=p["at"], cpu_percent=p["cpu_percent"],
                            memory_bytes=p["memory_bytes"], rx_bytes=p["rx_bytes"],
                            tx_bytes=p["tx_bytes"]) for p in points]

    @strawberry.field
    async def volumes(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        tenant: str | None = None,
    ) -> Connection[Volume]:
        context = info.context
        return await page(context, "SELECT * FROM rm_volumes WHERE tenant_id = ? AND "
                          "state != 'deleted'", (str(context.tenant_scope(tenant)),),
                          ("created_at", "id"), first, after, Volume.from_row)

    @strawberry.field
    async def volume(self, info: Info[Context, Any], id: strawberry.ID) -> Volume | None:
        rows = await owned_row(info.context, "rm_volumes", id)
        return Volume.from_row(rows[0]) if rows else None

    @strawberry.field(description="Names only: values never leave the write side.")
    async def secrets(self, info: Info[Context, Any], tenant: str | None = None) -> list[Secret]:
        context = info.context
        rows = await context.read("SELECT name, updated_at FROM rm_secrets WHERE tenant_id = ? "
                                  "AND deleted = 0 ORDER BY name",
                                  (str(context.tenant_scope(tenant)),))
        return [Secret(name=r["name"], updated_at=r["updated_at"]) for r in rows]

    @strawberry.field
    async def members(self, info: Info[Context, Any], tenant: str | None = None) -> list[Member]:
        context = info.context
        rows = await context.read("SELECT * FROM rm_members WHERE tenant_id = ? ORDER BY email",
                                  (str(context.tenant_scope(tenant)),))
        return [Member(email=r["email"], role=r["role"], since=r["since"]) for r in rows]

    @strawberry.field(description="Every event of the tenant, newest first.")
    async def audit_log(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        tenant: str | None = None,
    ) -> Connection[AuditEntry]:
        context = info.context
        return await page(context, "SELECT * FROM rm_audit WHERE tenant_id = ?",
                          (str(context.tenant_scope(tenant)),), ("position",), first, after,
                          AuditEntry.from_row, descending=True)

    # -- operators ---------------------------------------------------------------------

    @strawberry.field(description="Operators only.")
    async def tenants(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
    ) -> Connection[Tenant]:
        info.context.require_operator()
        return await page(info.context, "SELECT * FROM rm_tenants WHERE 1 = 1", (),
                          ("name",), first, after, Tenant.from_row)

    @strawberry.field(description="Operators read any tenant; members only their own.")
    async def tenant(self, info: Info[Context, Any], id: strawberry.ID) -> Tenant | None:
        context = info.context
        actor = context.require_actor()
        if not actor.is_operator and str(actor.tenant_id) != str(parse_id(id)):
            return None
        rows = await context.read("SELECT * FROM rm_tenants WHERE id = ?", (str(parse_id(id)),))
        return Tenant.from_row(rows[0]) if rows else None

    @strawberry.field(description="Operators only.")
    async def hosts(self, info: Info[Context, Any]) -> list[Host]:
        info.context.require_operator()
        rows = await info.context.read("SELECT * FROM rm_hosts ORDER BY name")
        return [Host.from_row(row) for row in rows]

    @strawberry.field(description="Operators only.")
    async def quota_rejections(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        tenant: str | None = None,
    ) -> Connection[QuotaRejection]:
        context = info.context
        context.require_operator()
        sql = "SELECT * FROM rm_quota_rejections WHERE 1 = 1"
        params: tuple[Any, ...] = ()
        if tenant is not None:
            sql, params = sql + " AND tenant_id = ?", (str(parse_id(tenant)),)
        return await page(context, sql, params, ("occurred_at", "id"), first, after,
                          QuotaRejection.from_row, descending=True)


async def owned_row(context: Context, table: str, ident: str) -> list[dict[str, Any]]:
    """The row, if it exists and the caller may see it; another tenant's is None too."""
    actor = context.require_actor()
    sql = f"SELECT * FROM {table} WHERE id = ?"
    params: tuple[Any, ...] = (str(parse_id(ident)),)
    if not actor.is_operator:
        sql += " AND tenant_id = ?"
        params += (str(actor.tenant_id),)
    return await context.read(sql, params)
