"""Errors a user can cause. Each maps to one GraphQL error type (DESIGN.md)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client can act on."""

    code = "error"

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": str(self)}


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = str(ident)

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "kind": self.kind, "id": self.ident}


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "field": self.field}


class QuotaExceeded(DomainError):
    code = "quota_exceeded"

    def __init__(self, resource: str, limit: int, used: int, requested: int) -> None:
        super().__init__(
            f"quota exceeded for {resource}: limit {limit}, used {used}, requested {requested}"
        )
        self.resource = resource
        self.limit = limit
        self.used = used
        self.requested = requested

    def as_dict(self) -> dict[str, object]:
        return {
            **super().as_dict(),
            "resource": self.resource,
            "limit": self.limit,
            "used": self.used,
            "requested": self.requested,
        }
