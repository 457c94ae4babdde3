"""Plans, tenants and their life cycle: operators' commands."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from wharf.commands.answers import PlanAdded, TenantCreated
from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.handlers.access import new_token
from wharf.commands.messages import (
    AddPlan,
    ChangePlan,
    CloseTenant,
    CreateTenant,
    PurgeTenant,
    ResumeTenant,
    SuspendTenant,
)
from wharf.domain.application import Application, Domain
from wharf.domain.base import WharfAggregate
from wharf.domain.container import Container
from wharf.domain.errors import Conflict, Forbidden, InvalidInput
from wharf.domain.host import Host
from wharf.domain.plans import LIMIT_FIELDS, Plan, validate_plan
from wharf.domain.registry import PUBLIC
from wharf.domain.service import Service
from wharf.domain.tenant import MANAGE_TENANT, TENANT_NAME, Tenant, check_email
from wharf.domain.volume import Volume


def add_plan(ctx: Context, cmd: AddPlan) -> Decision:
    ctx.require_operator()
    prices = validate_plan(cmd.name, cmd.limits, dict(cmd.prices), cmd.default_cpu_millis,
                           cmd.default_memory_mib)
    catalog = ctx.catalog()
    plan = catalog.add(Plan(
        name=cmd.name, version=0,
        limits={k: cmd.limits.get(k) for k in LIMIT_FIELDS},
        prices=prices, default_cpu_millis=cmd.default_cpu_millis,
        default_memory_mib=cmd.default_memory_mib, bandwidth_mbps=cmd.bandwidth_mbps,
        log_retention_hours=cmd.log_retention_hours, description=cmd.description,
        self_service=cmd.self_service,
    ))
    return Decision([catalog], Outcome(answer=PlanAdded(plan.name, plan.version)))


def create_tenant(ctx: Context, cmd: CreateTenant) -> Decision:
    ctx.require_operator()
    if not TENANT_NAME.fullmatch(cmd.name):
        raise InvalidInput("name", "3-40 lower-case letters, digits or '-', starting with a "
                                   "letter")
    if cmd.name == PUBLIC:  # (a tenant's name is its namespace in the image registry)
        raise InvalidInput("name", f"{PUBLIC} is the platform's: its public images' namespace")
    owner = check_email(cmd.owner, "owner")
    tenant_id = Tenant.id_for(cmd.name)
    if ctx.exists(tenant_id):
        raise Conflict(f"a tenant named {cmd.name} already exists")
    plan = ctx.catalog().latest(cmd.plan)
    tenant = ctx.new(Tenant, name=cmd.name, plan_name=plan.name, plan_version=plan.version,
                     owner=owner, id=tenant_id)
    token, secret = new_token(ctx, tenant_id, owner, "tenant", 24 * 90, "owner",
                              tenant.member_epoch(owner))
    ctx.keys.create(tenant_id)
    return Decision([tenant, token], Outcome(id=tenant_id, token=secret,
                                             answer=TenantCreated(str(token.id))))


def change_plan(ctx: Context, cmd: ChangePlan) -> Decision:
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    plan = ctx.catalog().latest(cmd.plan)
    if not plan.self_service and not ctx.actor.is_operator:
        raise Forbidden(f"plan {plan.name} is assigned by an operator; ask your provider")
    tenant.change_plan(plan)
    return Decision([tenant], Outcome(id=tenant.id))


MAX_GRACE_HOURS = 24 * 366


def _containers(ctx: Context, tenant: Tenant) -> list[Container]:
    return [ctx.load(Container, c["id"], "container") for c in tenant.containers.values()]


def suspend_tenant(ctx: Context, cmd: SuspendTenant) -> Decision:
    ctx.require_operator()
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    tenant.suspend()
    changed: list[WharfAggregate] = [tenant]
    for container in _containers(ctx, tenant):
        if container.desired == "running":
            container.stop(by_suspension=True)
            changed.append(container)
    return Decision(changed, Outcome(id=tenant.id))


def resume_tenant(ctx: Context, cmd: ResumeTenant) -> Decision:
    ctx.require_operator()
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    tenant.resume()
    changed: list[WharfAggregate] = [tenant]
    for container in _containers(ctx, tenant):
        if container.stopped_by_suspension:
            container.start()
            changed.append(container)
    return Decision(changed, Outcome(id=tenant.id))


def close_tenant(ctx: Context, cmd: CloseTenant) -> Decision:
    """Stops every workload now, destroys the data key, and purges after the grace period."""
    ctx.require_operator()
    if not 0 <= cmd.grace_hours <= MAX_GRACE_HOURS:
        raise InvalidInput("grace_hours", f"must be between 0 and {MAX_GRACE_HOURS}")
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    tenant.close(purge_after=(ctx.clock.now() + timedelta(hours=cmd.grace_hours)).isoformat())
    changed: list[WharfAggregate] = [tenant]
    for container in _containers(ctx, tenant):
        if container.desired == "running":
            container.stop()
            changed.append(container)
    for host_id in tenant.own_hosts:  # (their credentials go with the tenant's data key)
        host = ctx.load(Host, UUID(host_id), "host")
        tenant.leave_host(host.id)  # type: ignore[arg-type]
        if host.state != "removed":
            host.remove()
            changed.append(host)
    tenant_id: UUID = tenant.id
    return Decision(changed, Outcome(id=tenant.id),
                    after_save=[lambda: ctx.keys.destroy(tenant_id)])


def purge_tenant(ctx: Context, cmd: PurgeTenant) -> Decision:
    """Deletes a closed tenant's workloads and volumes once its grace period is over."""
    ctx.require_operator()
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    if tenant.status != "closed" or tenant.purge_after is None:
        raise Conflict(f"tenant {tenant.name} is not closed")
    if ctx.clock.now().isoformat() < tenant.purge_after:
        raise Conflict(f"tenant {tenant.name} is in its grace period until {tenant.purge_after}")
    changed: list[WharfAggregate] = [tenant]
    for name, entry in list(tenant.containers.items()):
        container = ctx.load(Container, entry["id"], "container")
        container.delete()
        tenant.release_container(name)
        changed.append(container)
    applications: set[UUID] = set()
    for name, service_id in list(tenant.services.items()):
        service = ctx.load(Service, service_id, "service")
        if service.application_id is not None:
            applications.add(service.application_id)
        service.delete()
        tenant.release_service(name)
        changed.append(service)
    for application_id in sorted(applications):  # (their domains free for others)
        application = ctx.load(Application, application_id, "application")
        for domain_name in application.domains:
            domain = ctx.load(Domain, Domain.id_for(domain_name), "domain")
            if domain.application_id == application.id:
                domain.release()
                tenant.release_domain(domain_name)
                changed.append(domain)
        if application.desired != "deleted":
            application.delete()
            changed.append(application)
    for name, entry in list(tenant.volumes.items()):
        volume = ctx.load(Volume, entry["id"], "volume")
        volume.delete()
        tenant.release_volume(name)
        changed.append(volume)
    tenant.mark_purged()
    tenant_id: UUID = tenant.id
    # Closing destroyed the key already; doing it again is harmless and covers a crash
    # between that save and that destruction.
    return Decision(changed, Outcome(id=tenant.id),
                    after_save=[lambda: ctx.keys.destroy(tenant_id)])

