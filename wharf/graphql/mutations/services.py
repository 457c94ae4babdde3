"""Services: their inputs, results and mutations."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from wharf.commands import messages as m
from wharf.commands.context import Outcome
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import Error
from wharf.graphql.mutations.base import own_tenant, run
from wharf.graphql.mutations.workloads import (
    EnvVarInput,
    HealthCheckInput,
    MountInput,
    SecretRefInput,
    spec_of,
)
from wharf.graphql.service_types import Service
from wharf.projections.reads import Reader
from wharf.projections.reads import services as service_reads


@strawberry.input
class ServicePortInput:
    container_port: int
    protocol: str = "tcp"
    load_balanced: bool = strawberry.field(
        default=False, description="A load-balanced listener on loopback over every "
                                   "running replica (HTTP only); otherwise each replica "
                                   "publishes the port on 127.0.0.1 on its own.")


@strawberry.input(description="How a new configuration replaces the replicas.")
class UpdatePolicyInput:
    parallelism: int = strawberry.field(default=1, description="Replicas replaced at a time.")
    monitor_s: int = strawberry.field(
        default=5, description="How long a new replica must run (and pass its check) to "
                               "count.")
    failure_action: str = strawberry.field(
        default="rollback", description="When a new replica fails: rollback, pause or "
                                        "continue.")
    order: str = strawberry.field(
        default="start-first", description="start-first (old replicas serve until their "
        "successors count) or stop-first (each old replica goes first; always so for data "
        "and disk services, whose replicas keep their volumes).")
    delay_s: int = strawberry.field(default=0, description="Between one batch counting and "
                                                           "the next starting.")

    def to_data(self) -> dict[str, Any]:
        return {"parallelism": self.parallelism, "monitor_s": self.monitor_s,
                "failure_action": self.failure_action, "order": self.order,
                "delay_s": self.delay_s}


@strawberry.input
class CreateServiceInput:
    name: str
    image: str
    tenant: strawberry.ID | None = None
    replicas: int = 1
    category: str = strawberry.field(default="app", description="app, data, tool or disk.")
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[EnvVarInput] | None = None
    secrets: list[SecretRefInput] | None = None
    ports: list[ServicePortInput] | None = None
    cpu_millis: int | None = None
    memory_mib: int | None = None
    volumes: list[MountInput] | None = None
    restart_policy: str = strawberry.field(default="always",
                                           description="Of each replica.")
    health_check: HealthCheckInput | None = None
    constraints: list[str] | None = strawberry.field(
        default=None, description="Host labels its replicas must run on: "
                                  "host.labels.KEY == VALUE.")
    update_policy: UpdatePolicyInput | None = None
    start: bool = True
    client_request_id: str | None = None


@strawberry.input(description="A new configuration, whole: its replicas are replaced a "
                              "few at a time, as its update policy says, rolled back if "
                              "one fails.")
class UpdateServiceInput:
    id: strawberry.ID
    image: str
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[EnvVarInput] | None = None
    secrets: list[SecretRefInput] | None = None
    ports: list[ServicePortInput] | None = None
    cpu_millis: int | None = None
    memory_mib: int | None = None
    volumes: list[MountInput] | None = None
    restart_policy: str = "always"
    health_check: HealthCheckInput | None = None
    constraints: list[str] | None = None
    update_policy: UpdatePolicyInput | None = strawberry.field(
        default=None, description="Replaces the service's policy, this rollout included; "
                                  "none: as it was.")
    client_request_id: str | None = None


@strawberry.input(description="Back to the whole configuration of an earlier version "
                              "(image, env, limits, ports), read from the log; without "
                              "toVersion, the last one every replica ran.")
class RollbackServiceInput:
    id: strawberry.ID
    to_version: int | None = None
    client_request_id: str | None = None


@strawberry.input
class ScaleServiceInput:
    id: strawberry.ID
    replicas: int
    client_request_id: str | None = None


@strawberry.input(description="Autoscaling of a service; enabled: false turns it off.")
class SetAutoscalePolicyInput:
    id: strawberry.ID
    enabled: bool = True
    min: int = 1
    max: int = 1
    cpu_percent: int | None = strawberry.field(
        default=None, description="Of the CPU each replica reserves.")
    memory_percent: int | None = strawberry.field(
        default=None, description="Of each replica's memory limit.")
    cooldown_s: int = 60
    client_request_id: str | None = None


@strawberry.input
class ServiceIdInput:
    id: strawberry.ID
    client_request_id: str | None = None


@strawberry.type
class ServicePayload:
    position: int
    service_id: strawberry.Private[str]

    @strawberry.field(description="The service as the read side has it, at least at "
                                  "`position`.")
    async def service(self, info: Info[Context, Any]) -> Service | None:
        row = await info.context.read(service_reads.service, self.service_id)
        return Service.from_row(row) if row else None


def _service(read: Reader, outcome: Outcome) -> ServicePayload:
    return ServicePayload(service_id=str(outcome.id), position=outcome.position)


def _spec(data: CreateServiceInput | UpdateServiceInput) -> dict[str, Any]:
    return spec_of(data, [{"container_port": p.container_port, "protocol": p.protocol}
                          for p in data.ports or []])


CreateServiceResult = Annotated[ServicePayload | Error, strawberry.union("CreateServiceResult")]
ScaleServiceResult = Annotated[ServicePayload | Error, strawberry.union("ScaleServiceResult")]
SetAutoscalePolicyResult = Annotated[ServicePayload | Error,
                                    strawberry.union("SetAutoscalePolicyResult")]
UpdateServiceResult = Annotated[ServicePayload | Error, strawberry.union("UpdateServiceResult")]
RollbackServiceResult = Annotated[ServicePayload | Error,
                                  strawberry.union("RollbackServiceResult")]
StartServiceResult = Annotated[ServicePayload | Error, strawberry.union("StartServiceResult")]
StopServiceResult = Annotated[ServicePayload | Error, strawberry.union("StopServiceResult")]
DeleteServiceResult = Annotated[ServicePayload | Error, strawberry.union("DeleteServiceResult")]


@strawberry.type
class ServiceMutations:
    @strawberry.mutation(description="Makes a service and its replicas (each a container "
                                     "it owns, counted against the plan as containers are).")
    async def create_service(
        self, info: Info[Context, Any], input: CreateServiceInput
    ) -> CreateServiceResult:
        return await run(info, lambda actor: m.CreateService(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), name=input.name, spec=_spec(input),
            replicas=input.replicas, category=input.category,
            balanced=[p.container_port for p in input.ports or [] if p.load_balanced],
            start=input.start, update_policy=input.update_policy.to_data()
            if input.update_policy else None), _service)

    @strawberry.mutation(description="Makes or deletes replicas (the newest first) until "
                                     "it has `replicas`; past the plan: QuotaExceeded.")
    async def scale_service(
        self, info: Info[Context, Any], input: ScaleServiceInput
    ) -> ScaleServiceResult:
        return await run(info, lambda actor: m.ScaleService(
            actor=actor, request_id=input.client_request_id, service_id=parse_id(input.id),
            replicas=input.replicas), _service)

    @strawberry.mutation(description="Autoscaling from the replicas' CPU and memory use "
                                     "(never for data or disk services).")
    async def set_autoscale_policy(
        self, info: Info[Context, Any], input: SetAutoscalePolicyInput
    ) -> SetAutoscalePolicyResult:
        return await run(info, lambda actor: m.SetAutoscalePolicy(
            actor=actor, request_id=input.client_request_id, service_id=parse_id(input.id),
            enabled=input.enabled, min=input.min, max=input.max,
            cpu_percent=input.cpu_percent, memory_percent=input.memory_percent,
            cooldown_s=input.cooldown_s), _service)

    @strawberry.mutation(description="A new configuration, rolled out a few replicas at "
                                     "a time and rolled back by itself if it fails.")
    async def update_service(
        self, info: Info[Context, Any], input: UpdateServiceInput
    ) -> UpdateServiceResult:
        return await run(info, lambda actor: m.UpdateService(
            actor=actor, request_id=input.client_request_id, service_id=parse_id(input.id),
            spec=_spec(input),
            balanced=[p.container_port for p in input.ports or [] if p.load_balanced],
            update_policy=input.update_policy.to_data() if input.update_policy else None),
            _service)

    @strawberry.mutation
    async def rollback_service(
        self, info: Info[Context, Any], input: RollbackServiceInput
    ) -> RollbackServiceResult:
        return await run(info, lambda actor: m.RollbackService(
            actor=actor, request_id=input.client_request_id, service_id=parse_id(input.id),
            to_version=input.to_version), _service)

    @strawberry.mutation
    async def start_service(
        self, info: Info[Context, Any], input: ServiceIdInput
    ) -> StartServiceResult:
        return await run(info, lambda actor: m.StartService(
            actor=actor, request_id=input.client_request_id, service_id=parse_id(input.id)),
            _service)

    @strawberry.mutation
    async def stop_service(
        self, info: Info[Context, Any], input: ServiceIdInput
    ) -> StopServiceResult:
        return await run(info, lambda actor: m.StopService(
            actor=actor, request_id=input.client_request_id, service_id=parse_id(input.id)),
            _service)

    @strawberry.mutation
    async def delete_service(
        self, info: Info[Context, Any], input: ServiceIdInput
    ) -> DeleteServiceResult:
        return await run(info, lambda actor: m.DeleteService(
            actor=actor, request_id=input.client_request_id, service_id=parse_id(input.id)),
            _service)
