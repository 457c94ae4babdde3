"""Who is acting: a tenant's member, an operator, or Wharf itself."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Actor:
    kind: str  # "member", "operator" or "system"
    name: str  # the member's e-mail, the operator's or the job's name
    tenant_id: UUID | None = None
    # Signed in to the dashboard: the password version its session lasts while (a token
    # it issues lasts no longer); 0 for an API token.
    session_of: int = 0

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def is_operator(self) -> bool:
        return self.kind in ("operator", "system")

    @classmethod
    def operator(cls, name: str = "cli") -> Actor:
        return cls("operator", name)

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls("system", job)

    @classmethod
    def member(cls, email: str, tenant_id: UUID) -> Actor:
        return cls("member", email, tenant_id)
