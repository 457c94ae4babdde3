"""Containers, volumes and secrets: their inputs, results and mutations (about 310
lines: each input type sits beside the one mutation that takes it)."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

import strawberry
from strawberry.types import Info

from wharf.commands import messages as m
from wharf.commands.answers import BackupAsked
from wharf.commands.context import Outcome
from wharf.domain.errors import InvalidInput
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import Error
from wharf.graphql.mutations.base import own_tenant, run
from wharf.graphql.types import Container, Volume
from wharf.projections.reads import Reader
from wharf.projections.reads import containers as container_reads
from wharf.projections.reads import volumes as volume_reads


@strawberry.input
class EnvVarInput:
    name: str
    value: str


@strawberry.input
class SecretRefInput:
    name: str
    env: str | None = None


@strawberry.input
class PortInput:
    container_port: int
    protocol: str = "tcp"
    host_port: int | None = None
    publish: bool = True


@strawberry.input
class MountInput:
    volume: str
    path: str
    read_only: bool = False


@strawberry.input(description="A command run inside the container (no shell: the first "
                              "item is the program); healthy while it exits 0.")
class HealthCheckInput:
    test: list[str]
    interval_s: int = 30
    timeout_s: int = 10
    retries: int = 3
    start_period_s: int = 0


@strawberry.input
class CreateContainerInput:
    name: str
    image: str
    tenant: strawberry.ID | None = None
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[EnvVarInput] | None = None
    secrets: list[SecretRefInput] | None = None
    ports: list[PortInput] | None = None
    cpu_millis: int | None = None
    memory_mib: int | None = None
    volumes: list[MountInput] | None = None
    restart_policy: str = "no"
    health_check: HealthCheckInput | None = None
    constraints: list[str] | None = strawberry.field(
        default=None, description="Host labels it must run on: host.labels.KEY == VALUE.")
    start: bool = True
    client_request_id: str | None = None


@strawberry.input
class ContainerIdInput:
    id: strawberry.ID
    client_request_id: str | None = None


@strawberry.type
class ContainerPayload:
    position: int
    container_id: strawberry.Private[str]

    @strawberry.field(description="The container as the read side has it, which is at "
                                  "least at `position` (read only when asked for).")
    async def container(self, info: Info[Context, Any]) -> Container | None:
        row = await info.context.read(container_reads.container, self.container_id)
        return Container.from_row(row) if row else None


def _container(read: Reader, outcome: Outcome) -> ContainerPayload:
    return ContainerPayload(container_id=str(outcome.id), position=outcome.position)


class SpecInput(Protocol):
    """The fields a container's input and a service's share."""

    image: str
    command: list[str] | None
    entrypoint: list[str] | None
    env: list[EnvVarInput] | None
    secrets: list[SecretRefInput] | None
    cpu_millis: int | None
    memory_mib: int | None
    volumes: list[MountInput] | None
    restart_policy: str
    health_check: HealthCheckInput | None
    constraints: list[str] | None


def spec_of(data: SpecInput, ports: list[dict[str, Any]]) -> dict[str, Any]:
    """The spec as the command takes it (validated there)."""
    env = {}
    for i, var in enumerate(data.env or []):
        if var.name in env:
            raise InvalidInput(f"env[{i}].name", f"{var.name} is set twice")
        env[var.name] = var.value
    return {
        "image": data.image, "command": data.command, "entrypoint": data.entrypoint,
        "env": env,
        "secrets": [{"name": s.name, "env": s.env} for s in data.secrets or []],
        "ports": ports, "cpu_millis": data.cpu_millis, "memory_mib": data.memory_mib,
        "volumes": [{"volume": v.volume, "path": v.path, "read_only": v.read_only}
                    for v in data.volumes or []],
        "restart_policy": data.restart_policy,
        **({"health_check": vars(data.health_check)} if data.health_check else {}),
        **({"constraints": data.constraints} if data.constraints else {}),
    }


def _spec(data: CreateContainerInput) -> dict[str, Any]:
    return spec_of(data, [{"container_port": p.container_port, "protocol": p.protocol,
                           "host_port": p.host_port, "publish": p.publish}
                          for p in data.ports or []])


CreateContainerResult = Annotated[ContainerPayload | Error,
                          strawberry.union("CreateContainerResult")]
StartContainerResult = Annotated[ContainerPayload | Error, strawberry.union("StartContainerResult")]
StopContainerResult = Annotated[ContainerPayload | Error, strawberry.union("StopContainerResult")]
DeleteContainerResult = Annotated[ContainerPayload | Error,
                          strawberry.union("DeleteContainerResult")]


@strawberry.input
class CreateVolumeInput:
    name: str
    size_gib: int
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.input
class ResizeVolumeInput:
    id: strawberry.ID
    size_gib: int
    client_request_id: str | None = None


@strawberry.input
class VolumeIdInput:
    id: strawberry.ID
    client_request_id: str | None = None


@strawberry.input
class RestoreVolumeInput:
    volume: strawberry.ID = strawberry.field(description="The volume the backup was taken of.")
    backup: strawberry.ID
    name: str = strawberry.field(description="The new volume's name.")
    client_request_id: str | None = None


@strawberry.type
class BackupRequested:
    backup_id: strawberry.ID
    volume: Volume | None
    position: int


@strawberry.type
class VolumePayload:
    volume: Volume | None
    position: int


def _volume(read: Reader, outcome: Outcome) -> VolumePayload:
    row = volume_reads.volume(read, str(outcome.id))
    return VolumePayload(volume=Volume.from_row(row) if row else None,
                         position=outcome.position)


CreateVolumeResult = Annotated[VolumePayload | Error, strawberry.union("CreateVolumeResult")]
BackupVolumeResult = Annotated[BackupRequested | Error, strawberry.union("BackupVolumeResult")]
RestoreVolumeResult = Annotated[VolumePayload | Error, strawberry.union("RestoreVolumeResult")]
ResizeVolumeResult = Annotated[VolumePayload | Error, strawberry.union("ResizeVolumeResult")]
DeleteVolumeResult = Annotated[VolumePayload | Error, strawberry.union("DeleteVolumeResult")]


@strawberry.input
class SetSecretInput:
    name: str
    value: str
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.input
class DeleteSecretInput:
    name: str
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.type
class SecretPayload:
    name: str
    position: int


SetSecretResult = Annotated[SecretPayload | Error, strawberry.union("SetSecretResult")]
DeleteSecretResult = Annotated[SecretPayload | Error, strawberry.union("DeleteSecretResult")]


@strawberry.type
class WorkloadMutations:
    @strawberry.mutation
    async def create_container(
        self, info: Info[Context, Any], input: CreateContainerInput
    ) -> CreateContainerResult:
        return await run(info, lambda actor: m.CreateContainer(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), name=input.name, spec=_spec(input),
            start=input.start), _container)

    @strawberry.mutation
    async def start_container(
        self, info: Info[Context, Any], input: ContainerIdInput
    ) -> StartContainerResult:
        return await run(info, lambda actor: m.StartContainer(
            actor=actor, request_id=input.client_request_id, container_id=parse_id(input.id)),
            _container)

    @strawberry.mutation
    async def stop_container(
        self, info: Info[Context, Any], input: ContainerIdInput
    ) -> StopContainerResult:
        return await run(info, lambda actor: m.StopContainer(
            actor=actor, request_id=input.client_request_id, container_id=parse_id(input.id)),
            _container)

    @strawberry.mutation
    async def delete_container(
        self, info: Info[Context, Any], input: ContainerIdInput
    ) -> DeleteContainerResult:
        return await run(info, lambda actor: m.DeleteContainer(
            actor=actor, request_id=input.client_request_id, container_id=parse_id(input.id)),
            _container)

    @strawberry.mutation
    async def create_volume(
        self, info: Info[Context, Any], input: CreateVolumeInput
    ) -> CreateVolumeResult:
        return await run(info, lambda actor: m.CreateVolume(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), name=input.name,
            size_gib=input.size_gib), _volume)

    @strawberry.mutation
    async def resize_volume(
        self, info: Info[Context, Any], input: ResizeVolumeInput
    ) -> ResizeVolumeResult:
        return await run(info, lambda actor: m.ResizeVolume(
            actor=actor, request_id=input.client_request_id, volume_id=parse_id(input.id),
            size_gib=input.size_gib), _volume)

    @strawberry.mutation
    async def delete_volume(
        self, info: Info[Context, Any], input: VolumeIdInput
    ) -> DeleteVolumeResult:
        return await run(info, lambda actor: m.DeleteVolume(
            actor=actor, request_id=input.client_request_id, volume_id=parse_id(input.id)),
            _volume)

    @strawberry.mutation(description="Archives the volume's files (the scheduler takes the "
                                     "backup; watch `volume.backups`).")
    async def backup_volume(
        self, info: Info[Context, Any], input: VolumeIdInput
    ) -> BackupVolumeResult:
        def done(read: Reader, outcome: Outcome) -> BackupRequested:
            asked = outcome.answer_as(BackupAsked)
            return BackupRequested(backup_id=strawberry.ID(asked.backup_id),
                                   volume=_volume(read, outcome).volume,
                                   position=outcome.position)

        return await run(info, lambda actor: m.BackupVolume(
            actor=actor, request_id=input.client_request_id, volume_id=parse_id(input.id)),
            done)

    @strawberry.mutation(description="A new volume filled from a finished backup.")
    async def restore_volume(
        self, info: Info[Context, Any], input: RestoreVolumeInput
    ) -> RestoreVolumeResult:
        return await run(info, lambda actor: m.RestoreVolume(
            actor=actor, request_id=input.client_request_id, volume_id=parse_id(input.volume),
            backup_id=str(input.backup), name=input.name), _volume)

    @strawberry.mutation
    async def set_secret(self, info: Info[Context, Any], input: SetSecretInput) -> SetSecretResult:
        def done(read: Reader, outcome: Outcome) -> SecretPayload:
            return SecretPayload(name=input.name, position=outcome.position)

        return await run(info, lambda actor: m.SetSecret(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), name=input.name, value=input.value),
            done)

    @strawberry.mutation
    async def delete_secret(
        self, info: Info[Context, Any], input: DeleteSecretInput
    ) -> DeleteSecretResult:
        def done(read: Reader, outcome: Outcome) -> SecretPayload:
            return SecretPayload(name=input.name, position=outcome.position)

        return await run(info, lambda actor: m.DeleteSecret(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), name=input.name), done)
