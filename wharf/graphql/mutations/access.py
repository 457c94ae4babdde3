"""Members, tokens and the plan: owners' mutations (and operators')."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.context import Outcome
from wharf.domain.errors import DomainError, Forbidden, NotFound
from wharf.domain.tenant import MANAGE_TENANT
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import Error, to_graphql
from wharf.graphql.mutations.base import own_tenant, run
from wharf.graphql.types import Tenant
from wharf.projections.reads import Reader
from wharf.projections.reads import tenants as tenant_reads


@strawberry.input
class AddMemberInput:
    email: str
    role: str
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.input
class RemoveMemberInput:
    email: str
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.input
class ChangeRoleInput:
    email: str
    role: str
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.type
class MemberPayload:
    email: str
    position: int


AddMemberResult = Annotated[MemberPayload | Error, strawberry.union("AddMemberResult")]
RemoveMemberResult = Annotated[MemberPayload | Error, strawberry.union("RemoveMemberResult")]
ChangeRoleResult = Annotated[MemberPayload | Error, strawberry.union("ChangeRoleResult")]


@strawberry.input
class IssueTokenInput:
    ttl_hours: int
    name: str = ""
    member: str | None = None
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.input
class RevokeTokenInput:
    id: strawberry.ID
    client_request_id: str | None = None


@strawberry.type(description="`token` is shown once, here, and never again.")
class TokenIssued:
    id: strawberry.ID
    token: str
    position: int


@strawberry.type
class TokenRevoked:
    id: strawberry.ID
    position: int


IssueTokenResult = Annotated[TokenIssued | Error, strawberry.union("IssueTokenResult")]
RevokeTokenResult = Annotated[TokenRevoked | Error, strawberry.union("RevokeTokenResult")]


@strawberry.input
class SetPasswordInput:
    email: str
    password: str
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.input
class InviteMemberInput:
    email: str
    role: str | None = strawberry.field(default=None, description=(
        "A new member's role (default developer); a member's own stays theirs."))
    ttl_hours: int = 72
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.type(description="`link` (the dashboard's path, with its one-time code) is "
                             "shown once, here: send it to the member.")
class InvitationSent:
    id: strawberry.ID
    email: str
    link: str
    position: int


SetPasswordResult = Annotated[MemberPayload | Error, strawberry.union("SetPasswordResult")]
InviteMemberResult = Annotated[InvitationSent | Error, strawberry.union("InviteMemberResult")]


@strawberry.input
class ChangePlanInput:
    plan: str
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.type
class TenantPayload:
    tenant: Tenant | None
    position: int


ChangePlanResult = Annotated[TenantPayload | Error, strawberry.union("ChangePlanResult")]


def tenant_payload(read: Reader, outcome: Outcome) -> TenantPayload:
    row = tenant_reads.tenant(read, str(outcome.id))
    return TenantPayload(tenant=Tenant.from_row(row) if row else None,
                         position=outcome.position)


async def _may_set_password(context: Context, actor: Actor, tenant: UUID | None,
                            email: str) -> None:
    if actor.is_operator:
        if tenant is None and email.strip().lower() != actor.name:
            raise Forbidden("operators set their own password here; another operator's "
                            "only with `wharf password` on Wharf's machine")
        return
    if tenant != actor.tenant_id:
        raise NotFound("tenant", tenant)
    members = {m.email: m.role for m in await context.read(tenant_reads.members, str(tenant))}
    role = members.get(actor.name)
    if role not in MANAGE_TENANT:
        raise Forbidden(f"role {role} may not do this; needs owner")
    if email.strip().lower() not in members:
        raise NotFound("member", email.strip().lower())


def _member(email: str) -> Any:
    def done(read: Reader, outcome: Outcome) -> MemberPayload:
        return MemberPayload(email=email, position=outcome.position)

    return done


@strawberry.type
class AccessMutations:
    @strawberry.mutation
    async def add_member(self, info: Info[Context, Any], input: AddMemberInput) -> AddMemberResult:
        return await run(info, lambda actor: m.AddMember(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), email=input.email, role=input.role),
            _member(input.email))

    @strawberry.mutation
    async def remove_member(
        self, info: Info[Context, Any], input: RemoveMemberInput
    ) -> RemoveMemberResult:
        return await run(info, lambda actor: m.RemoveMember(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), email=input.email),
            _member(input.email))

    @strawberry.mutation
    async def change_role(
        self, info: Info[Context, Any], input: ChangeRoleInput
    ) -> ChangeRoleResult:
        return await run(info, lambda actor: m.ChangeRole(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), email=input.email, role=input.role),
            _member(input.email))

    @strawberry.mutation(description="A token for the caller (operators: for any member).")
    async def issue_token(
        self, info: Info[Context, Any], input: IssueTokenInput
    ) -> IssueTokenResult:
        def done(read: Reader, outcome: Outcome) -> TokenIssued:
            assert outcome.token is not None
            return TokenIssued(id=strawberry.ID(str(outcome.id)), token=outcome.token,
                               position=outcome.position)

        return await run(info, lambda actor: m.IssueToken(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), member=input.member or actor.name,
            ttl_hours=input.ttl_hours, name=input.name), done)

    @strawberry.mutation
    async def revoke_token(
        self, info: Info[Context, Any], input: RevokeTokenInput
    ) -> RevokeTokenResult:
        def done(read: Reader, outcome: Outcome) -> TokenRevoked:
            return TokenRevoked(id=input.id, position=outcome.position)

        return await run(info, lambda actor: m.RevokeToken(
            actor=actor, request_id=input.client_request_id, token_id=parse_id(input.id)), done)

    @strawberry.mutation(description=(
        "A member's password for the dashboard (owners: their tenant's members; operators: "
        "any, and with no tenant an operator's own). 10 to 128 characters."))
    async def set_password(
        self, info: Info[Context, Any], input: SetPasswordInput
    ) -> SetPasswordResult:
        context = info.context
        try:
            actor = context.require_actor()
            tenant = (None if actor.is_operator and input.tenant is None
                      else own_tenant(actor, input.tenant))
            # (who may is the command's to decide; this spares a slow hash for the callers
            # the read side already says may not)
            await _may_set_password(context, actor, tenant, input.email)
            hashed = await context.backend.hash_password(input.password)
        except DomainError as error:
            return to_graphql(error)
        return await run(info, lambda actor: m.SetPassword(
            actor=actor, request_id=input.client_request_id, tenant_id=tenant,
            email=input.email, password_hash=hashed), _member(input.email.strip().lower()))

    @strawberry.mutation(description="A one-time link that lets a member (added with "
                                     "`role` if new) set a password and sign in.")
    async def invite_member(
        self, info: Info[Context, Any], input: InviteMemberInput
    ) -> InviteMemberResult:
        def done(read: Reader, outcome: Outcome) -> InvitationSent:
            assert outcome.token is not None and outcome.id is not None
            return InvitationSent(id=strawberry.ID(str(outcome.id)),
                                  email=input.email.strip().lower(),
                                  link=f"/#/invitation/{outcome.token}",
                                  position=outcome.position)

        return await run(info, lambda actor: m.InviteMember(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), email=input.email, role=input.role,
            ttl_hours=input.ttl_hours), done)

    @strawberry.mutation
    async def change_plan(
        self, info: Info[Context, Any], input: ChangePlanInput
    ) -> ChangePlanResult:
        return await run(info, lambda actor: m.ChangePlan(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), plan=input.plan), tenant_payload)
