"""What the write side needs from the outside world, as small protocols."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class DataKeys(Protocol):
    """Per-tenant data keys, kept outside the log."""

    def create(self, tenant_id: UUID) -> None: ...

    def get(self, tenant_id: UUID) -> bytes | None: ...

    def destroy(self, tenant_id: UUID) -> None: ...


class MemoryDataKeys:
    """Keys in a dict: for unit tests of pure command logic."""

    def __init__(self) -> None:
        self._keys: dict[UUID, bytes] = {}

    def create(self, tenant_id: UUID) -> None:
        import os

        self._keys.setdefault(tenant_id, os.urandom(32))

    def get(self, tenant_id: UUID) -> bytes | None:
        return self._keys.get(tenant_id)

    def destroy(self, tenant_id: UUID) -> None:
        self._keys.pop(tenant_id, None)
