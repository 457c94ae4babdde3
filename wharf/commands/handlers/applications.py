"""Applications: a Compose file deployed as services on a network of their own, and the
custom domains that reach them. A deploy decides everything in one save: new services
and their replicas, changed ones replaced, those gone from the file deleted, volumes the
file names made, so a refused file (an unsupported key, a plan's limit) leaves nothing."""

from __future__ import annotations

from uuid import UUID

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.handlers.services import (
    check_references,
    check_rollout_room,
    delete_replica,
    make_service,
    scale,
)
from wharf.commands.messages import (
    BindDomain,
    DeleteApplication,
    DeployApplication,
    StartApplication,
    StopApplication,
    UnbindDomain,
)
from wharf.domain import compose
from wharf.domain.application import MAX_APP_NAME, Application, Domain, check_domain
from wharf.domain.base import WharfAggregate
from wharf.domain.container import Container
from wharf.domain.errors import InvalidInput, NotFound
from wharf.domain.service import STATEFUL, Service
from wharf.domain.tenant import MANAGE_WORKLOADS, Tenant, check_object_name
from wharf.domain.volume import Volume

APP_VOLUME_GIB = 1  # a volume a Compose file names is made at this size (resizeVolume grows it)


def deploy_application(ctx: Context, cmd: DeployApplication) -> Decision:
    name = check_object_name(cmd.name)
    if len(name) > MAX_APP_NAME:
        raise InvalidInput("name", f"at most {MAX_APP_NAME} characters")
    found = compose.parse(cmd.compose, name, cmd.env_files, cmd.variables)
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_WORKLOADS)
    tenant.require_active()
    app_id = Application.id_for(tenant.id, name)
    application = ctx.load(Application, app_id, "application") if ctx.exists(app_id) \
        else ctx.new(Application, id=app_id, tenant_id=tenant.id, name=name)
    changed: list[WharfAggregate] = [tenant, application]
    # A deploy starts it and every service it keeps, as `docker compose up` does.
    if application.desired == "stopped":
        application.start()
    changed += _everything(ctx, application, running=True)
    for wanted in found.services:  # (before anything is made for the file)
        known = application.services.get(wanted.name)
        service = ctx.load(Service, known, "service") if known is not None else None
        if service is not None and service.category != wanted.category:
            raise InvalidInput(f"services.{wanted.name}.labels.wharf.category", (
                f"service {wanted.name} is a {service.category} service: a category "
                "cannot change (deploy the file without it first)"))
    changed += _volumes(ctx, tenant, found)
    services: dict[str, UUID] = {}
    for wanted in found.services:
        path = f"services.{wanted.name}"
        full = check_object_name(f"{name}-{wanted.name}", path)
        cpu = wanted.spec.cpu_millis or ctx.plan_of(tenant).default_cpu_millis
        memory = wanted.spec.memory_mib or ctx.plan_of(tenant).default_memory_mib
        known = application.services.get(wanted.name)
        update = wanted.update
        if known is None:
            service, made = make_service(
                ctx, tenant, full, wanted.category, wanted.spec, list(wanted.balanced),
                wanted.replicas, "running", application_id=app_id, alias=wanted.name,
                depends_on=dict(wanted.depends_on), update=update)
            changed += [service, *made]
        else:
            service = ctx.load(Service, known, "service")
            check_references(ctx, tenant, wanted.spec)
            check_rollout_room(ctx, tenant, service, wanted.spec)
            service.set_update_policy(update)
            # (A changed configuration is rolled out by the scheduler, a replica at a time.)
            service.reconfigure(wanted.spec, list(wanted.balanced), cpu, memory,
                                wanted.depends_on)
            changed += scale(ctx, tenant, service, wanted.replicas, "deployed")
            changed.append(service)
        services[wanted.name] = service.id
    for gone, service_id in application.services.items():
        if gone not in services:
            changed += _delete_service(ctx, tenant, service_id)
    for domain, target in list(application.domains.items()):
        if target not in services:
            changed.append(_release(ctx, tenant, domain, application.id))
            application.unbind(domain)
    application.deploy(services, {s.name: s.as_data() for s in found.services}, found.entry,
                       list(found.warnings))
    return Decision(_unique(changed), Outcome(id=app_id))


def _unique(aggregates: list[WharfAggregate]) -> list[WharfAggregate]:
    """Each aggregate once, in the order first named (one may change twice in a deploy)."""
    seen: dict[UUID, WharfAggregate] = {}
    for aggregate in aggregates:
        seen.setdefault(aggregate.id, aggregate)
    return list(seen.values())


