"""Credential: a member's password for one tenant, or an operator's, kept as a slow hash
only (the hash is made and checked outside the domain: infra/passwords.py). Invitation:
a one-time link that lets a member set their own password.

A credential belongs to one tenant, not to an e-mail address: an owner who sets a
member's password reaches that member's access to their own tenant and nothing else.
It holds the member's epoch when it was set (Tenant.epochs): a member removed and added
again signs in with nothing set before. Its `password_version` counts the passwords set
(a dashboard session carries the one it signed in with, and ends when another is set),
and `invitation` names the one invitation that may set the next (any other, older or
already used, is dead; setting a password withdraws it).
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import Forbidden

OPERATORS = "operators"  # the "tenant" operators' credentials belong to
BAD_INVITATION = "this invitation is used, expired or withdrawn: ask for a new one"


class Credential(WharfAggregate):
    invitation: str | None = None

    @staticmethod
    def id_for(tenant_id: UUID | None, email: str) -> UUID:
        return derive_id("credential", tenant_id or OPERATORS, email)

    class Set(WharfAggregate.Created):
        tenant_id: UUID | None
        email: str
        password_hash: str
        member_epoch: int

    @event(Set)
    def __init__(self, id: UUID, tenant_id: UUID | None, email: str, password_hash: str,
                 member_epoch: int, actor: str, cause: str) -> None:
        self.tenant_id = tenant_id
        self.email = email
        self.password_hash = password_hash  # "" : none (invited, or removed by an operator)
        self.member_epoch = member_epoch
        self.password_version = 1

    def change(self, password_hash: str, member_epoch: int) -> None:
        self._changed(password_hash=password_hash, member_epoch=member_epoch)

    class Changed(WharfAggregate.Event):
        password_hash: str
        member_epoch: int

    @event(Changed)
    def _changed(self, password_hash: str, member_epoch: int) -> None:
        self.password_hash = password_hash
        self.member_epoch = member_epoch
        self.password_version += 1
        self.invitation = None

    def invite(self, invitation_id: UUID) -> None:
        self._invited(invitation_id=str(invitation_id))

    class Invited(WharfAggregate.Event):
        invitation_id: str

    @event(Invited)
    def _invited(self, invitation_id: str) -> None:
        self.invitation = invitation_id

    def require_invitation(self, invitation_id: UUID) -> None:
        if self.invitation != str(invitation_id):
            raise Forbidden(BAD_INVITATION)


class Invitation(WharfAggregate):
    """Sent by an owner to a member (added with it when new); accepted once, before it
    expires, by whoever holds its code, while the member is still the one invited."""

    class Sent(WharfAggregate.Created):
        tenant_id: UUID
        email: str
        code_hash: str  # sha256 of the code: the code itself is shown once, to the owner
        expires_at: str
        member_epoch: int

    @event(Sent)
    def __init__(self, id: UUID, tenant_id: UUID, email: str, code_hash: str,
                 expires_at: str, member_epoch: int, actor: str, cause: str) -> None:
        self.tenant_id = tenant_id
        self.email = email
        self.code_hash = code_hash
        self.expires_at = expires_at
        self.member_epoch = member_epoch
        self.accepted = False

    def accept(self, now_iso: str, member_epoch: int) -> None:
        """One message whatever is wrong: the link says nothing to whoever guesses."""
        if self.accepted or now_iso >= self.expires_at or member_epoch != self.member_epoch:
            raise Forbidden(BAD_INVITATION)
        self._accepted()

    class Accepted(WharfAggregate.Event):
        pass

    @event(Accepted)
    def _accepted(self) -> None:
        self.accepted = True
