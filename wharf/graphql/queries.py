"""Queries: thin resolvers over the read models, always scoped to the caller's tenant."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import anyio.to_thread
import strawberry
from strawberry.types import Info

from wharf.domain.billing import bill_hour, hour_of
from wharf.domain.loglines import normal_time
from wharf.domain.moments import parse_moment
from wharf.domain.registry import MAX_REPOSITORY
from wharf.graphql.billing_types import Bill, BillLine, BillTotal
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import ClientError
from wharf.graphql.mutations.applications import Application
from wharf.graphql.pagination import Connection, connection
from wharf.graphql.pipeline_types import Build, Pipeline
from wharf.graphql.registry_types import Mirror, Repository
from wharf.graphql.service_types import Service
from wharf.graphql.types import (
    AuditEntry,
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
from wharf.projections import as_of as as_of_rows
from wharf.projections.audit import AuditTrail
from wharf.projections.reads import applications as app_reads
from wharf.projections.reads import audit as audit_reads
from wharf.projections.reads import billing as billing_reads
from wharf.projections.reads import containers as container_reads
from wharf.projections.reads import hosts as host_reads
from wharf.projections.reads import pipelines as pipeline_reads
from wharf.projections.reads import repositories as repository_reads
from wharf.projections.reads import secrets as secret_reads
from wharf.projections.reads import services as service_reads
from wharf.projections.reads import tenants as tenant_reads
from wharf.projections.reads import volumes as volume_reads
from wharf.projections.reads.applications import ApplicationRow
from wharf.projections.reads.containers import ContainerRow
from wharf.projections.reads.services import ServiceRow
from wharf.projections.reads.volumes import VolumeRow

MAX_LOG_LINES = 10_000
MAX_SERVICE_LOG_LINES = 2_000  # (read from each replica: bounded work per request)


MAX_STEP = 86_400
MAX_POINTS = 10_000
MAX_SERVICE_POINTS = 100_000  # read for a service: points times replicas


def _time(argument: str, value: str) -> datetime:
    try:
        return parse_moment(value)
    except ValueError:
        raise ClientError(f"{argument}: not an ISO 8601 time such as "
                          "2026-11-01T09:00:00Z") from None


AS_OF = ("The state at this moment (ISO 8601), folded from the log: for debugging. Its "
         "own fields are as they were then; objects reached from it are as they are now.")
AT_POSITION = "The state once the log had reached this position (instead of asOf)."
# The arguments of the queries that answer for a moment of the past (see `folded`).
AsOf = Annotated[str | None, strawberry.argument(description=AS_OF)]
AtPosition = Annotated[int | None, strawberry.argument(description=AT_POSITION)]


@strawberry.type
class Query:
    @strawberry.field(description="Who the token belongs to.")
    async def me(self, info: Info[Context, Any]) -> Me:
        context = info.context
        actor = context.require_actor()
        if actor.tenant_id is None:
            return Me(actor=actor.label, kind=actor.kind, tenant=None, role=None)
        tenant = await context.read(tenant_reads.tenant, str(actor.tenant_id))
        role = await context.read(tenant_reads.role_of, str(actor.tenant_id), actor.name)
        return Me(actor=actor.label, kind=actor.kind,
                  tenant=Tenant.from_row(tenant) if tenant else None, role=role)

    @strawberry.field(description="The newest version of every plan.")
    async def plans(self, info: Info[Context, Any]) -> list[Plan]:
        info.context.require_actor()
        return [Plan.from_row(row) for row in
                await info.context.read(tenant_reads.newest_plans)]

    @strawberry.field
    async def containers(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        desired: str | None = None, observed: str | None = None, tenant: str | None = None,
    ) -> Connection[Container]:
        context = info.context
        tenant_id = str(context.tenant_scope(tenant))
        return await connection(
            context, lambda reader, cursor: container_reads.page_of(
                reader, tenant_id, first, cursor, desired, observed),
            2, after, Container.from_row)

    @strawberry.field(description="The tenant's services, oldest first; `category` (app, "
                                  "data, tool, disk) filters them.")
    async def services(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        category: str | None = None, tenant: str | None = None,
    ) -> Connection[Service]:
        context = info.context
        tenant_id = str(context.tenant_scope(tenant))
        return await connection(
            context, lambda reader, cursor: service_reads.page_of(
                reader, tenant_id, first, cursor, category), 2, after, Service.from_row)

    @strawberry.field(description="The tenant's applications, oldest first.")
    async def applications(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        tenant: str | None = None,
    ) -> Connection[Application]:
        context = info.context
        tenant_id = str(context.tenant_scope(tenant))
        return await connection(
            context, lambda reader, cursor: app_reads.page_of(reader, tenant_id, first, cursor),
            2, after, Application.from_row)

    @strawberry.field
    async def application(
        self, info: Info[Context, Any], id: strawberry.ID,
        as_of: AsOf = None, at_position: AtPosition = None,
    ) -> Application | None:
        if as_of is not None or at_position is not None:
            past = await folded(info.context, "application", id, as_of, at_position)
            return Application.from_row(past) if isinstance(past, ApplicationRow) else None
        row = await info.context.read(app_reads.owned, str(parse_id(id)),
                                      own_tenant(info.context))
        return Application.from_row(row) if row else None

    @strawberry.field
    async def service(
        self, info: Info[Context, Any], id: strawberry.ID,
        as_of: AsOf = None, at_position: AtPosition = None,
    ) -> Service | None:
        if as_of is not None or at_position is not None:
            past = await folded(info.context, "service", id, as_of, at_position)
            return Service.from_row(past) if isinstance(past, ServiceRow) else None
        row = await info.context.read(service_reads.owned, str(parse_id(id)),
                                      own_tenant(info.context))
        return Service.from_row(row) if row else None

    @strawberry.field(description=(
        f"A service's output: its replicas' lines merged by time, each tagged with its "
        f"replica; the last `tail` (at most {MAX_SERVICE_LOG_LINES}) or those after "
        "`since`. Null for a service the caller cannot see."))
    async def service_logs(
        self, info: Info[Context, Any], id: strawberry.ID, tail: int = 100,
        since: str | None = None,
    ) -> list[LogLine] | None:
        since = log_window(tail, since, MAX_SERVICE_LOG_LINES)
        context = info.context
        row = await context.read(service_reads.owned, str(parse_id(id)), own_tenant(context))
        if row is None:
            return None
        replicas = await context.read(service_reads.replica_names, row.id)

        def merged() -> list[LogLine]:
            lines = [LogLine(time=line.time, text=line.text, replica=name)
                     for replica_id, name in replicas
                     for line in context.backend.logs.read(replica_id, tail, since)]
            lines.sort(key=lambda line: line.time)
            return lines[:tail] if since else lines[-tail:] if tail else []

        return await anyio.to_thread.run_sync(merged)

    @strawberry.field
    async def container(
        self, info: Info[Context, Any], id: strawberry.ID,
        as_of: AsOf = None, at_position: AtPosition = None,
    ) -> Container | None:
        if as_of is not None or at_position is not None:
            past = await folded(info.context, "container", id, as_of, at_position)
            return Container.from_row(past) if isinstance(past, ContainerRow) else None
        row = await owned_container(info.context, id)
        return Container.from_row(row) if row else None

    @strawberry.field(description=(
        "A container's output, newest last: the last `tail` lines (at most 10,000), or "
        "those after `since` (RFC 3339). Kept after the container is removed, for the "
        "plan's log retention. Null for a container the caller cannot see."))
    async def container_logs(
        self, info: Info[Context, Any], id: strawberry.ID, tail: int = 100,
        since: str | None = None,
    ) -> list[LogLine] | None:
        since = log_window(tail, since, MAX_LOG_LINES)
        if not await owned_container(info.context, id):
            return None
        lines = await anyio.to_thread.run_sync(
            info.context.backend.logs.read, str(parse_id(id)), tail, since)
        return [LogLine(time=line.time, text=line.text) for line in lines]

    @strawberry.field(description=(
        "Samples of a container, a service or an application (its replicas summed) or, "
        "for operators, a host, from `from` to `to` (ISO "
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
        now = context.backend.clock.now()
        end = _time("to", to) if to else now
        start = _time("from", from_) if from_ else end - timedelta(hours=1)
        if not 1 <= step <= MAX_STEP:
            raise ClientError(f"step: must be between 1 and {MAX_STEP} seconds")
        if start > end:
            raise ClientError("from: must not be after to")
        if (end - start).total_seconds() / step > MAX_POINTS:
            raise ClientError(f"step: at most {MAX_POINTS} points a query; take a longer "
                              "step or a shorter range")
        targets = [str(parse_id(target))]
        visible: object = await owned_container(context, target)
        if not visible:  # a service, or an application: the sum of their replicas
            service = await context.read(service_reads.owned, targets[0], own_tenant(context))
            application = None if service is not None else await context.read(
                app_reads.owned, targets[0], own_tenant(context))
            services = [service.id] if service is not None else \
                list(application.services.values()) if application is not None else []
            if service is not None or application is not None:
                replicas = [ident for one in services for ident, _ in
                            await context.read(service_reads.replica_names, one)]
                visible, targets = True, replicas
                if (end - start).total_seconds() / step * len(targets) > MAX_SERVICE_POINTS:
                    raise ClientError(f"step: at most {MAX_SERVICE_POINTS} points over a "
                                      "service's replicas; take a longer step or a "
                                      "shorter range")
        if not visible and actor.is_operator:
            visible = await context.read(host_reads.host, targets[0])
        if not visible:
            return None

        def summed() -> list[dict[str, Any]]:
            by_time: dict[str, dict[str, Any]] = {}
            for one in targets:
                for point in context.backend.metrics.points(one, start, end, step, now):
                    into = by_time.setdefault(point["at"], {
                        "at": point["at"], "cpu_percent": 0.0, "memory_bytes": 0,
                        "rx_bytes": 0, "tx_bytes": 0})
                    for key in ("cpu_percent", "memory_bytes", "rx_bytes", "tx_bytes"):
                        into[key] += point[key]
            return [by_time[at] for at in sorted(by_time)]

        points = await anyio.to_thread.run_sync(summed)
        return [MetricPoint(at=p["at"], cpu_percent=p["cpu_percent"],
                            memory_bytes=p["memory_bytes"], rx_bytes=p["rx_bytes"],
                            tx_bytes=p["tx_bytes"]) for p in points]

    @strawberry.field
    async def volumes(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        tenant: str | None = None,
    ) -> Connection[Volume]:
        context = info.context
        tenant_id = str(context.tenant_scope(tenant))
        return await connection(
            context, lambda reader, cursor: volume_reads.page_of(reader, tenant_id, first,
                                                                 cursor),
            2, after, Volume.from_row)

    @strawberry.field
    async def volume(
        self, info: Info[Context, Any], id: strawberry.ID,
        as_of: AsOf = None, at_position: AtPosition = None,
    ) -> Volume | None:
        context = info.context
        if as_of is not None or at_position is not None:
            past = await folded(context, "volume", id, as_of, at_position)
            return Volume.from_row(past) if isinstance(past, VolumeRow) else None
        row = await context.read(volume_reads.owned, str(parse_id(id)), own_tenant(context))
        return Volume.from_row(row) if row else None

    @strawberry.field(description="Names only: values never leave the write side.")
    async def secrets(self, info: Info[Context, Any], tenant: str | None = None) -> list[Secret]:
        context = info.context
        rows = await context.read(secret_reads.secrets_of, str(context.tenant_scope(tenant)))
        return [Secret(name=r.name, updated_at=r.updated_at) for r in rows]

    @strawberry.field(description="Image repositories the caller may pull from: its "
                                  "tenant's and the platform's public ones (operators: all), "
                                  "by name.")
    async def repositories(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
    ) -> Connection[Repository]:
        context = info.context
        tenant_id, registry = own_tenant(context), context.backend.registry
        return await connection(
            context, lambda reader, cursor: repository_reads.page_of(reader, tenant_id, first,
                                                                     cursor),
            1, after, lambda row: Repository.from_row(row, registry))

    @strawberry.field(description="One repository, by id or by name (<tenant>/... or "
                                  "library/...).")
    async def repository(
        self, info: Info[Context, Any], id: strawberry.ID | None = None,
        name: str | None = None,
    ) -> Repository | None:
        context = info.context
        tenant_id = own_tenant(context)
        if (id is None) == (name is None):
            raise ClientError("give the repository's id or its name")
        if id is not None:
            row = await context.read(repository_reads.repository, str(parse_id(id)), tenant_id)
        else:
            row = await context.read(repository_reads.by_name, str(name)[:MAX_REPOSITORY],
                                     tenant_id)
        return Repository.from_row(row, context.backend.registry) if row else None

    @strawberry.field(description="Pull-through mirrors the caller may pull through: its "
                                  "tenant's and the platform's (operators: all), by name.")
    async def mirrors(self, info: Info[Context, Any]) -> list[Mirror]:
        context = info.context
        rows = await context.read(repository_reads.mirrors, own_tenant(context))
        return [Mirror.from_row(row) for row in rows]

    @strawberry.field(description="The tenant's build pipelines, by name.")
    async def pipelines(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        tenant: str | None = None,
    ) -> Connection[Pipeline]:
        context = info.context
        tenant_id = str(context.tenant_scope(tenant))
        return await connection(
            context, lambda reader, cursor: pipeline_reads.page_of(reader, tenant_id, first,
                                                                   cursor),
            1, after, Pipeline.from_row)

    @strawberry.field
    async def pipeline(self, info: Info[Context, Any], id: strawberry.ID) -> Pipeline | None:
        context = info.context
        row = await context.read(pipeline_reads.pipeline, str(parse_id(id)),
                                 own_tenant(context))
        return Pipeline.from_row(row) if row else None

    @strawberry.field
    async def build(self, info: Info[Context, Any], id: strawberry.ID) -> Build | None:
        context = info.context
        row = await context.read(pipeline_reads.build, str(parse_id(id)), own_tenant(context))
        return Build.from_row(row) if row else None

    @strawberry.field(description=(
        "A build's log, newest last: the last `tail` lines (at most 10,000), or those after "
        "`since`. Null for a build the caller cannot see."))
    async def build_log(
        self, info: Info[Context, Any], id: strawberry.ID, tail: int = 100,
        since: str | None = None,
    ) -> list[LogLine] | None:
        since = log_window(tail, since, MAX_LOG_LINES)
        context = info.context
        row = await context.read(pipeline_reads.build, str(parse_id(id)), own_tenant(context))
        if row is None:
            return None
        lines = await anyio.to_thread.run_sync(context.backend.build_logs.read, row.id, tail,
                                               since)
        return [LogLine(time=line.time, text=line.text) for line in lines]

    @strawberry.field
    async def members(self, info: Info[Context, Any], tenant: str | None = None) -> list[Member]:
        context = info.context
        rows = await context.read(tenant_reads.members, str(context.tenant_scope(tenant)))
        return [Member(email=r.email, role=r.role, since=r.since) for r in rows]

    @strawberry.field(description="Every event of the tenant, newest first.")
    async def audit_log(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        tenant: str | None = None,
    ) -> Connection[AuditEntry]:
        context = info.context
        tenant_id = str(context.tenant_scope(tenant))
        return await connection(
            context, lambda reader, cursor: audit_reads.page_of(reader, tenant_id, first,
                                                                cursor),
            1, after, AuditEntry.from_row)

    # -- operators ---------------------------------------------------------------------

    @strawberry.field(description="Operators only.")
    async def tenants(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
    ) -> Connection[Tenant]:
        info.context.require_operator()
        return await connection(
            info.context, lambda reader, cursor: tenant_reads.tenants_page(reader, first,
                                                                           cursor),
            1, after, Tenant.from_row)

    @strawberry.field(description="Operators read any tenant; members only their own.")
    async def tenant(self, info: Info[Context, Any], id: strawberry.ID) -> Tenant | None:
        context = info.context
        actor = context.require_actor()
        if not actor.is_operator and str(actor.tenant_id) != str(parse_id(id)):
            return None
        row = await context.read(tenant_reads.tenant, str(parse_id(id)))
        return Tenant.from_row(row) if row else None

    @strawberry.field(description="Operators only: what runs the workloads, \"direct\" "
                                  "(Wharf's scheduler on its hosts) or \"swarm\" (a Docker "
                                  "Swarm whose nodes are the hosts).")
    async def runtime(self, info: Info[Context, Any]) -> str:
        info.context.require_operator()
        found: str = await anyio.to_thread.run_sync(info.context.backend.runtime)
        return found

    @strawberry.field(description="Operators only: the newest position in the log (how "
                                  "far back `platformEvents(after:)` may start).")
    async def log_position(self, info: Info[Context, Any]) -> int:
        info.context.require_operator()
        head: int = await anyio.to_thread.run_sync(info.context.backend.head)
        return head

    @strawberry.field(description="Operators only.")
    async def hosts(self, info: Info[Context, Any]) -> list[Host]:
        info.context.require_operator()
        return [Host.from_row(row) for row in await info.context.read(host_reads.hosts)]

    @strawberry.field(description="The hosts dedicated to the caller's tenant (an "
                                  "operator names it): the ones it joined itself and the "
                                  "ones an operator gave it.")
    async def own_hosts(self, info: Info[Context, Any],
                        tenant: strawberry.ID | None = None) -> list[Host]:
        tenant_id = info.context.tenant_scope(tenant)
        row = await info.context.read(tenant_reads.tenant, str(tenant_id))
        if row is None:
            return []
        return [Host.from_row(h) for h in await info.context.read(host_reads.in_pool,
                                                                   row.name)]

    @strawberry.field(description=(
        "Bills summed by `period` (hour, day or month; days and months begin in "
        "WHARF_TIMEZONE) over [from, to), oldest first: the caller's tenant's, or for an "
        "operator the named tenant's, or every tenant's totals without one. At most 400 "
        "days at a time."))
    async def bills(
        self, info: Info[Context, Any], from_: Annotated[str, strawberry.argument(
            name="from")], to: str, period: str = "day", tenant: str | None = None,
    ) -> list[BillTotal]:
        context = info.context
        actor = context.require_actor()
        lo, hi = _time("from", from_), _time("to", to)
        if period not in ("hour", "day", "month"):
            raise ClientError("period: hour, day or month")
        if not lo < hi or hi - lo > MAX_BILL_SPAN:
            raise ClientError("to: after from, and at most 400 days after it")
        tenant_id = (str(parse_id(tenant)) if tenant is not None else None) \
            if actor.is_operator else str(actor.tenant_id)
        zone = context.backend.timezone
        rows = await context.read(billing_reads.totals, tenant_id, period, lo, hi, zone)
        return [BillTotal.of(row) for row in rows]

    @strawberry.field(description="One hourly bill with its lines (null for one the "
                                  "caller cannot see).")
    async def bill(self, info: Info[Context, Any], id: strawberry.ID) -> Bill | None:
        row = await info.context.read(billing_reads.bill, str(parse_id(id)))
        mine = own_tenant(info.context)
        return Bill.of(row) if row and (mine is None or row.tenant_id == mine) else None

    @strawberry.field(description="The open hour so far, priced as its bill will be.")
    async def current_usage(self, info: Info[Context, Any],
                            tenant: str | None = None) -> list[BillLine]:
        context = info.context
        tenant_id = str(context.tenant_scope(tenant))
        return await context.read(_usage_so_far, tenant_id, context.backend.clock.now())

    @strawberry.field(description="Operators only.")
    async def quota_rejections(
        self, info: Info[Context, Any], first: int = 50, after: str | None = None,
        tenant: str | None = None,
    ) -> Connection[QuotaRejection]:
        context = info.context
        context.require_operator()
        tenant_id = str(parse_id(tenant)) if tenant is not None else None
        return await connection(
            context, lambda reader, cursor: audit_reads.rejections_page(reader, tenant_id,
                                                                        first, cursor),
            2, after, QuotaRejection.from_row)


MAX_BILL_SPAN = timedelta(days=400)


def _usage_so_far(reader: Any, tenant_id: str, now: datetime) -> list[BillLine]:
    hour = hour_of(now)
    lines = bill_hour(hour, billing_reads.plan_periods(reader, tenant_id, hour, now),
                      billing_reads.held(reader, tenant_id, hour, now), until=now)
    return [BillLine.of(line) for line in lines]


async def folded(context: Context, kind: str, ident: str, as_of: str | None,
                 position: int | None) -> as_of_rows.Row | None:
    """The object as it was at `as_of` or at log `position`, if the caller may see it;
    None before it existed (or for another tenant's)."""
    if as_of is not None and position is not None:
        raise ClientError("asOf or atPosition, not both")
    head = await anyio.to_thread.run_sync(context.backend.head)
    if position is not None and not 0 <= position <= head:
        raise ClientError(f"atPosition: from 0 to the log's newest position, {head}")
    at = None
    if as_of is not None:
        moment = _time("asOf", as_of)  # (in UTC, as events are timed)
        if moment > context.backend.clock.now():
            raise ClientError("asOf: in the future (the log knows the past only)")
        at = moment.isoformat()
    object_id = parse_id(ident)
    await context.reach(position if position is not None else head, (AuditTrail.name,))
    version = await anyio.to_thread.run_sync(audit_reads.version_at, context.reader,
                                             str(object_id), at, position)
    if version is None:
        return None
    aggregate = await anyio.to_thread.run_sync(context.backend.fold, object_id, version)
    if not isinstance(aggregate, as_of_rows.KINDS[kind]):
        return None
    tenant = own_tenant(context)
    if tenant is not None and str(aggregate.tenant_id) != tenant:
        return None
    return as_of_rows.row_of(aggregate)


def own_tenant(context: Context) -> str | None:
    """The tenant whose objects the caller may see (None: any, for operators)."""
    actor = context.require_actor()
    return None if actor.is_operator else str(actor.tenant_id)


async def owned_container(context: Context, ident: str) -> ContainerRow | None:
    """The container, if it exists and the caller may see it; another tenant's is None
    too."""
    return await context.read(container_reads.owned, str(parse_id(ident)),
                              own_tenant(context))


def log_window(tail: int, since: str | None, most: int) -> str:
    """A log query's `since`, made comparable; ClientError for a `tail` past `most` lines
    or a `since` that is no RFC 3339 time."""
    if not 0 <= tail <= most:
        raise ClientError(f"tail: must be between 0 and {most}")
    try:
        return normal_time(since or "")
    except ValueError:
        raise ClientError("since: not an RFC 3339 time such as "
                          "2026-11-01T09:00:00.123456789Z") from None
