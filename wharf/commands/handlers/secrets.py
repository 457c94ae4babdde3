"""Secrets: sealed with the tenant's data key before anything is recorded."""

from __future__ import annotations

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import DeleteSecret, SetSecret
from wharf.commands.sealing import seal
from wharf.domain.errors import Conflict, NotFound
from wharf.domain.secret import Secret, check_secret
from wharf.domain.tenant import MANAGE_WORKLOADS


def set_secret(ctx: Context, cmd: SetSecret) -> Decision:
    check_secret(cmd.name, cmd.value)
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_WORKLOADS)
    tenant.require_active()
    key = ctx.keys.get(tenant.id)
    if key is None:
        raise Conflict(f"tenant {tenant.name} has no data key")
    secret_id = Secret.id_for(tenant.id, cmd.name)
    ciphertext = seal(key, cmd.value, secret_id.bytes)
    if ctx.exists(secret_id):
        secret = ctx.load(Secret, secret_id, "secret")
        secret.set(ciphertext)
    else:
        secret = ctx.new(Secret, tenant_id=tenant.id, name=cmd.name, ciphertext=ciphertext,
                         id=secret_id)
    return Decision([secret], Outcome(id=secret_id))


def delete_secret(ctx: Context, cmd: DeleteSecret) -> Decision:
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_WORKLOADS)
    secret = ctx.owned(Secret, Secret.id_for(tenant.id, cmd.name), "secret")
    if secret.deleted:
        raise NotFound("secret", cmd.name)
    secret.delete()
    return Decision([secret], Outcome(id=secret.id))
