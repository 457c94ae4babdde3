"""Hosts: operators register, label, drain and remove Docker endpoints; a tenant's owner
joins hosts of its own to its dedicated pool (as many as its plan allows) and removes
them. Credentials for mutual TLS are sealed: an operator's with the platform's data key,
a tenant's with its own (gone with the tenant)."""

from __future__ import annotations

from uuid import UUID

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import DrainHost, LabelHost, RegisterHost, RemoveHost
from wharf.commands.sealing import seal
from wharf.domain.base import WharfAggregate
from wharf.domain.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from wharf.domain.host import PUBLIC, Host, check_host, check_labels, check_tenant_endpoint
from wharf.domain.mirror import PLATFORM_SECRETS
from wharf.domain.tenant import MANAGE_TENANT, Tenant
from wharf.domain.tls import TlsCredentials


def register_host(ctx: Context, cmd: RegisterHost) -> Decision:
    credentials = None
    if cmd.tls_ca or cmd.tls_cert or cmd.tls_key:
        credentials = TlsCredentials(ca=cmd.tls_ca, cert=cmd.tls_cert, key=cmd.tls_key)
    tenant: Tenant | None = None
    if cmd.tenant_id is not None:  # a tenant's own host: mutual TLS, never this machine
        check_tenant_endpoint(cmd.endpoint)
        if credentials is None:
            raise InvalidInput("tls", "a tenant's host joins with mutual TLS")
        tenant = may_join(ctx, cmd.tenant_id, Host.id_for(cmd.endpoint))
        pool = tenant.name
    else:
        ctx.require_operator()
        pool = cmd.pool
        if pool != PUBLIC:
            try:
                tenant = ctx.load(Tenant, Tenant.id_for(pool), "tenant")
            except NotFound:
                raise InvalidInput("pool", "must be 'public' or the name of a tenant") from None
    factor = check_host(cmd.endpoint, cmd.cpu_millis, cmd.memory_mib, cmd.overcommit,
                        secured=credentials is not None)
    labels = check_labels(cmd.labels)
    fingerprint = credentials.check() if credentials is not None else ""
    host_id = Host.id_for(cmd.endpoint)
    if ctx.exists(host_id):
        host = ctx.load(Host, host_id, "host")
        if cmd.tenant_id is not None and host.state != "removed" and host.pool != pool:
            raise Conflict(f"host {cmd.endpoint} is already registered")
        host.rejoin(cmd.cpu_millis, cmd.memory_mib, str(factor), pool)
    else:
        host = ctx.new(Host, endpoint=cmd.endpoint, name=cmd.name or cmd.endpoint,
                       cpu_millis=cmd.cpu_millis, memory_mib=cmd.memory_mib,
                       overcommit=str(factor), pool=pool, id=host_id)
    # A tenant's own credentials go with the tenant (its key); an operator's stay the
    # platform's, whichever pool the host serves.
    ciphertext, sealed_for = "", ""
    if credentials is not None:
        if cmd.tenant_id is not None and tenant is not None:
            key_id, sealed_for = tenant.id, str(tenant.id)
        else:
            key_id = PLATFORM_SECRETS
            ctx.keys.create(key_id)  # (once: later calls keep the key)
        key = ctx.keys.get(key_id)
        if key is None:
            raise Conflict("no data key to seal the host's credentials with")
        ciphertext = seal(key, credentials.to_text(), host_id.bytes)
    host.configure(labels=labels, ciphertext=ciphertext, fingerprint=fingerprint,
                   sealed_for=sealed_for, engine_version=cmd.engine_version[:40])
    changed: list[WharfAggregate] = [host]
    if cmd.tenant_id is not None and tenant is not None:
        tenant.join_host(host_id, ctx.plan_of(tenant).limit("own_hosts"))
        changed.append(tenant)
    return Decision(changed, Outcome(id=host_id))


def may_join(ctx: Context, tenant_id: UUID, host_id: UUID) -> Tenant:
    """The tenant, if the actor may join the host to its pool: one more of its own, or
    one it has (asked before Wharf connects to the engine for the caller, and again when
    it records it)."""
    tenant = ctx.tenant(tenant_id, MANAGE_TENANT)
    tenant.require_active()
    limit = ctx.plan_of(tenant).limit("own_hosts")
    if str(host_id) in tenant.own_hosts:
        return tenant
    if limit is not None and len(tenant.own_hosts) >= limit:
        raise QuotaExceeded("own_hosts", limit, len(tenant.own_hosts), 1)
    return tenant


def label_host(ctx: Context, cmd: LabelHost) -> Decision:
    ctx.require_operator()
    host = ctx.load(Host, cmd.host_id, "host")
    host.relabel(check_labels(cmd.labels))
    return Decision([host], Outcome(id=host.id))


def drain_host(ctx: Context, cmd: DrainHost) -> Decision:
    ctx.require_operator()
    host = ctx.load(Host, cmd.host_id, "host")
    host.drain()
    return Decision([host], Outcome(id=host.id))


def remove_host(ctx: Context, cmd: RemoveHost) -> Decision:
    changed: list[WharfAggregate] = []
    if cmd.tenant_id is not None:
        tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
        if str(cmd.host_id) not in tenant.own_hosts:
            raise NotFound("host", cmd.host_id)
        host = ctx.load(Host, cmd.host_id, "host")
        tenant.leave_host(UUID(str(host.id)))
        changed.append(tenant)
    else:
        ctx.require_operator()
        host = ctx.load(Host, cmd.host_id, "host")
        if host.pool != PUBLIC:
            owner = _owner(ctx, host.pool)
            if owner is not None:
                owner.leave_host(UUID(str(host.id)))
                changed.append(owner)
    host.remove()
    return Decision([host, *changed], Outcome(id=host.id))


def _owner(ctx: Context, pool: str) -> Tenant | None:
    try:
        return ctx.load(Tenant, Tenant.id_for(pool), "tenant")
    except NotFound:
        return None
