"""Services: developers' commands. A service's replicas are containers made, started,
stopped and deleted in the same save as the service's own event, each reserved against
the tenant's plan as a container is."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.handlers.repositories import check_image
from wharf.commands.messages import (
    AssignEndpoint,
    AutoscaleService,
    CreateService,
    DeleteService,
    FinishRollout,
    RetireReplica,
    RollbackService,
    RollReplicas,
    ScaleService,
    SetAutoscalePolicy,
    StartService,
    StopService,
    UpdateService,
)
from wharf.domain.base import WharfAggregate
from wharf.domain.container import Container
from wharf.domain.container_spec import ContainerSpec, validate_spec
from wharf.domain.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from wharf.domain.plans import Resources
from wharf.domain.secret import Secret
from wharf.domain.service import (
    Service,
    UpdatePolicy,
    check_balanced,
    check_category,
    check_policy,
    check_replicas,
    check_update_policy,
    replica_name,
    replica_volume,
)
from wharf.domain.tenant import MANAGE_WORKLOADS, Tenant, check_object_name
from wharf.domain.volume import Volume

# A stateful replica's own volume is made at this size (resizeVolume grows it).
REPLICA_VOLUME_GIB = 1


def check_references(ctx: Context, tenant: Tenant, spec: ContainerSpec) -> None:
    """Every secret the spec names exists (as volumes must): one that can run, or none;
    and its image is one the tenant may run (handlers/repositories.py: check_image)."""
    check_image(ctx, tenant, spec.image)
    for i, ref in enumerate(spec.secrets):
        try:
            secret = ctx.load(Secret, Secret.id_for(tenant.id, ref.name), "secret")
        except NotFound:
            secret = None
        if secret is None or secret.deleted:
            raise InvalidInput(f"secrets[{i}]", f"no secret named {ref.name}")


def create_service(ctx: Context, cmd: CreateService) -> Decision:
    name = check_object_name(cmd.name)
    category = check_category(cmd.category)
    replicas = check_replicas(cmd.replicas)
    raw = dict(cmd.spec)
    raw.setdefault("restart_policy", "always")  # a replica that exits is run again
    spec = validate_spec(raw)
    balanced = check_balanced(spec, cmd.balanced)
    update = _update_policy(cmd.update_policy) or UpdatePolicy()
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_WORKLOADS)
    service, changed = make_service(
        ctx, tenant, name, category, spec, balanced, replicas,
        "running" if cmd.start else "stopped", application_id=None, alias=name,
        depends_on={}, update=update)
    return Decision([tenant, service, *changed], Outcome(id=service.id))


def _update_policy(data: dict[str, Any] | None) -> UpdatePolicy | None:
    if data is None:
        return None
    defaults = UpdatePolicy().to_data()
    for key in data:
        if key not in defaults:
            raise InvalidInput(f"update_policy.{key}", "is not a field of an update policy")
    try:
        return check_update_policy(**{**defaults, **data})
    except InvalidInput as error:
        raise InvalidInput(f"update_policy.{error.field}", error.message) from None


def make_service(ctx: Context, tenant: Tenant, name: str, category: str, spec: ContainerSpec,
                 balanced: list[int], replicas: int, desired: str,
                 application_id: UUID | None, alias: str, depends_on: dict[str, str],
                 update: UpdatePolicy) -> tuple[Service, list[WharfAggregate]]:
    """A new service and its replicas (the tenant, changed too, is the caller's to save)."""
    check_references(ctx, tenant, spec)
    plan = ctx.plan_of(tenant)
    service_id = uuid4()
    tenant.reserve_service(name, service_id)
    service = ctx.new(
        Service, id=service_id, tenant_id=tenant.id, name=name, category=category,
        spec=spec.to_data(), balanced=balanced,
        cpu_millis=spec.cpu_millis or plan.default_cpu_millis,
        memory_mib=spec.memory_mib or plan.default_memory_mib, desired=desired,
        application_id=application_id, alias=alias, depends_on=depends_on,
        update=update.to_data())
    return service, scale(ctx, tenant, service, replicas, "created")


def scale(ctx: Context, tenant: Tenant, service: Service, replicas: int,
           reason: str, figures: dict[str, float] | None = None) -> list[WharfAggregate]:
    """Records the scale and makes or deletes the replicas it decided; QuotaExceeded
    (for the whole request, with its numbers) before anything is recorded."""
    adding = max(0, replicas - service.count)
    if adding:
        tenant.require_active()
        tenant.check_quota(ctx.plan_of(tenant), Resources(
            containers=adding, cpu_millis=adding * service.cpu_millis,
            memory_mib=adding * service.memory_mib,
            volume_gib=REPLICA_VOLUME_GIB * len(_missing_volumes(
                tenant, service, service.next_slots(adding)))))
    change = service.scale(replicas, [uuid4() for _ in range(adding)], reason, figures)
    changed = make_replicas(ctx, tenant, service, change.added)
    for _, container_id in change.removed:
        changed.append(delete_replica(ctx, tenant, container_id))
    return changed


def make_replicas(ctx: Context, tenant: Tenant, service: Service,
                  added: tuple[tuple[int, UUID], ...]) -> list[WharfAggregate]:
    """The containers of the replicas a scale or a rollout decided, each reserved."""
    changed: list[WharfAggregate] = []
    plan = ctx.plan_of(tenant)
    for volume_name in _missing_volumes(tenant, service, [slot for slot, _ in added]):
        volume = ctx.new(Volume, id=uuid4(), tenant_id=tenant.id, name=volume_name,
                         size_gib=REPLICA_VOLUME_GIB)
        tenant.reserve_volume(plan, volume_name, volume.id, REPLICA_VOLUME_GIB)
        changed.append(volume)
    for slot, container_id in added:
        name = replica_name(service.name, slot)
        spec = service.replica_spec(slot)
        tenant.reserve_container(
            plan, name, container_id,
            Resources(containers=1, cpu_millis=service.cpu_millis,
                      memory_mib=service.memory_mib),
            spec.volume_names)
        changed.append(ctx.new(
            Container, id=container_id, tenant_id=tenant.id, name=name,
            spec=spec.to_data(), cpu_millis=service.cpu_millis,
            memory_mib=service.memory_mib, desired=service.desired,
            service_id=service.id, config_version=service.config_version))
    return changed


def check_rollout_room(ctx: Context, tenant: Tenant, service: Service,
                       spec: ContainerSpec) -> None:
    """A new configuration its replicas can be made with: the volumes it names exist
    (a stateful service's own ones, new for a new mount, fit the plan), so a rollout
    never stalls on what could be said now."""
    if not service.stateful:
        for i, name in enumerate(spec.volume_names):
            if name not in tenant.volumes:
                raise InvalidInput(f"volumes[{i}]", f"no volume named {name}")
        return
    new = {replica_volume(service.name, slot, mount.volume) for slot in service.replicas
           for mount in spec.volumes} - set(tenant.volumes)
    if new:
        tenant.check_quota(ctx.plan_of(tenant), Resources(
            volume_gib=REPLICA_VOLUME_GIB * len(new)))


def _missing_volumes(tenant: Tenant, service: Service, slots: list[int]) -> list[str]:
    """The volumes of a stateful service's replicas in `slots` that do not exist yet (a
    slot scaled away and back finds its volume where it left it)."""
    if not service.stateful:
        return []
    return sorted({name for slot in slots for name in service.replica_spec(slot).volume_names
                   if name not in tenant.volumes})


def delete_replica(ctx: Context, tenant: Tenant, container_id: UUID) -> Container:
    container = ctx.load(Container, container_id, "container")
    if container.desired != "deleted":
        container.delete()
    tenant.release_container(container.name)
    return container


def _service(ctx: Context, service_id: UUID) -> tuple[Service, Tenant]:
    service = ctx.owned(Service, service_id, "service")
    tenant = ctx.tenant(service.tenant_id, MANAGE_WORKLOADS)
    return service, tenant


def _replicas(ctx: Context, service: Service) -> list[Container]:
    return [ctx.load(Container, ident, "container") for ident in service.replicas.values()]


def scale_service(ctx: Context, cmd: ScaleService) -> Decision:
    replicas = check_replicas(cmd.replicas)
    service, tenant = _service(ctx, cmd.service_id)
    changed = scale(ctx, tenant, service, replicas, "manual")
    return Decision([tenant, service, *changed], Outcome(id=service.id))


def set_autoscale_policy(ctx: Context, cmd: SetAutoscalePolicy) -> Decision:
    service, _ = _service(ctx, cmd.service_id)
    policy = check_policy(service.category, cmd.min, cmd.max, cmd.cpu_percent,
                          cmd.memory_percent, cmd.cooldown_s) if cmd.enabled else None
    service.set_autoscale(policy)
    return Decision([service], Outcome(id=service.id))


def autoscale_service(ctx: Context, cmd: AutoscaleService) -> Decision:
    ctx.require_system()
    service = ctx.load(Service, cmd.service_id, "service")
    if service.desired != "running" or service.autoscale is None \
            or service.count != cmd.expected:
        return Decision([], Outcome(id=service.id))  # decided on a state that has passed
    tenant = ctx.tenant_of_system(service.tenant_id)
    changed = scale(ctx, tenant, service, check_replicas(cmd.replicas),
                     f"autoscale: {cmd.reason}", cmd.figures)
    return Decision([tenant, service, *changed], Outcome(id=service.id))


def start_service(ctx: Context, cmd: StartService) -> Decision:
    service, tenant = _service(ctx, cmd.service_id)
    tenant.require_active()
    service.start()
    replicas = _replicas(ctx, service)
    for replica in replicas:
        replica.start()
    return Decision([service, *replicas], Outcome(id=service.id))


def stop_service(ctx: Context, cmd: StopService) -> Decision:
    service, _ = _service(ctx, cmd.service_id)
    service.stop()
    replicas = _replicas(ctx, service)
    for replica in replicas:
        replica.stop()
    return Decision([service, *replicas], Outcome(id=service.id))


def delete_service(ctx: Context, cmd: DeleteService) -> Decision:
    service, tenant = _service(ctx, cmd.service_id)
    if service.application_id is not None:
        raise Conflict(f"service {service.name} is part of an application: deploy its file "
                       "without it, or delete the application")
    replicas = [delete_replica(ctx, tenant, ident) for ident in service.replicas.values()]
    service.delete()
    tenant.release_service(service.name)
    return Decision([tenant, service, *replicas], Outcome(id=service.id))


def update_service(ctx: Context, cmd: UpdateService) -> Decision:
    service, tenant = _service(ctx, cmd.service_id)
    if service.application_id is not None:
        raise Conflict(f"service {service.name} is part of an application: deploy its "
                       "file again to change it")
    raw = dict(cmd.spec)
    raw.setdefault("restart_policy", "always")
    spec = validate_spec(raw)
    balanced = check_balanced(spec, cmd.balanced)
    update = _update_policy(cmd.update_policy)
    check_references(ctx, tenant, spec)
    check_rollout_room(ctx, tenant, service, spec)
    plan = ctx.plan_of(tenant)
    if update is not None:  # (before the new version: its rollout follows this policy)
        service.set_update_policy(update)
    service.reconfigure(spec, balanced, spec.cpu_millis or plan.default_cpu_millis,
                        spec.memory_mib or plan.default_memory_mib, service.depends_on)
    return Decision([service], Outcome(id=service.id))


def rollback_service(ctx: Context, cmd: RollbackService) -> Decision:
    """A tenant's rollback to any earlier version, or the scheduler's to the last good
    one when a rollout fails: the abandoned rollout's new replicas are deleted."""
    if ctx.actor.kind == "system":
        service = ctx.load(Service, cmd.service_id, "service")
        tenant = ctx.tenant_of_system(service.tenant_id)
    else:
        service, tenant = _service(ctx, cmd.service_id)
    dropped = service.roll_back(cmd.to_version, cmd.reason)
    replicas = [delete_replica(ctx, tenant, ident) for ident in dropped]
    return Decision([tenant, service, *replicas], Outcome(id=service.id))


def roll_replicas(ctx: Context, cmd: RollReplicas) -> Decision:
    """Start-first: the successors are made while the old replicas serve. A plan with no
    room for them makes it stop-first: the old ones go in the same save."""
    ctx.require_leader(cmd.term)
    service = ctx.load(Service, cmd.service_id, "service")
    tenant = ctx.tenant_of_system(service.tenant_id)
    change = service.roll(cmd.old, [uuid4() for _ in cmd.old])
    changed: list[WharfAggregate] = [tenant, service]
    if change.removed:  # stop-first: each old replica goes before its successor comes
        changed += [delete_replica(ctx, tenant, old) for _, old in change.removed]
        changed += make_replicas(ctx, tenant, service, change.added)
        return Decision(changed, Outcome(id=service.id))
    try:
        tenant.check_quota(ctx.plan_of(tenant), Resources(
            containers=len(change.added), cpu_millis=len(change.added) * service.cpu_millis,
            memory_mib=len(change.added) * service.memory_mib))
    except QuotaExceeded:
        for old in [o for o in cmd.old if o in service.retiring]:
            service.retire(old)
            changed.append(delete_replica(ctx, tenant, old))
    changed += make_replicas(ctx, tenant, service, change.added)
    return Decision(changed if change.added else [], Outcome(id=service.id))


def retire_replica(ctx: Context, cmd: RetireReplica) -> Decision:
    ctx.require_leader(cmd.term)
    service = ctx.load(Service, cmd.service_id, "service")
    if not service.retire(cmd.old):
        return Decision([], Outcome(id=service.id))
    tenant = ctx.tenant_of_system(service.tenant_id)
    return Decision([tenant, service, delete_replica(ctx, tenant, cmd.old)],
                    Outcome(id=service.id))


def finish_rollout(ctx: Context, cmd: FinishRollout) -> Decision:
    ctx.require_leader(cmd.term)
    service = ctx.load(Service, cmd.service_id, "service")
    return Decision([service] if service.finish_rollout() else [], Outcome(id=service.id))


def assign_endpoint(ctx: Context, cmd: AssignEndpoint) -> Decision:
    ctx.require_leader(cmd.term)
    service = ctx.load(Service, cmd.service_id, "service")
    changed = service.assign_endpoint(cmd.container_port, cmd.listen_port)
    return Decision([service] if changed else [], Outcome(id=service.id))
