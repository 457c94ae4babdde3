"""Hosts: operators register, drain and remove Docker endpoints."""

from __future__ import annotations

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import DrainHost, RegisterHost, RemoveHost
from wharf.domain.errors import InvalidInput, NotFound
from wharf.domain.host import PUBLIC, Host, check_host
from wharf.domain.tenant import Tenant


def register_host(ctx: Context, cmd: RegisterHost) -> Decision:
    ctx.require_operator()
    factor = check_host(cmd.endpoint, cmd.cpu_millis, cmd.memory_mib, cmd.overcommit)
    if cmd.pool != PUBLIC:
        try:
            ctx.load(Tenant, Tenant.id_for(cmd.pool), "tenant")
        except NotFound:
            raise InvalidInput("pool", "must be 'public' or the name of a tenant") from None
    host_id = Host.id_for(cmd.endpoint)
    if ctx.exists(host_id):
        host = ctx.load(Host, host_id, "host")
        host.rejoin(cmd.cpu_millis, cmd.memory_mib, str(factor), cmd.pool)
    else:
        host = ctx.new(Host, endpoint=cmd.endpoint, name=cmd.name or cmd.endpoint,
                       cpu_millis=cmd.cpu_millis, memory_mib=cmd.memory_mib,
                       overcommit=str(factor), pool=cmd.pool, id=host_id)
    return Decision([host], Outcome(id=host_id))


def drain_host(ctx: Context, cmd: DrainHost) -> Decision:
    ctx.require_operator()
    host = ctx.load(Host, cmd.host_id, "host")
    host.drain()
    return Decision([host], Outcome(id=host.id))


def remove_host(ctx: Context, cmd: RemoveHost) -> Decision:
    ctx.require_operator()
    host = ctx.load(Host, cmd.host_id, "host")
    host.remove()
    return Decision([host], Outcome(id=host.id))
