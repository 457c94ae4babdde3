"""Operators' mutations: tenants, plans and hosts."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import strawberry
from strawberry.types import Info

from wharf.commands import messages as m
from wharf.commands.answers import PlanAdded
from wharf.commands.context import Outcome
from wharf.domain.errors import DomainError, InvalidInput
from wharf.domain.tls import TlsCredentials
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import Error, to_graphql
from wharf.graphql.mutations.access import TenantPayload, tenant_payload
from wharf.graphql.mutations.base import own_tenant, run
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
    own_hosts: int | None = strawberry.field(
        default=0, description="Hosts a tenant may join itself (null: no limit).")


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


@strawberry.input(description="Mutual TLS, as Docker's --tlsverify asks: PEM text.")
class HostTlsInput:
    ca: str = strawberry.field(description="The CA that signed the engine's certificate.")
    cert: str = strawberry.field(description="The client certificate Wharf presents.")
    key: str = strawberry.field(description="The client certificate's key (sealed in the "
                                            "log, never shown again).")


@strawberry.input
class HostLabelInput:
    key: str
    value: str


@strawberry.input
class RegisterHostInput:
    endpoint: str = strawberry.field(
        description="unix:///path.sock, or tcp://ADDRESS:PORT: with `tls` unless loopback.")
    cpu_millis: int | None = strawberry.field(
        default=None, description="Capacity; default: what the engine reports.")
    memory_mib: int | None = strawberry.field(
        default=None, description="Capacity; default: what the engine reports.")
    name: str = ""
    overcommit: str = "1"
    pool: str = "public"
    tls: HostTlsInput | None = None
    labels: list[HostLabelInput] | None = None
    client_request_id: str | None = None


@strawberry.input(description="A tenant's owner joins a host of its own to the tenant's "
                              "dedicated pool (only its workloads run there; as many as "
                              "its plan's own_hosts).")
class JoinHostInput:
    endpoint: str = strawberry.field(description="tcp://ADDRESS:PORT of an engine with "
                                                 "--tlsverify.")
    tls: HostTlsInput
    tenant: strawberry.ID | None = None
    name: str = ""
    labels: list[HostLabelInput] | None = None
    client_request_id: str | None = None


@strawberry.input
class LabelHostInput:
    id: strawberry.ID
    labels: list[HostLabelInput]
    client_request_id: str | None = None


@strawberry.input
class LeaveHostInput:
    id: strawberry.ID
    tenant: strawberry.ID | None = None
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
LabelHostResult = Annotated[HostPayload | Error, strawberry.union("LabelHostResult")]
JoinHostResult = Annotated[HostPayload | Error, strawberry.union("JoinHostResult")]
LeaveHostResult = Annotated[HostPayload | Error, strawberry.union("LeaveHostResult")]


def _labels(given: list[HostLabelInput] | None) -> dict[str, str]:
    labels: dict[str, str] = {}
    for index, label in enumerate(given or []):
        if label.key in labels:
            raise InvalidInput(f"labels[{index}].key", f"{label.key[:40]} is given twice")
        labels[label.key] = label.value
    return labels


def _credentials(tls: HostTlsInput | None) -> TlsCredentials | None:
    return None if tls is None else TlsCredentials(ca=tls.ca, cert=tls.cert, key=tls.key)


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
                    "concurrent_builds": limits.concurrent_builds,
                    "own_hosts": limits.own_hosts},
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
        cpu, memory, version = input.cpu_millis, input.memory_mib, ""
        credentials = _credentials(input.tls)
        try:
            labels = _labels(input.labels)
            # (Secured hosts are asked always: credentials that do not open the engine
            # are refused now, not found out by the scheduler.)
            if cpu is None or memory is None or credentials is not None:
                actor = info.context.require_operator()  # only operators make Wharf call
                capacity = await anyio.to_thread.run_sync(  # an engine with their input
                    info.context.backend.engine_capacity, input.endpoint, credentials, True,
                    actor.label)
                cpu = capacity.cpu_millis if cpu is None else cpu
                memory = capacity.memory_mib if memory is None else memory
                version = capacity.engine_version
        except DomainError as error:
            return to_graphql(error)
        return await run(info, lambda actor: m.RegisterHost(
            actor=actor, request_id=input.client_request_id, endpoint=input.endpoint,
            name=input.name, cpu_millis=cpu, memory_mib=memory,
            overcommit=input.overcommit, pool=input.pool, labels=labels,
            tls_ca=credentials.ca if credentials else "",
            tls_cert=credentials.cert if credentials else "",
            tls_key=credentials.key if credentials else "", engine_version=version), _host)

    @strawberry.mutation(description="Tenants' owners: Wharf asks the engine over mutual "
                                     "TLS and, if it answers, places only this tenant's "
                                     "workloads there.")
    async def join_host(self, info: Info[Context, Any], input: JoinHostInput) -> JoinHostResult:
        credentials = _credentials(input.tls)
        assert credentials is not None
        try:
            labels = _labels(input.labels)
            actor = info.context.require_actor()
            tenant_id = own_tenant(actor, input.tenant)
            # (Who may, and whether the plan allows one more, is decided before Wharf
            # makes any connection for the caller.)
            await anyio.to_thread.run_sync(info.context.backend.check_join, actor, tenant_id,
                                           input.endpoint)
            capacity = await anyio.to_thread.run_sync(
                info.context.backend.engine_capacity, input.endpoint, credentials, False,
                actor.label)
        except DomainError as error:
            return to_graphql(error)
        return await run(info, lambda actor: m.RegisterHost(
            actor=actor, request_id=input.client_request_id, endpoint=input.endpoint,
            name=input.name, cpu_millis=capacity.cpu_millis,
            memory_mib=capacity.memory_mib, tenant_id=tenant_id, labels=labels,
            tls_ca=credentials.ca, tls_cert=credentials.cert, tls_key=credentials.key,
            engine_version=capacity.engine_version), _host)

    @strawberry.mutation(description="Tenants' owners: a host they joined leaves the "
                                     "tenant's pool (its containers are placed elsewhere).")
    async def leave_host(self, info: Info[Context, Any],
                         input: LeaveHostInput) -> LeaveHostResult:
        return await run(info, lambda actor: m.RemoveHost(
            actor=actor, request_id=input.client_request_id, host_id=parse_id(input.id),
            tenant_id=own_tenant(actor, input.tenant)), _host)

    @strawberry.mutation(description="Operators only: a host's labels, whole.")
    async def label_host(self, info: Info[Context, Any],
                         input: LabelHostInput) -> LabelHostResult:
        try:
            labels = _labels(input.labels)
        except DomainError as error:
            return to_graphql(error)
        return await run(info, lambda actor: m.LabelHost(
            actor=actor, request_id=input.client_request_id, host_id=parse_id(input.id),
            labels=labels), _host)

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
