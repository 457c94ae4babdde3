"""Passwords and invitations: how members (and operators) sign in to the dashboard.

Only hashes reach these handlers: the password's (argon2, made by the API) and the
invitation code's (sha256: the code is 192 random bits, shown once to the owner).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from uuid import UUID

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import AcceptInvitation, InviteMember, SetPassword
from wharf.domain.credential import BAD_INVITATION, Credential, Invitation
from wharf.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from wharf.domain.tenant import MANAGE_TENANT, Tenant, check_email, check_role

MAX_INVITATION_HOURS = 24 * 30


def set_password(ctx: Context, cmd: SetPassword) -> Decision:
    """Who may: an operator sets their own operator password (any operator's only from
    the server's shell, `wharf password`); an owner, their tenant's members'. Setting
    one ends the sessions signed in with the one before and withdraws any invitation."""
    email = check_email(cmd.email)
    if cmd.tenant_id is None:
        ctx.require_operator()
        if email != ctx.actor.name and not cmd.from_shell:
            raise Forbidden("operators set their own password here; another operator's "
                            "only with `wharf password` on Wharf's machine")
        epoch = 0
    else:
        tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
        if email not in tenant.members:
            raise NotFound("member", email)
        tenant.require_active()
        epoch = tenant.member_epoch(email)
    if cmd.password_hash:
        _check_hash(cmd.password_hash)
    elif not ctx.exists(Credential.id_for(cmd.tenant_id, email)):
        raise NotFound("password of", email)  # (nothing to remove)
    credential = _credential(ctx, cmd.tenant_id, email, cmd.password_hash, epoch)
    return Decision([credential], Outcome(id=credential.id))


def invite_member(ctx: Context, cmd: InviteMember) -> Decision:
    """The member's one live invitation: any sent before is withdrawn."""
    email = check_email(cmd.email)
    role = check_role(cmd.role) if cmd.role is not None else None
    if not 1 <= cmd.ttl_hours <= MAX_INVITATION_HOURS:
        raise InvalidInput("ttl_hours", f"must be between 1 and {MAX_INVITATION_HOURS}")
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    tenant.require_active()
    if email not in tenant.members:
        tenant.add_member(email, role or "developer")
    elif role is not None and tenant.members[email] != role:
        raise Conflict(f"{email} is already a member, as {tenant.members[email]}: the link "
                       "would set their password only (changeRole changes a role)")
    code = secrets.token_urlsafe(24)
    invitation = ctx.new(
        Invitation, tenant_id=tenant.id, email=email,
        code_hash=hashlib.sha256(code.encode()).hexdigest(),
        expires_at=(ctx.now + timedelta(hours=cmd.ttl_hours)).isoformat(),
        member_epoch=tenant.member_epoch(email))
    ident = Credential.id_for(tenant.id, email)
    credential = (ctx.load(Credential, ident, "credential") if ctx.exists(ident) else
                  ctx.new(Credential, id=ident, tenant_id=tenant.id, email=email,
                          password_hash="", member_epoch=tenant.member_epoch(email)))
    credential.invite(invitation.id)
    return Decision([tenant, invitation, credential],
                    Outcome(id=invitation.id, token=f"{invitation.id.hex}_{code}"))


def accept_invitation(ctx: Context, cmd: AcceptInvitation) -> Decision:
    """Wharf's sign-in endpoint (a system actor) sends this for an anonymous caller: the
    code is the whole proof, and any wrong code gets the same answer as a used one."""
    ctx.require_system()
    _check_hash(cmd.password_hash)
    try:
        invitation = ctx.load(Invitation, cmd.invitation_id, "invitation")
        credential = ctx.load(Credential, Credential.id_for(invitation.tenant_id,
                                                            invitation.email), "credential")
    except NotFound:
        raise Forbidden(BAD_INVITATION) from None
    digest = hashlib.sha256(cmd.code.encode()).hexdigest()
    if not hmac.compare_digest(digest, invitation.code_hash):
        raise Forbidden(BAD_INVITATION)
    credential.require_invitation(invitation.id)
    tenant = ctx.load(Tenant, invitation.tenant_id, "tenant")
    tenant.require_active()
    epoch = tenant.member_epoch(invitation.email)
    invitation.accept(ctx.now.isoformat(), epoch)
    credential.change(cmd.password_hash, epoch)
    return Decision([invitation, credential], Outcome(id=credential.id))


def _credential(ctx: Context, tenant_id: UUID | None, email: str, password_hash: str,
                epoch: int) -> Credential:
    ident = Credential.id_for(tenant_id, email)
    if ctx.exists(ident):
        credential = ctx.load(Credential, ident, "credential")
        credential.change(password_hash, epoch)
        return credential
    return ctx.new(Credential, id=ident, tenant_id=tenant_id, email=email,
                   password_hash=password_hash, member_epoch=epoch)


def _check_hash(password_hash: str) -> None:
    if not password_hash.startswith("$argon2id$") or len(password_hash) > 200:
        raise InvalidInput("password", "not hashed by Wharf")  # (a bug, never a caller's)
