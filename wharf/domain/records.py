"""Records that grow without bound, each in a stream of its own rather than in Tenant."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id


class QuotaRejection(WharfAggregate):
    """One rejected request: what it asked for, and the limit it hit."""

    class Recorded(WharfAggregate.Created):
        tenant_id: UUID
        command: str
        resource: str
        limit: int
        used: int
        requested: int

    @event(Recorded)
    def __init__(
        self,
        id: UUID,
        tenant_id: UUID,
        command: str,
        resource: str,
        limit: int,
        used: int,
        requested: int,
        actor: str,
        cause: str,
    ) -> None:
        self.tenant_id = tenant_id
        self.command = command
        self.resource = resource
        self.limit = limit
        self.used = used
        self.requested = requested


class ClientRequest(WharfAggregate):
    """The answer to a request that carried a client request id.

    Saved in the same transaction as the command's own events, so a retry with the same
    id finds the first answer instead of deciding again.
    """

    @staticmethod
    def id_for(actor: str, tenant_id: UUID | None, command: str, request_id: str) -> UUID:
        """One answer per actor, tenant, command and client request id."""
        return derive_id("request", actor, tenant_id, command, request_id)

    class Answered(WharfAggregate.Created):
        """Version 2 keeps a digest of the request, so that the same id sent with a
        different request is refused (version 1 answered it with the first answer)."""

        class_version = 2
        command: str
        outcome: dict[str, Any]
        digest: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["digest"] = ""  # unknown: any retry matches

    @event(Answered)
    def __init__(
        self,
        id: UUID, command: str, outcome: dict[str, Any], digest: str, actor: str, cause: str
    ) -> None:
        self.command = command
        self.outcome = outcome
        self.digest = digest

    def same_request(self, digest: str) -> bool:
        return not self.digest or self.digest == digest
