"""Volume: a named, sized piece of storage of one tenant."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate
from wharf.domain.errors import Conflict, InvalidInput

MAX_VOLUME_GIB = 16384


def check_size(size_gib: int) -> int:
    if isinstance(size_gib, bool) or not isinstance(size_gib, int):
        raise InvalidInput("size_gib", "must be an integer")
    if not 1 <= size_gib <= MAX_VOLUME_GIB:
        raise InvalidInput("size_gib", f"must be between 1 and {MAX_VOLUME_GIB}")
    return size_gib


class Volume(WharfAggregate):
    @event("Created")
    def __init__(
        self, id: UUID, tenant_id: UUID, name: str, size_gib: int, actor: str, cause: str
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.size_gib = size_gib
        self.deleted = False

    def resize(self, size_gib: int) -> None:
        self._require_live()
        if size_gib != self.size_gib:
            self._resized(size_gib=size_gib)

    @event("Resized")
    def _resized(self, size_gib: int) -> None:
        self.size_gib = size_gib

    def delete(self) -> None:
        self._require_live()
        self._deleted()

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True

    def _require_live(self) -> None:
        if self.deleted:
            raise Conflict(f"volume {self.name} is deleted")
