"""The Service type: a service as the read side has it, with its replicas."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from wharf.domain.service import STATEFUL
from wharf.graphql.pagination import Connection, connection
from wharf.graphql.types import AuditEntry, Container
from wharf.projections.reads import audit as audit_reads
from wharf.projections.reads import containers as container_reads
from wharf.projections.reads import services as service_reads
from wharf.projections.reads.services import ServiceRow


@strawberry.type(description="A balanced port: where its listener takes requests for the "
                             "service's running replicas.")
class ServiceEndpoint:
    container_port: int
    address: str | None = strawberry.field(
        description="HOST:PORT of the load-balanced listener on loopback; null until the "
                    "scheduler has opened it.")


@strawberry.type(description="Kept between min and max replicas: one more while the "
                             "replicas' average use of what they reserve is over a "
                             "threshold, one fewer while every use is under half of its "
                             "threshold; no decision within cooldownS of the last scale.")
class AutoscalePolicy:
    min: int
    max: int
    cpu_percent: int | None
    memory_percent: int | None
    cooldown_s: int


@strawberry.type(description="How a new configuration replaces the replicas.")
class UpdatePolicy:
    parallelism: int
    monitor_s: int
    failure_action: str = strawberry.field(description="rollback, pause or continue.")
    order: str = strawberry.field(description="start-first or stop-first (data and disk "
                                              "services are always stop-first).")
    delay_s: int


@strawberry.type(description="Many containers of one image (its replicas), kept at a "
                             "count, behind a load-balanced listener for each HTTP port "
                             "that asks for one.")
class Service:
    id: strawberry.ID
    name: str
    category: str = strawberry.field(description="app, data, tool or disk.")
    image: str
    desired: str = strawberry.field(description="running, stopped or deleted.")
    replicas: int = strawberry.field(description="How many replicas it is kept at.")
    cpu_millis: int = strawberry.field(description="What each replica reserves.")
    memory_mib: int
    endpoints: list[ServiceEndpoint]
    version: int = strawberry.field(description="Its configuration's version (each update "
                                                "or rollback names one).")
    rolled_out_version: int = strawberry.field(
        description="The last version every replica ran: version while no rollout is in "
                    "progress.")
    autoscale: AutoscalePolicy | None
    update_policy: UpdatePolicy
    scaled_at: str | None = strawberry.field(description="When it was last scaled.")
    scale_reason: str | None = strawberry.field(
        description="Why: manual, created, or the autoscaler's reason with its figures.")
    spec: JSON
    created_at: str
    updated_at: str

    @strawberry.field(description="How many of its replicas its hosts report running.")
    async def running(self, info: strawberry.Info[Any, Any]) -> int:
        counts = await info.context.read(service_reads.replica_counts, str(self.id))
        return int(counts.get("running", 0))

    @strawberry.field(description="Its replicas (containers it owns), oldest first.")
    async def containers(
        self, info: strawberry.Info[Any, Any], first: int = 50, after: str | None = None,
    ) -> Connection[Container]:
        tenant_id, service_id = self.tenant_id, str(self.id)
        return await connection(
            info.context, lambda reader, cursor: container_reads.page_of(
                reader, tenant_id, first, cursor, service_id=service_id),
            2, after, Container.from_row)

    tenant_id: strawberry.Private[str]

    @strawberry.field(description="Its events and its replicas', newest first.")
    async def events(
        self, info: strawberry.Info[Any, Any], first: int = 50, after: str | None = None,
    ) -> Connection[AuditEntry]:
        tenant_id, service_id = self.tenant_id, str(self.id)
        return await connection(
            info.context, lambda reader, cursor: audit_reads.of_service(
                reader, tenant_id, service_id, first, cursor), 1, after, AuditEntry.from_row)

    @classmethod
    def from_row(cls, row: ServiceRow) -> Service:
        return cls(
            id=strawberry.ID(row.id), tenant_id=row.tenant_id, name=row.name,
            category=row.category, image=row.image, desired=row.desired,
            replicas=row.replicas, cpu_millis=row.cpu_millis, memory_mib=row.memory_mib,
            endpoints=[ServiceEndpoint(
                container_port=port,
                address=f"127.0.0.1:{row.endpoints[port]}" if port in row.endpoints else None)
                for port in row.balanced],
            autoscale=AutoscalePolicy(**row.autoscale.to_data())  # type: ignore[arg-type]
            if row.autoscale else None,
            update_policy=UpdatePolicy(**{  # (a data or disk service: stop-first always)
                **row.update_policy.to_data(),
                **({"order": "stop-first"} if row.category in STATEFUL else {})}),
            scaled_at=row.scaled_at, scale_reason=row.scale_reason, version=row.version,
            rolled_out_version=row.good_version,
            spec=cast(JSON, row.spec.to_data()), created_at=row.created_at,
            updated_at=row.updated_at)
