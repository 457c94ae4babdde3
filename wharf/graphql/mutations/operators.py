"""Operators' mutations: tenants, plans and hosts."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import strawberry
from strawberry.types import Info

from wharf.commands import messages as m
from wharf.commands.answers import PlanAdded
from wharf.commands.context import Outcome
from wharf.domain.errors import DomainError
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import Error, to_graphql
from wharf.graphql.mutations.access import TenantPayload, tenant_payload
from wharf.graphql.mutations.base import run
from wharf.graphql.types import Host, Plan
from wharf.projections.reads import Reader
from wharf.projections.reads import hosts as host_reads
from wharf.projections.reads import tenants as tenant_reads


@strawberry.input
class CreateTenantInput:
    name: str
    owner: str
    plan: str = "free"
    client_request_id: str | None = None


@strawberry.type(description="`ownerToken` is shown once, here, and never again.")
class TenantCreated:
    tenant: TenantPayload
    owner_token: str
    position: int


CreateTenantResult = Annotated[TenantCreated | Error, strawberry.union("CreateTenantResult")]


@strawberry.input
class TenantIdInput:
    id: strawberry.ID
    client_request_id: str | None = None


@strawberry.input
class CloseTenantInput:
    id: strawberry.ID
    grace_hours: int = 72
    client_request_id: str | None = None


SuspendTenantResult = Annotated[TenantPayload | Error, strawberry.union("SuspendTenantResult")]
ResumeTenantResult = Annotated[TenantPayload | Error, strawberry.union("ResumeTenantResult")]
CloseTenantResult = Annotated[TenantPayload | Error, strawberry.union("CloseTenantResult")]


@strawberry.input
class PlanLimitsInput:
    containers: int | None = None
    cpu_millis: int | None = None
    memory_mib: int | None = None
    volume_gib: int | None = None
    concurrent_builds: int | None = None
    container_disk_mib: int | None = None


@strawberry.input
class PlanPricesInput:
    fee_per_hour: str = "0"
    cpu_second: str = "0"
    memory_gib_second: str = "0"
    volume_gib_hour: str = "0"
    traffic_gib: str = "0"


@strawberry.input
class AddPlanInput:
    name: str
    limits: PlanLimitsInput
    prices: PlanPricesInput
    default_cpu_millis: int = 250
    default_memory_mib: int = 256
    bandwidth_mbps: int | None = None
    description: str = ""
    self_service: bool = False
    client_request_id: str | None = None


@strawberry.type
class PlanPayload:
    plan: Plan | None
    position: int


AddPlanResult = Annotated[PlanPayload | Error, strawberry.union("AddPlanResult")]


@strawberry.input
class RegisterHostInput:
    endpoint: str
    cpu_millis: int | None = strawberry.field(
        default=None, description="Capacity; default: what the engine reports.")
    memory_mib: int | None = strawberry.field(
        default=None, description="Capacity; default: what the engine reports.")
    name: str = ""
    overcommit: str = "1"
    pool: str = "public"
    client_request_id: str | None = None


@strawberry.input
class HostIdInput:
    id: strawberry.ID
    client_request_id: str | None = None


@strawberry.type
class HostPayload:
    host: Host | None
    position: int


RegisterHostResult = Annotated[HostPayload | Error, strawberry.union("RegisterHostResult")]
DrainHostResult = Annotated[HostPayload | Error, strawberry.union("DrainHostResult")]
RemoveHostResult = Annotated[HostPayload | Error, strawberry.union("RemoveHostResult")]


def _host(read: Reader, outcome: Outcome) -> HostPayload:
    row = host_reads.host(read, str(outcome.id))
    return HostPayload(host=Host.from_row(row) if row else None, position=outcome.position)


@strawberry.type
class OperatorMutations:
    @strawberry.mutation(description="Operators only.")
    async def create_tenant(
        self, info: Info[Context, Any], input: CreateTenantInput
    ) -> CreateTenantResult:
        def done(read: Reader, outcome: Outcome) -> TenantCreated:
            assert outcome.token is not None
            return TenantCreated(tenant=tenant_payload(read, outcome),
                                 owner_token=outcome.token, position=outcome.position)

        return await run(info, lambda actor: m.CreateTenant(
            actor=actor, request_id=input.client_request_id, name=input.name,
            plan=input.plan, owner=input.owner), done)

    @strawberry.mutation(description="Operators only.")
    async def suspend_tenant(
        self, info: Info[Context, Any], input: TenantIdInput
    ) -> SuspendTenantResult:
        return await run(info, lambda actor: m.SuspendTenant(
            actor=actor, request_id=input.client_request_id, tenant_id=parse_id(input.id)),
            tenant_payload)

    @strawberry.mutation(description="Operators only.")
    async def resume_tenant(
        self, info: Info[Context, Any], input: TenantIdInput
    ) -> ResumeTenantResult:
        return await run(info, lambda actor: m.ResumeTenant(
            actor=actor, request_id=input.client_request_id, tenant_id=parse_id(input.id)),
            tenant_payload)

    @strawberry.mutation(description="Operators only.")
    async def close_tenant(
        self, info: Info[Context, Any], input: CloseTenantInput
    ) -> CloseTenantResult:
        return await run(info, lambda actor: m.CloseTenant(
            actor=actor, request_id=input.client_request_id, tenant_id=parse_id(input.id),
            grace_hours=input.grace_hours), tenant_payload)

    @strawberry.mutation(description="Operators only.")
    async def add_plan(self, info: Info[Context, Any], input: AddPlanInput) -> AddPlanResult:
        def done(read: Reader, outcome: Outcome) -> PlanPayload:
            added = outcome.answer_as(PlanAdded)
            row = tenant_reads.plan(read, added.name, added.version)
            return PlanPayload(plan=Plan.from_row(row) if row else None,
                               position=outcome.position)

        limits = input.limits
        prices = input.prices
        return await run(info, lambda actor: m.AddPlan(
            actor=actor, request_id=input.client_request_id, name=input.name,
            limits={"containers": limits.containers, "cpu_millis": limits.cpu_millis,
                    "memory_mib": limits.memory_mib, "volume_gib": limits.volume_gib,
                    "container_disk_mib": limits.container_disk_mib,
                    "concurrent_builds": limits.concurrent_builds},
            prices={"fee_per_hour": prices.fee_per_hour, "cpu_second": prices.cpu_second,
                    "memory_gib_second": prices.memory_gib_second,
                    "volume_gib_hour": prices.volume_gib_hour,
                    "traffic_gib": prices.traffic_gib},
            default_cpu_millis=input.default_cpu_millis,
            default_memory_mib=input.default_memory_mib, bandwidth_mbps=input.bandwidth_mbps,
            description=input.description, self_service=input.self_service), done)

    @strawberry.mutation(description="Operators only.")
    async def register_host(
        self, info: Info[Context, Any], input: RegisterHostInput
    ) -> RegisterHostResult:
        cpu, memory = input.cpu_millis, input.memory_mib
        if cpu is None or memory is None:
            try:
                info.context.require_operator()  # only operators make Wharf call an engine
                capacity = await anyio.to_thread.run_sync(info.context.backend.engine_capacity,
                                                           input.endpoint)
            except DomainError as error:
                return to_graphql(error)
            cpu = capacity.cpu_millis if cpu is None else cpu
            memory = capacity.memory_mib if memory is None else memory
        return await run(info, lambda actor: m.RegisterHost(
            actor=actor, request_id=input.client_request_id, endpoint=input.endpoint,
            name=input.name, cpu_millis=cpu, memory_mib=memory,
            overcommit=input.overcommit, pool=input.pool), _host)

    @strawberry.mutation(description="Operators only.")
    async def drain_host(self, info: Info[Context, Any], input: HostIdInput) -> DrainHostResult:
        return await run(info, lambda actor: m.DrainHost(
            actor=actor, request_id=input.client_request_id, host_id=parse_id(input.id)), _host)

    @strawberry.mutation(description="Operators only.")
    async def remove_host(
        self, info: Info[Context, Any], input: HostIdInput
    ) -> RemoveHostResult:
        return await run(info, lambda actor: m.RemoveHost(
            actor=actor, request_id=input.client_request_id, host_id=parse_id(input.id)), _host)
