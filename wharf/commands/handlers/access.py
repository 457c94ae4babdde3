"""Members, roles and tokens: owners' commands."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID, uuid4

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import AddMember, ChangeRole, IssueToken, RemoveMember, RevokeToken
from wharf.domain.credential import Credential
from wharf.domain.errors import Forbidden, InvalidInput, NotFound
from wharf.domain.tenant import MANAGE_TENANT, READ, check_email, check_role
from wharf.domain.token import Token, check_scope

MAX_TTL_HOURS = 24 * 366


def new_token(
    ctx: Context, tenant_id: UUID | None, member: str, scope: str, ttl_hours: int | None,
    name: str, member_epoch: int = 0, session_of: int = 0,
) -> tuple[Token, str]:
    """A new token aggregate and the bearer string, shown once and never stored."""
    secret = secrets.token_urlsafe(32)
    expires = None
    if ttl_hours is not None:
        expires = (ctx.clock.now() + timedelta(hours=ttl_hours)).isoformat()
    token_id = uuid4()
    token = ctx.new(
        Token, tenant_id=tenant_id, member=member, scope=scope,
        secret_hash=hashlib.sha256(secret.encode()).hexdigest(), expires_at=expires,
        name=name, member_epoch=member_epoch, session_of=session_of, id=token_id,
    )
    return token, f"wharf_{token_id.hex}_{secret}"


def add_member(ctx: Context, cmd: AddMember) -> Decision:
    email = check_email(cmd.email)
    role = check_role(cmd.role)
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    tenant.add_member(email, role)
    return Decision([tenant], Outcome(id=tenant.id))


def remove_member(ctx: Context, cmd: RemoveMember) -> Decision:
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    tenant.remove_member(check_email(cmd.email))
    return Decision([tenant], Outcome(id=tenant.id))


def change_role(ctx: Context, cmd: ChangeRole) -> Decision:
    role = check_role(cmd.role)
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_TENANT)
    tenant.change_role(check_email(cmd.email), role)
    return Decision([tenant], Outcome(id=tenant.id))


def issue_token(ctx: Context, cmd: IssueToken) -> Decision:
    """Operators issue any token; a member issues tenant tokens for themselves only, and
    those always expire."""
    scope = check_scope(cmd.scope)
    if cmd.ttl_hours is not None and not 1 <= cmd.ttl_hours <= MAX_TTL_HOURS:
        raise InvalidInput("ttl_hours", f"must be between 1 and {MAX_TTL_HOURS}")
    if scope == "admin" or cmd.tenant_id is None:
        ctx.require_operator()
        if scope != "admin" or cmd.tenant_id is not None:
            raise InvalidInput("scope", "operator tokens have scope admin and no tenant")
        session = _session_of(ctx, None, cmd.member, cmd)
        token, secret = new_token(ctx, None, cmd.member, scope, cmd.ttl_hours, cmd.name,
                                  session_of=session)
        return Decision([token], Outcome(id=token.id, token=secret))
    if cmd.ttl_hours is None:
        raise InvalidInput("ttl_hours", "tenant tokens expire: give a lifetime in hours")
    tenant = ctx.tenant(cmd.tenant_id, READ)
    member = check_email(cmd.member, "member")
    if not ctx.actor.is_operator and member != ctx.actor.name:
        raise Forbidden("members issue tokens for themselves only")
    if member not in tenant.members:
        raise NotFound("member", member)
    tenant.require_active()
    token, secret = new_token(ctx, tenant.id, member, scope, cmd.ttl_hours, cmd.name,
                              tenant.member_epoch(member), _session_of(ctx, tenant.id, member, cmd))
    return Decision([token], Outcome(id=token.id, token=secret))


def revoke_token(ctx: Context, cmd: RevokeToken) -> Decision:
    token = ctx.load(Token, cmd.token_id, "token")
    if not ctx.actor.is_operator:
        if token.tenant_id != ctx.actor.tenant_id:
            raise NotFound("token", cmd.token_id)
        if token.member != ctx.actor.name:  # anyone may revoke their own token
            assert token.tenant_id is not None
            ctx.tenant(token.tenant_id, MANAGE_TENANT)
    token.revoke()
    return Decision([token], Outcome(id=token.id))


def _session_of(ctx: Context, tenant_id: UUID | None, member: str, cmd: IssueToken) -> int:
    """The password version a new token lasts while (0: no password's).

    - A sign-in's (the endpoint's own command): checked against the credential now, so
      that a password set since the sign-in checked it ends the sign-in too.
    - A token a dashboard session issues: the session's, so that a new password shuts
      out whoever held the session and every token they made with it. A session issues
      tokens for its own member only (another's could not end with this password).
    """
    if cmd.session_of:
        session = cmd.session_of
    elif ctx.actor.session_of:
        if member != ctx.actor.name or tenant_id != ctx.actor.tenant_id:
            raise Forbidden("a dashboard session issues tokens for its own member only: "
                            "use an API token to issue others'")
        session = ctx.actor.session_of
    else:
        return 0
    credential = ctx.load(Credential, Credential.id_for(tenant_id, member), "credential")
    if credential.password_version != session:
        raise Forbidden("the password changed: sign in again")
    return session