def _volumes(ctx: Context, tenant: Tenant, found: compose.ComposeApp) -> list[WharfAggregate]:
    """The volumes its services mount that the tenant does not have yet, made."""
    made: list[WharfAggregate] = []
    # (A data or disk service's replicas each get their own, as they are made.)
    needed = {m.volume for s in found.services if s.category not in STATEFUL
              for m in s.spec.volumes}
    for volume_name in sorted(needed - set(tenant.volumes)):
        if volume_name in found.external:
            raise InvalidInput("volumes", f"external volume {volume_name} does not exist")
        volume = ctx.new(Volume, tenant_id=tenant.id, name=volume_name,
                         size_gib=APP_VOLUME_GIB)
        tenant.reserve_volume(ctx.plan_of(tenant), volume_name, volume.id, APP_VOLUME_GIB)
        made.append(volume)
    return made


def _delete_service(ctx: Context, tenant: Tenant, service_id: UUID) -> list[WharfAggregate]:
    service = ctx.load(Service, service_id, "service")
    replicas: list[WharfAggregate] = [delete_replica(ctx, tenant, ident)
                                      for ident in service.replicas.values()]
    service.delete()
    tenant.release_service(service.name)
    return [service, *replicas]


def _application(ctx: Context, application_id: UUID) -> tuple[Application, Tenant]:
    application = ctx.owned(Application, application_id, "application")
    tenant = ctx.tenant(application.tenant_id, MANAGE_WORKLOADS)
    return application, tenant


def _everything(ctx: Context, application: Application, running: bool
                ) -> list[WharfAggregate]:
    """Its services and their replicas, each started (or stopped)."""
    changed: list[WharfAggregate] = []
    for service_id in application.services.values():
        service = ctx.load(Service, service_id, "service")
        replicas = [ctx.load(Container, ident, "container")
                    for ident in service.replicas.values()]
        group: list[Service | Container] = [service, *replicas]
        for each in group:
            if running:
                each.start()
            else:
                each.stop()
        changed += [service, *replicas]
    return changed


def start_application(ctx: Context, cmd: StartApplication) -> Decision:
    application, tenant = _application(ctx, cmd.application_id)
    tenant.require_active()
    application.start()
    return Decision([application, *_everything(ctx, application, running=True)],
                    Outcome(id=application.id))


def stop_application(ctx: Context, cmd: StopApplication) -> Decision:
    application, _ = _application(ctx, cmd.application_id)
    application.stop()
    return Decision([application, *_everything(ctx, application, running=False)],
                    Outcome(id=application.id))


def delete_application(ctx: Context, cmd: DeleteApplication) -> Decision:
    """Its services and their replicas go; its volumes stay (as `docker compose down`
    leaves them), and its domains are free to bind again."""
    application, tenant = _application(ctx, cmd.application_id)
    changed: list[WharfAggregate] = [tenant, application]
    for service_id in application.services.values():
        changed += _delete_service(ctx, tenant, service_id)
    changed += [_release(ctx, tenant, domain, application.id)
                for domain in application.domains]
    application.delete()
    return Decision(changed, Outcome(id=application.id))


def _release(ctx: Context, tenant: Tenant, name: str, application_id: UUID) -> Domain:
    """The domain freed, if `application_id` still holds it (a domain moved to another
    of its tenant's applications stays with that one); the tenant is the caller's to
    save."""
    domain = ctx.load(Domain, Domain.id_for(name), "domain")
    if domain.application_id == application_id:
        domain.release()
        tenant.release_domain(name)
    return domain


def bind_domain(ctx: Context, cmd: BindDomain) -> Decision:
    name = check_domain(cmd.domain, ctx.app.apps_domain)
    application, tenant = _application(ctx, cmd.application_id)
    tenant.require_active()
    domain_id = Domain.id_for(name)
    changed: list[WharfAggregate] = [tenant, application]
    try:
        domain = ctx.load(Domain, domain_id, "domain")
        held_by = domain.application_id
        domain.claim(tenant.id, application.id)  # (Conflict: another tenant's)
        if held_by is not None and held_by != application.id:
            # Moved from another of the tenant's applications: unbound there, in the
            # same save, so that freeing that one can never free this binding.
            previous = ctx.load(Application, held_by, "application")
            if name in previous.domains:
                previous.unbind(name)
                changed.append(previous)
    except NotFound:
        domain = ctx.new(Domain, id=domain_id, name=name, tenant_id=tenant.id,
                         application_id=application.id)
    application.bind(name, cmd.service)
    tenant.reserve_domain(name)
    return Decision([*changed, domain], Outcome(id=application.id))


def unbind_domain(ctx: Context, cmd: UnbindDomain) -> Decision:
    name = cmd.domain.strip().lower().rstrip(".")
    application, tenant = _application(ctx, cmd.application_id)
    application.unbind(name)
    return Decision([tenant, application, _release(ctx, tenant, name, application.id)],
                    Outcome(id=application.id))
