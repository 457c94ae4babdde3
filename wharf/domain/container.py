"""Container: a spec, what the tenant wants it to be, and what Docker was seen doing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate
from wharf.domain.errors import Conflict

DESIRED = ("running", "stopped", "deleted")


class Container(WharfAggregate):
    @event("Created")
    def __init__(
        self,
        id: UUID,
        tenant_id: UUID,
        name: str,
        spec: dict[str, Any],
        cpu_millis: int,
        memory_mib: int,
        desired: str,
        actor: str,
        cause: str,
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.spec = spec
        self.cpu_millis = cpu_millis
        self.memory_mib = memory_mib
        self.desired = desired
        self.stopped_by_suspension = False
        self.host_id: UUID | None = None
        self.observed = "pending"

    def start(self) -> None:
        self._require_not_deleted()
        if self.desired != "running":
            self._start_requested()

    @event("StartRequested")
    def _start_requested(self) -> None:
        self.desired = "running"
        self.stopped_by_suspension = False

    def stop(self, by_suspension: bool = False) -> None:
        """A stop asked for while the tenant is suspended still counts: resuming the tenant
        must not start this container again."""
        self._require_not_deleted()
        if self.desired == "running" or (self.stopped_by_suspension and not by_suspension):
            self._stop_requested(by_suspension=by_suspension)

    @event("StopRequested")
    def _stop_requested(self, by_suspension: bool) -> None:
        self.desired = "stopped"
        self.stopped_by_suspension = by_suspension

    def delete(self) -> None:
        self._require_not_deleted()
        self._delete_requested()

    @event("DeleteRequested")
    def _delete_requested(self) -> None:
        self.desired = "deleted"

    def _require_not_deleted(self) -> None:
        if self.desired == "deleted":
            raise Conflict(f"container {self.name} is deleted")

    # -- what the scheduler observed (recorded by the scheduler, not by tenants) ------

    def place(self, host_id: UUID) -> None:
        """Records the scheduler's decision, with what the container reserves there."""
        self._require_not_deleted()
        self._placed(host_id=host_id, cpu_millis=self.cpu_millis, memory_mib=self.memory_mib)

    @event("Placed")
    def _placed(self, host_id: UUID, cpu_millis: int, memory_mib: int) -> None:
        self.host_id = host_id

    @event("Started")
    def started(self) -> None:
        self.observed = "running"

    @event("Exited")
    def exited(self, exit_code: int, oom_killed: bool) -> None:
        self.observed = "exited"

    @event("Removed")
    def removed(self) -> None:
        self.observed = "removed"
