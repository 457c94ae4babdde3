"""Volume: a named, sized piece of storage of one tenant."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import DiskMeasured, WharfAggregate
from wharf.domain.errors import Conflict, InvalidInput

MAX_VOLUME_GIB = 16384


def check_size(size_gib: int) -> int:
    if isinstance(size_gib, bool) or not isinstance(size_gib, int):
        raise InvalidInput("size_gib", "must be an integer")
    if not 1 <= size_gib <= MAX_VOLUME_GIB:
        raise InvalidInput("size_gib", f"must be between 1 and {MAX_VOLUME_GIB}")
    return size_gib


class Volume(DiskMeasured, WharfAggregate):
    class Created(WharfAggregate.Created):
        tenant_id: UUID
        name: str
        size_gib: int

    @event(Created)
    def __init__(
        self, id: UUID, tenant_id: UUID, name: str, size_gib: int, actor: str, cause: str
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.size_gib = size_gib
        self.deleted = False
        self.host_id: UUID | None = None  # where its data lives, once first mounted
        self.restoring_from: str | None = None  # a backup id, until the restore is done
        self.backups: dict[str, dict[str, Any]] = {}  # id -> state, size, sha256
        self.disk_over_since = ""  # when its files were first seen over its size

    def resize(self, size_gib: int) -> None:
        self._require_live()
        if size_gib != self.size_gib:
            self._resized(size_gib=size_gib)

    class Resized(WharfAggregate.Event):
        size_gib: int

    @event(Resized)
    def _resized(self, size_gib: int) -> None:
        self.size_gib = size_gib

    def delete(self) -> None:
        self._require_live()
        self._deleted()

    class Deleted(WharfAggregate.Event):
        pass

    @event(Deleted)
    def _deleted(self) -> None:
        self.deleted = True

    def _require_live(self) -> None:
        if self.deleted:
            raise Conflict(f"volume {self.name} is deleted")

    # -- where it lives ---------------------------------------------------------------

    def place(self, host_id: UUID) -> bool:
        """Binds the volume to the host of the first container that mounts it."""
        self._require_live()
        if self.restoring_from is not None:
            raise Conflict(f"volume {self.name} is being restored")
        if self.host_id == host_id:
            return False
        if self.host_id is not None:
            raise Conflict(f"volume {self.name} lives on another host")
        self._placed(host_id=host_id)
        return True

    class Placed(WharfAggregate.Event):
        host_id: UUID

    @event(Placed)
    def _placed(self, host_id: UUID) -> None:
        self.host_id = host_id

    # -- backups and restores -----------------------------------------------------------

    def request_backup(self, backup_id: str) -> None:
        self._require_live()
        if self.host_id is None:
            raise Conflict(f"volume {self.name} holds no data yet: no container has mounted it")
        self._backup_requested(backup_id=backup_id)

    class BackupRequested(WharfAggregate.Event):
        backup_id: str

    @event(BackupRequested)
    def _backup_requested(self, backup_id: str) -> None:
        self.backups = {**self.backups, backup_id: {"state": "requested"}}

    def record_backup(self, backup_id: str, size_bytes: int, sha256: str) -> bool:
        if self.backups.get(backup_id, {}).get("state") != "requested":
            return False
        self._backed_up(backup_id=backup_id, size_bytes=size_bytes, sha256=sha256)
        return True

    class BackedUp(WharfAggregate.Event):
        backup_id: str
        size_bytes: int
        sha256: str

    @event(BackedUp)
    def _backed_up(self, backup_id: str, size_bytes: int, sha256: str) -> None:
        self.backups = {**self.backups, backup_id: {"state": "done", "size_bytes": size_bytes,
                                                    "sha256": sha256}}

    def backup(self, backup_id: str) -> dict[str, Any]:
        """A finished backup of this volume, or Conflict."""
        found = self.backups.get(backup_id)
        if found is None or found["state"] != "done":
            raise Conflict(f"volume {self.name} has no finished backup {backup_id}")
        return found

    def restore_from(self, source_volume_id: UUID, backup_id: str) -> None:
        """Asks for this (new, empty) volume to be filled from a backup."""
        self._restore_requested(source_volume_id=source_volume_id, backup_id=backup_id)

    class RestoreRequested(WharfAggregate.Event):
        source_volume_id: UUID
        backup_id: str

    @event(RestoreRequested)
    def _restore_requested(self, source_volume_id: UUID, backup_id: str) -> None:
        self.restoring_from = backup_id

    def record_restore(self, host_id: UUID) -> bool:
        if self.restoring_from is None:
            return False
        self._restored(backup_id=self.restoring_from, host_id=host_id)
        return True

    class Restored(WharfAggregate.Event):
        backup_id: str
        host_id: UUID

    @event(Restored)
    def _restored(self, backup_id: str, host_id: UUID) -> None:
        self.restoring_from = None
        self.host_id = host_id

    # -- disk (measured: Docker's local volumes have no size) -----------------------------

    def measure_disk(self, used_mib: int, at: str) -> bool:
        """Its files against its size."""
        return self._measured(used_mib, self.size_gib * 1024, at)

    class DiskOverLimit(WharfAggregate.Event):
        used_mib: int
        limit_mib: int
        at: str

    @event(DiskOverLimit)
    def _disk_over_limit(self, used_mib: int, limit_mib: int, at: str) -> None:
        self.disk_over_since = at

    class DiskWithinLimit(WharfAggregate.Event):
        used_mib: int
        limit_mib: int

    @event(DiskWithinLimit)
    def _disk_within_limit(self, used_mib: int, limit_mib: int) -> None:
        self.disk_over_since = ""
