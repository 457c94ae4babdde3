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
from wharf.domain.credential import Credential, Invitation
from wharf.domain.errors import Forbidden, InvalidInput, NotFound
from wharf.domain.tenant import MANAGE_TENANT, Tenant, check_email, check_role

MAX_INVITATION_HOURS = 24 * 30
BAD_INVITATION = "this invitation is used, expired or withdrawn: ask for a new one"


def set_password(ctx: Context, cmd: SetPassword) -> Decision:
    email = check_email(cmd.email)
    _check_hash(cmd.password_hash)
    if cmd.tenant_id is None:
        ctx.require_operator()
        epoch = 0
    else:
        tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
        if email not in tenant.members:
            raise NotFound("member", email)
        tenant.require_active()
        epoch = tenant.member_epoch(email)
    credential = _credential(ctx, cmd.tenant_id, email, cmd.password_hash, epoch)
    return Decision([credential], Outcome(id=credential.id))


def invite_member(ctx: Context, cmd: InviteMember) -> Decision:
    email = check_email(cmd.email)
    role = check_role(cmd.role)
    if not 1 <= cmd.ttl_hours <= MAX_INVITATION_HOURS:
        raise InvalidInput("ttl_hours", f"must be between 1 and {MAX_INVITATION_HOURS}")
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    tenant.require_active()
    if email not in tenant.members:
        tenant.add_member(email, role)
    code = secrets.token_urlsafe(24)
    invitation = ctx.new(
        Invitation, tenant_id=tenant.id, email=email,
        code_hash=hashlib.sha256(code.encode()).hexdigest(),
        expires_at=(ctx.now + timedelta(hours=cmd.ttl_hours)).isoformat(),
        member_epoch=tenant.member_epoch(email))
    return Decision([tenant, invitation],
                    Outcome(id=invitation.id, token=f"{invitation.id.hex}_{code}"))


def accept_invitation(ctx: Context, cmd: AcceptInvitation) -> Decision:
    """Wharf's sign-in endpoint (a system actor) sends this for an anonymous caller: the
    code is the whole proof, and any wrong code gets the same answer as a used one."""
    ctx.require_system()
    _check_hash(cmd.password_hash)
    try:
        invitation = ctx.load(Invitation, cmd.invitation_id, "invitation")
    except NotFound:
        raise Forbidden(BAD_INVITATION) from None
    digest = hashlib.sha256(cmd.code.encode()).hexdigest()
    if not hmac.compare_digest(digest, invitation.code_hash):
        raise Forbidden(BAD_INVITATION)
    tenant = ctx.load(Tenant, invitation.tenant_id, "tenant")
    tenant.require_active()
    epoch = tenant.member_epoch(invitation.email)
    invitation.accept(ctx.now.isoformat(), epoch)
    credential = _credential(ctx, tenant.id, invitation.email, cmd.password_hash, epoch)
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
