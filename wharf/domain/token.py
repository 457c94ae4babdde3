"""Token: a bearer credential. Only a hash of its secret part is ever recorded."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate
from wharf.domain.errors import Conflict, InvalidInput

SCOPES = ("tenant", "admin")


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise InvalidInput("scope", f"must be one of {', '.join(SCOPES)}")
    return scope


class Token(WharfAggregate):
    class Issued(WharfAggregate.Created):
        """Version 2: `session_of`, the password version a dashboard session signed in
        with (0: not a session)."""

        class_version = 2
        tenant_id: UUID | None
        member: str
        scope: str
        secret_hash: str
        expires_at: str | None
        name: str
        member_epoch: int
        session_of: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["session_of"] = 0

    @event(Issued)
    def __init__(
        self,
        id: UUID,
        tenant_id: UUID | None,
        member: str,
        scope: str,
        secret_hash: str,
        expires_at: str | None,
        name: str,
        member_epoch: int,
        session_of: int,
        actor: str,
        cause: str,
    ) -> None:
        self.tenant_id = tenant_id
        self.session_of = session_of
        self.member_epoch = member_epoch
        self.member = member
        self.scope = scope
        self.secret_hash = secret_hash
        self.expires_at = expires_at
        self.name = name
        self.revoked = False

    def is_valid_at(self, now_iso: str) -> bool:
        return not self.revoked and (self.expires_at is None or now_iso < self.expires_at)

    def revoke(self) -> None:
        if self.revoked:
            raise Conflict("token already revoked")
        self._revoked()

    class Revoked(WharfAggregate.Event):
        pass

    @event(Revoked)
    def _revoked(self) -> None:
        self.revoked = True
