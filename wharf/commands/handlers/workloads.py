"""Containers and volumes: developers' commands, checked against the tenant's plan."""

from __future__ import annotations

from uuid import uuid4

from wharf.commands.answers import BackupAsked
from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.handlers.services import check_references
from wharf.commands.messages import (
    BackupVolume,
    CreateContainer,
    CreateVolume,
    DeleteContainer,
    DeleteVolume,
    ResizeVolume,
    RestoreVolume,
    StartContainer,
    StopContainer,
)
from wharf.domain.container import Container
from wharf.domain.container_spec import validate_spec
from wharf.domain.plans import Resources
from wharf.domain.tenant import MANAGE_WORKLOADS, check_object_name
from wharf.domain.volume import Volume, check_size


def create_container(ctx: Context, cmd: CreateContainer) -> Decision:
    name = check_object_name(cmd.name)
    spec = validate_spec(cmd.spec)
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_WORKLOADS)
    check_references(ctx, tenant, spec)
    plan = ctx.plan_of(tenant)
    cpu = spec.cpu_millis or plan.default_cpu_millis
    memory = spec.memory_mib or plan.default_memory_mib
    container_id = uuid4()
    tenant.reserve_container(
        plan, name, container_id,
        Resources(containers=1, cpu_millis=cpu, memory_mib=memory),
        spec.volume_names,
    )
    container = ctx.new(
        Container, tenant_id=tenant.id, name=name, spec=spec.to_data(), cpu_millis=cpu,
        memory_mib=memory, desired="running" if cmd.start else "stopped", id=container_id,
        service_id=None, config_version=0,
    )
    return Decision([tenant, container], Outcome(id=container_id))


def _container(ctx: Context, cmd: StartContainer | StopContainer | DeleteContainer) -> Container:
    container = ctx.owned(Container, cmd.container_id, "container")
    ctx.tenant(container.tenant_id, MANAGE_WORKLOADS)
    container.require_own()
    return container


def start_container(ctx: Context, cmd: StartContainer) -> Decision:
    container = _container(ctx, cmd)
    ctx.tenant(container.tenant_id, MANAGE_WORKLOADS).require_active()
    container.start()
    return Decision([container], Outcome(id=container.id))


def stop_container(ctx: Context, cmd: StopContainer) -> Decision:
    container = _container(ctx, cmd)
    container.stop()
    return Decision([container], Outcome(id=container.id))


def delete_container(ctx: Context, cmd: DeleteContainer) -> Decision:
    container = _container(ctx, cmd)
    tenant = ctx.tenant(container.tenant_id, MANAGE_WORKLOADS)
    container.delete()
    tenant.release_container(container.name)
    return Decision([tenant, container], Outcome(id=container.id))


def create_volume(ctx: Context, cmd: CreateVolume) -> Decision:
    name = check_object_name(cmd.name)
    size = check_size(cmd.size_gib)
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_WORKLOADS)
    volume_id = uuid4()
    tenant.reserve_volume(ctx.plan_of(tenant), name, volume_id, size)
    volume = ctx.new(Volume, tenant_id=tenant.id, name=name, size_gib=size, id=volume_id)
    return Decision([tenant, volume], Outcome(id=volume_id))


def resize_volume(ctx: Context, cmd: ResizeVolume) -> Decision:
    size = check_size(cmd.size_gib)
    volume = ctx.owned(Volume, cmd.volume_id, "volume")
    tenant = ctx.tenant(volume.tenant_id, MANAGE_WORKLOADS)
    if volume.deleted:
        volume.resize(size)  # raises Conflict
    tenant.resize_volume(ctx.plan_of(tenant), volume.name, size)
    volume.resize(size)
    return Decision([tenant, volume], Outcome(id=volume.id))


def delete_volume(ctx: Context, cmd: DeleteVolume) -> Decision:
    volume = ctx.owned(Volume, cmd.volume_id, "volume")
    tenant = ctx.tenant(volume.tenant_id, MANAGE_WORKLOADS)
    volume.delete()
    tenant.release_volume(volume.name)
    return Decision([tenant, volume], Outcome(id=volume.id))


def backup_volume(ctx: Context, cmd: BackupVolume) -> Decision:
    volume = ctx.owned(Volume, cmd.volume_id, "volume")
    ctx.tenant(volume.tenant_id, MANAGE_WORKLOADS)
    backup_id = str(uuid4())
    volume.request_backup(backup_id)
    return Decision([volume], Outcome(id=volume.id, answer=BackupAsked(backup_id)))


def restore_volume(ctx: Context, cmd: RestoreVolume) -> Decision:
    """A new volume, of the source's size, filled from one of its finished backups (the
    source may have been deleted since)."""
    name = check_object_name(cmd.name)
    source = ctx.owned(Volume, cmd.volume_id, "volume")
    tenant = ctx.tenant(source.tenant_id, MANAGE_WORKLOADS)
    source.backup(cmd.backup_id)  # raises Conflict unless finished
    volume_id = uuid4()
    tenant.reserve_volume(ctx.plan_of(tenant), name, volume_id, source.size_gib)
    volume = ctx.new(Volume, tenant_id=tenant.id, name=name, size_gib=source.size_gib,
                     id=volume_id)
    volume.restore_from(source.id, cmd.backup_id)
    return Decision([tenant, volume], Outcome(id=volume_id))
