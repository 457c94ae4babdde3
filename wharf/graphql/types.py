"""Object types, built from read-model rows."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from wharf.graphql.pagination import Connection
from wharf.projections.reads import audit as audit_reads
from wharf.projections.reads import containers as container_reads
from wharf.projections.reads import tenants as tenant_reads
from wharf.projections.reads import volumes as volume_reads
from wharf.projections.reads.audit import AuditRow, RejectionRow
from wharf.projections.reads.containers import ContainerRow
from wharf.projections.reads.hosts import HostRow
from wharf.projections.reads.tenants import PlanRow, TenantRow
from wharf.projections.reads.volumes import VolumeRow


@strawberry.type(description="Money is a decimal string; the currency is CNY.")
class Price:
    amount: str
    currency: str = "CNY"


@strawberry.type
class PlanLimits:
    containers: int | None
    cpu_millis: int | None
    memory_mib: int | None
    volume_gib: int | None
    concurrent_builds: int | None
    container_disk_mib: int | None = strawberry.field(
        default=None,
        description="A container's writable layer, measured (no storage quota here): a "
                    "container over it past the grace period is stopped.")
    own_hosts: int | None = strawberry.field(
        default=0, description="Hosts a tenant's owner may join to its dedicated pool "
                               "(joinHost); 0 where a plan does not say.")


@strawberry.type
class Plan:
    name: str
    version: int
    description: str
    limits: PlanLimits
    fee_per_hour: Price
    prices: JSON
    default_cpu_millis: int
    default_memory_mib: int
    bandwidth_mbps: int | None

    @classmethod
    def from_row(cls, row: PlanRow) -> Plan:
        return cls(
            name=row.name, version=row.version, description=row.description,
            limits=PlanLimits(**{"own_hosts": 0, **row.limits}),
            fee_per_hour=Price(amount=row.prices["fee_per_hour"]), prices=cast(JSON, row.prices),
            default_cpu_millis=row.default_cpu_millis,
            default_memory_mib=row.default_memory_mib, bandwidth_mbps=row.bandwidth_mbps,
        )


@strawberry.type
class Usage:
    containers: int
    cpu_millis: int
    memory_mib: int
    volume_gib: int


@strawberry.type
class Tenant:
    id: strawberry.ID
    name: str
    plan: str
    plan_version: int
    status: str
    usage: Usage
    purge_after: str | None
    created_at: str

    @strawberry.field(description="The tenant's containers, oldest first.")
    async def containers(
        self, info: strawberry.Info[Any, Any], first: int = 50, after: str | None = None
    ) -> Connection[Container]:
        from wharf.graphql.pagination import connection

        tenant_id = str(self.id)
        return await connection(
            info.context, lambda reader, cursor: container_reads.page_of(
                reader, tenant_id, first, cursor), 2, after, Container.from_row)

    @strawberry.field(description="How many workloads of each kind it has now.")
    async def counts(self, info: strawberry.Info[Any, Any]) -> WorkloadCounts:
        found = await info.context.read(tenant_reads.counts, str(self.id))
        return WorkloadCounts(**vars(found))

    @strawberry.field
    async def members(self, info: strawberry.Info[Any, Any]) -> list[Member]:
        rows = await info.context.read(tenant_reads.members, str(self.id))
        return [Member(email=r.email, role=r.role, since=r.since) for r in rows]

    @classmethod
    def from_row(cls, row: TenantRow) -> Tenant:
        return cls(
            id=strawberry.ID(row.id), name=row.name, plan=row.plan,
            plan_version=row.plan_version, status=row.status,
            usage=Usage(containers=row.containers, cpu_millis=row.cpu_millis,
                        memory_mib=row.memory_mib, volume_gib=row.volume_gib),
            purge_after=row.purge_after, created_at=row.created_at,
        )


@strawberry.type
class WorkloadCounts:
    containers: int = strawberry.field(description="Not removed; services' replicas too.")
    running: int
    services: int
    applications: int
    volumes: int


@strawberry.type
class Member:
    email: str
    role: str
    since: str


@strawberry.type
class PublishedPort:
    container_port: str = strawberry.field(description='The port and protocol, "80/tcp".')
    host_ip: str
    host_port: int


@strawberry.type
class HostRejection:
    host: str
    reason: str


@strawberry.type
class Container:
    id: strawberry.ID
    name: str
    image: str
    desired: str = strawberry.field(description="running, stopped or deleted: what the "
                                                "tenant asked for.")
    observed: str = strawberry.field(description="pending, running, paused, exited or "
                                                 "removed: what the host's engine last "
                                                 "reported (paused: frozen behind Wharf's "
                                                 "back, and thawed by it).")
    cpu_millis: int
    memory_mib: int
    host_id: strawberry.ID | None
    exit_code: int | None
    oom_killed: bool | None = strawberry.field(description="Whether the last exit was the "
                                                           "kernel's OOM killer.")
    restarts: int = strawberry.field(description="Automatic restarts since the last start "
                                                 "the tenant asked for.")
    started_at: str | None
    finished_at: str | None
    published: strawberry.Private[dict[str, int]]
    unschedulable: list[str] = strawberry.field(
        description="While no host takes the container: why, in terms of what it asks for.")
    host_rejections_by_name: strawberry.Private[dict[str, str]]
    disk_over_since: str | None = strawberry.field(
        description="Since when its writable layer is over the plan's container_disk_mib; "
                    "past the grace period the container is stopped.")
    failure: str | None = strawberry.field(
        description="What the engine answered when it last refused to create or start it "
                    "(an image it does not have, say); cleared by the next start.")
    health: str | None = strawberry.field(
        description="Its health check's verdict on this run: starting, healthy or "
                    "unhealthy (null: no check, or no verdict yet).")
    pulling: str | None = strawberry.field(
        description="While its host pulls its image from Wharf's registry: the image and "
                    "how far (a pull that fails is its `failure`).")
    service_id: strawberry.ID | None = strawberry.field(
        description="The service whose replica it is (null: a container of its own).")
    spec: JSON
    created_at: str
    updated_at: str
    tenant_id: strawberry.Private[str]

    @strawberry.field(description="Operators only (null for tenants): while no host takes "
                                  "the container, why each host refused it, with its figures.")
    def host_rejections(self, info: strawberry.Info[Any, Any]) -> list[HostRejection] | None:
        actor = info.context.actor
        if actor is None or not actor.is_operator:
            return None
        return [HostRejection(host=host, reason=reason)
                for host, reason in sorted(self.host_rejections_by_name.items())]

    @strawberry.field(description="The tenant the container belongs to.")
    async def tenant(self, info: strawberry.Info[Any, Any]) -> Tenant | None:
        row: TenantRow | None = await info.context.tenants.load(self.tenant_id)
        return None if row is None else Tenant.from_row(row)

    @strawberry.field(description="Its events, newest first.")
    async def events(
        self, info: strawberry.Info[Any, Any], first: int = 50, after: str | None = None,
    ) -> Connection[AuditEntry]:
        from wharf.graphql.pagination import connection

        tenant_id, container_id = self.tenant_id, str(self.id)
        return await connection(
            info.context, lambda reader, cursor: audit_reads.of_object(
                reader, tenant_id, container_id, first, cursor), 1, after, AuditEntry.from_row)

    @strawberry.field(description="Ports published on its host's address: 127.0.0.1 for "
                                  "a host on Wharf's own machine.")
    async def ports(self, info: strawberry.Info[Any, Any]) -> list[PublishedPort]:
        if not self.published:
            return []
        address = "127.0.0.1"
        if self.host_id is not None:
            address = await info.context.host_addresses.load(str(self.host_id))
        return [PublishedPort(container_port=key, host_ip=address, host_port=port)
                for key, port in sorted(self.published.items())]

    @classmethod
    def from_row(cls, row: ContainerRow) -> Container:
        return cls(
            tenant_id=row.tenant_id,
            id=strawberry.ID(row.id), name=row.name, image=row.image,
            desired=row.desired, observed=row.observed, cpu_millis=row.cpu_millis,
            memory_mib=row.memory_mib,
            host_id=strawberry.ID(row.host_id) if row.host_id else None,
            exit_code=row.exit_code, oom_killed=row.oom_killed,
            restarts=row.restarts, started_at=row.started_at, finished_at=row.finished_at,
            published=row.ports,
            unschedulable=row.unschedulable_summary,
            host_rejections_by_name=row.unschedulable,
            failure=row.failure, disk_over_since=row.disk_over_since, health=row.health,
            pulling=row.pulling,
            service_id=strawberry.ID(row.service_id) if row.service_id else None,
            spec=cast(JSON, row.spec.to_data()), created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class Volume:
    id: strawberry.ID
    name: str
    size_gib: int
    state: str = strawberry.field(description="active, restoring or deleted.")
    host_id: strawberry.ID | None = strawberry.field(
        description="The host its data lives on: the first container that mounts it binds "
                    "it there, and every container mounting it runs there.")
    disk_over_since: str | None = strawberry.field(
        description="Since when its files are over its size (measured: no quota here).")
    created_at: str

    @strawberry.field(description="Backups, newest first (archives under WHARF_HOME).")
    async def backups(self, info: strawberry.Info[Any, Any]) -> list[VolumeBackup]:
        rows = await info.context.read(volume_reads.backups_of, str(self.id))
        return [VolumeBackup(id=strawberry.ID(r.id), state=r.state, size_bytes=r.size_bytes,
                             sha256=r.sha256, created_at=r.created_at) for r in rows]

    @classmethod
    def from_row(cls, row: VolumeRow) -> Volume:
        return cls(id=strawberry.ID(row.id), name=row.name, size_gib=row.size_gib,
                   state=row.state, host_id=strawberry.ID(row.host_id) if row.host_id else None,
                   disk_over_since=row.disk_over_since, created_at=row.created_at)


@strawberry.type
class VolumeBackup:
    id: strawberry.ID
    state: str = strawberry.field(description="requested or done.")
    size_bytes: int | None
    sha256: str | None
    created_at: str


@strawberry.type(description="A secret's name; its value never leaves the write side.")
class Secret:
    name: str
    updated_at: str


@strawberry.type
class HostLabel:
    key: str
    value: str


@strawberry.type
class Host:
    id: strawberry.ID
    name: str
    endpoint: str
    pool: str
    state: str
    cpu_millis: int
    memory_mib: int
    overcommit: str
    reserved_cpu_millis: int
    reserved_memory_mib: int
    free_cpu_millis: int
    free_memory_mib: int
    containers: int
    address: str = strawberry.field(description="Where its published ports answer.")
    engine_version: str = strawberry.field(description="As the engine said when it joined.")
    labels: list[HostLabel] = strawberry.field(
        description="Containers and services constrained to host.labels.KEY == VALUE run "
                    "only on hosts with that label.")
    tls_fingerprint: str = strawberry.field(
        description="SHA-256 of the client certificate Wharf reaches its engine with over "
                    "mutual TLS; empty for an engine on Wharf's own machine.")

    @classmethod
    def from_row(cls, row: HostRow) -> Host:
        return cls(
            id=strawberry.ID(row.id), name=row.name, endpoint=row.endpoint, pool=row.pool,
            state=row.state, cpu_millis=row.cpu_millis, memory_mib=row.memory_mib,
            overcommit=str(row.overcommit), reserved_cpu_millis=row.reserved_cpu_millis,
            reserved_memory_mib=row.reserved_memory_mib,
            free_cpu_millis=row.free_cpu_millis, free_memory_mib=row.free_memory_mib,
            containers=row.containers, address=row.address,
            engine_version=row.engine_version,
            labels=[HostLabel(key=k, value=v) for k, v in row.labels.items()],
            tls_fingerprint=row.fingerprint,
        )


@strawberry.type
class AuditEntry:
    position: int
    occurred_at: str
    object_id: strawberry.ID
    kind: str
    actor: str
    cause: str
    type: str
    summary: str
    tenant_id: strawberry.ID | None = strawberry.field(
        description="The tenant it belongs to (null: the operators' own).")

    @classmethod
    def from_row(cls, row: AuditRow) -> AuditEntry:
        return cls(position=row.position, occurred_at=row.occurred_at,
                   object_id=strawberry.ID(row.object_id), kind=row.kind, actor=row.actor,
                   cause=row.cause, type=row.type, summary=row.summary,
                   tenant_id=strawberry.ID(row.tenant_id) if row.tenant_id else None)


@strawberry.type
class QuotaRejection:
    id: strawberry.ID
    tenant_id: strawberry.ID
    command: str
    resource: str
    limit: int
    used: int
    requested: int
    actor: str
    occurred_at: str

    @classmethod
    def from_row(cls, row: RejectionRow) -> QuotaRejection:
        return cls(id=strawberry.ID(row.id), tenant_id=strawberry.ID(row.tenant_id),
                   command=row.command, resource=row.resource, limit=row.limit_value,
                   used=row.used, requested=row.requested, actor=row.actor,
                   occurred_at=row.occurred_at)


@strawberry.type
class Me:
    actor: str
    kind: str
    tenant: Tenant | None
    role: str | None


@strawberry.type(description="One line a container wrote (stdout and stderr together).")
class LogLine:
    time: str = strawberry.field(description="When the engine received it, RFC 3339 UTC.")
    text: str
    replica: str | None = strawberry.field(
        default=None, description="In a service's logs: the replica that wrote it.")


@strawberry.type(description="Averages over one step.")
class MetricPoint:
    at: str = strawberry.field(description="The start of the step, ISO 8601 UTC.")
    cpu_percent: float = strawberry.field(description="Of one CPU: 150 is 1.5 CPUs busy.")
    memory_bytes: int = strawberry.field(description="Memory in use, without page cache.")
    rx_bytes: int = strawberry.field(description="Bytes received since the container "
                                                 "started (hosts: summed).")
    tx_bytes: int
