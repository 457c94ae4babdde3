"""Container: a spec, what the tenant wants it to be, and what Docker was seen doing.

About 330 lines on purpose: an aggregate and the classes of its events are one unit
(eventsourcing declares each event class on its aggregate, beside the method that
triggers it); the pure rules it needs from elsewhere live in container_spec.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import DiskMeasured, WharfAggregate
from wharf.domain.container_spec import ContainerSpec
from wharf.domain.errors import Conflict

Desired = Literal["running", "stopped", "deleted"]
# What the engine was last seen doing with it ("pending": not yet run; "removed": gone
# from its host, as a deleted container ends, or a lost host's do).
Observed = Literal["pending", "running", "paused", "exited", "removed"]
DESIRED: tuple[Desired, ...] = get_args(Desired)
OBSERVED: tuple[Observed, ...] = get_args(Observed)


def restart_wanted(policy: str, desired: str, observed: str, run_generation: int,
                   generation: int, exit_code: int | None) -> bool:
    """Whether a container's restart policy asks for a restart after its last run ended
    (the rule the aggregate enforces and the reconciler plans by)."""
    if desired != "running" or observed != "exited":
        return False
    if run_generation != generation:
        return False  # that run was of an earlier start; a new start is due instead
    if policy == "on-failure":
        return exit_code not in (0, None)
    return policy in ("always", "unless-stopped")


def same_news(new: tuple[Mapping[str, str], Sequence[str]],
              old: tuple[Mapping[str, str], Sequence[str]]) -> bool:
    """Whether why a container waits for a host is what was recorded already: the same
    summary for the tenant, about the same hosts. Other tenants' work moves the free
    figures in the operators' reasons all the time; recording each move grew the log by
    dozens of events a minute and showed a tenant its neighbours' comings and goings."""
    return list(new[1]) == list(old[1]) and set(new[0]) == set(old[0])


class Container(DiskMeasured, WharfAggregate):
    class Created(WharfAggregate.Created):
        """Version 2 names the service whose replica it is (None: a container of its
        own) and the version of the service's configuration it was made at."""

        class_version = 2
        tenant_id: UUID
        name: str
        spec: dict[str, Any]
        cpu_millis: int
        memory_mib: int
        desired: str
        service_id: UUID | None
        config_version: int  # a replica's: the service's configuration it was made at

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["service_id"] = None
            state["config_version"] = 0

    @event(Created)
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
        service_id: UUID | None = None,
        config_version: int = 0,
    ) -> None:
        self.tenant_id = tenant_id
        self.service_id = service_id
        self.config_version = config_version
        self.name = name
        self.spec = ContainerSpec.from_data(spec)  # (events carry it as plain data)
        self.cpu_millis = cpu_millis
        self.memory_mib = memory_mib
        self.desired: Desired = "running" if desired == "running" else "stopped"
        self.stopped_by_suspension = False
        self.host_id: UUID | None = None
        self.observed: Observed = "pending"
        # Each start a tenant asks for is a new generation; a run Docker reports belongs
        # to the generation it was started for. Restarts stay within their generation.
        self.generation = 1 if desired == "running" else 0
        self.run_generation = 0
        self.restarts = 0
        self.started_at = ""
        self.finished_at = ""
        self.exit_code: int | None = None
        self.oom_killed: bool | None = None  # whether the last exit was the OOM killer's
        self.ports: dict[str, int] = {}  # this run's published ports ("80/tcp" -> port)
        self.restarted_after = ""
        self.failure = ""  # why the engine refused it last (an image it lacks, say)
        self.health = ""  # its health check's verdict on this run: "" (none), starting,
        # healthy, unhealthy
        self.recycled_run = ""  # the run (start time) last replaced for being unhealthy
        self.disk_over_since = ""  # when its writable layer was first seen over the limit
        self.unschedulable: dict[str, str] = {}
        self.unschedulable_summary: list[str] = []

    def require_own(self) -> None:
        """A tenant's start, stop or delete: a replica follows its service instead."""
        if self.service_id is not None:
            raise Conflict(f"container {self.name} is a replica of a service: start, stop "
                           "or scale the service")

    def start(self) -> None:
        self._require_not_deleted()
        if self.desired != "running":
            self._start_requested()

    class StartRequested(WharfAggregate.Event):
        pass

    @event(StartRequested)
    def _start_requested(self) -> None:
        self.desired = "running"
        self.stopped_by_suspension = False
        self.generation += 1
        self.restarts = 0

    def stop(self, by_suspension: bool = False) -> None:
        """A stop asked for while the tenant is suspended still counts: resuming the tenant
        must not start this container again."""
        self._require_not_deleted()
        if self.desired == "running" or (self.stopped_by_suspension and not by_suspension):
            self._stop_requested(by_suspension=by_suspension)

    class StopRequested(WharfAggregate.Event):
        by_suspension: bool

    @event(StopRequested)
    def _stop_requested(self, by_suspension: bool) -> None:
        self.desired = "stopped"
        self.stopped_by_suspension = by_suspension

    def delete(self) -> None:
        self._require_not_deleted()
        self._delete_requested()

    class DeleteRequested(WharfAggregate.Event):
        pass

    @event(DeleteRequested)
    def _delete_requested(self) -> None:
        self.desired = "deleted"

    def _require_not_deleted(self) -> None:
        if self.desired == "deleted":
            raise Conflict(f"container {self.name} is deleted")

    # -- what the scheduler observed (recorded by the scheduler, not by tenants) ------

    def place(self, host_id: UUID) -> bool:
        """Records the scheduler's decision, with what the container reserves there.
        False when it is placed there already (a retried pass)."""
        self._require_not_deleted()
        if self.host_id == host_id:
            return False
        self._placed(host_id=host_id, cpu_millis=self.cpu_millis, memory_mib=self.memory_mib)
        return True

    class Placed(WharfAggregate.Event):
        host_id: UUID
        cpu_millis: int
        memory_mib: int

    @event(Placed)
    def _placed(self, host_id: UUID, cpu_millis: int, memory_mib: int) -> None:
        self.host_id = host_id
        self.unschedulable = {}
        self.unschedulable_summary = []

    def mark_unschedulable(self, reasons: dict[str, str], summary: list[str]) -> bool:
        """Says why no host takes the container: `reasons` by host name (for operators),
        `summary` in the tenant's own terms; once per change."""
        if self.desired == "deleted" or same_news(
                (reasons, summary), (self.unschedulable, self.unschedulable_summary)):
            return False
        self._unschedulable(reasons=dict(reasons), summary=list(summary))
        return True

    class Unschedulable(WharfAggregate.Event):
        """Version 2 adds `summary`: the reasons in the tenant's terms. Version 1 gave
        the reasons by host only, with figures a tenant must not see."""

        class_version = 2
        reasons: dict[str, str]
        summary: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["summary"] = ["no host that may take it is available now"]

    @event(Unschedulable)
    def _unschedulable(self, reasons: dict[str, str], summary: list[str]) -> None:
        self.unschedulable = reasons
        self.unschedulable_summary = summary

    def observe(
        self, generation: int, started_at: str, finished_at: str, running: bool,
        exit_code: int, oom_killed: bool, ports: dict[str, int], paused: bool = False,
        health: str = "",
    ) -> list[str]:
        """Records what Docker reported of one run, each fact once: a run is known by its
        start time and its end by its finish time, so a repeated report changes nothing.
        A run frozen by `docker pause` is `paused` until it is thawed."""
        recorded = []
        if started_at and started_at != self.started_at:
            self._started(generation=generation, started_at=started_at, ports=dict(ports))
            recorded.append("Started")
        if not running and finished_at and started_at == self.started_at \
                and finished_at != self.finished_at and self.observed in ("running", "paused"):
            self._exited(exit_code=exit_code, oom_killed=oom_killed, finished_at=finished_at)
            recorded.append("Exited")
        if running and started_at == self.started_at and health \
                and health != getattr(self, "health", ""):
            self._health_changed(status=health, started_at=started_at)
            recorded.append("HealthChanged")
        if running and started_at == self.started_at:
            if paused and self.observed == "running":
                self._paused()
                recorded.append("Paused")
            elif not paused and self.observed == "paused":
                self._unpaused()
                recorded.append("Unpaused")
        return recorded

    class HealthChanged(WharfAggregate.Event):
        """Its health check's verdict on the run started at `started_at` changed."""

        status: str  # starting, healthy, unhealthy
        started_at: str

    @event(HealthChanged)
    def _health_changed(self, status: str, started_at: str) -> None:
        self.health = status

    def recycle(self, run_started_at: str) -> bool:
        """The decision to replace an unhealthy run of a service's replica with a new
        one, recorded before Docker is asked; once per run."""
        if self.desired != "running" or run_started_at != self.started_at \
                or getattr(self, "recycled_run", "") == run_started_at:
            return False
        if getattr(self, "health", "") != "unhealthy":
            raise Conflict(f"container {self.name} is not unhealthy")
        self._recycled(run_started_at=run_started_at)
        return True

    class Recycled(WharfAggregate.Event):
        """An unhealthy run is stopped and a new one started in its place."""

        run_started_at: str

    @event(Recycled)
    def _recycled(self, run_started_at: str) -> None:
        self.recycled_run = run_started_at

    class Paused(WharfAggregate.Event):
        pass

    @event(Paused)
    def _paused(self) -> None:
        self.observed = "paused"

    class Unpaused(WharfAggregate.Event):
        pass

    @event(Unpaused)
    def _unpaused(self) -> None:
        self.observed = "running"

    class Started(WharfAggregate.Event):
        """Version 2 says which run: its generation, start time and published ports."""

        class_version = 2
        generation: int
        started_at: str
        ports: dict[str, int]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(generation=0, started_at="", ports={})

    # -- disk (measured: overlay2 on ext4 has no quota) -------------------------------

    def measure_disk(self, used_mib: int, limit_mib: int, at: str) -> bool:
        """Its writable layer against the plan's container_disk_mib."""
        return self._measured(used_mib, limit_mib, at)

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

    def enforce_disk_limit(self, since: str, volume: str | None = None) -> bool:
        """Stops a container that stayed over its disk limit (or whose volume stayed over
        its size) past the grace period."""
        if not since or self.desired != "running":
            return False
        self._disk_limit_enforced(since=since, volume=volume)
        return True

    class DiskLimitEnforced(WharfAggregate.Event):
        since: str
        volume: str | None

    @event(DiskLimitEnforced)
    def _disk_limit_enforced(self, since: str, volume: str | None) -> None:
        self.desired = "stopped"

    def record_failure(self, reason: str) -> bool:
        """What the engine answered when asked to create or start it; once per reason."""
        if reason == self.failure or self.desired == "deleted":
            return False
        self._failed(reason=reason)
        return True

    class Failed(WharfAggregate.Event):
        reason: str

    @event(Failed)
    def _failed(self, reason: str) -> None:
        self.failure = reason
        self.pulling = ""

    def record_pull(self, progress: str) -> bool:
        """What its host is pulling for it, and how far ("" when done); once per change."""
        if progress == self.__dict__.get("pulling", "") or self.desired == "deleted":
            return False
        self._pulling(progress=progress)
        return True

    class Pulling(WharfAggregate.Event):
        progress: str

    @event(Pulling)
    def _pulling(self, progress: str) -> None:
        self.pulling = progress

    @event(Started)
    def _started(self, generation: int, started_at: str, ports: dict[str, int]) -> None:
        self.failure = ""
        self.pulling = ""
        self.health = ""
        self.observed = "running"
        self.run_generation = generation
        self.started_at = started_at
        self.exit_code = None
        self.oom_killed = None
        self.ports = dict(ports)

    class Exited(WharfAggregate.Event):
        """Version 2 carries the finish time that identifies the exit."""

        class_version = 2
        exit_code: int
        oom_killed: bool
        finished_at: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["finished_at"] = ""

    @event(Exited)
    def _exited(self, exit_code: int, oom_killed: bool, finished_at: str) -> None:
        self.observed = "exited"
        self.finished_at = finished_at
        self.exit_code = exit_code
        self.oom_killed = oom_killed

    def _to_snapshot(self, state: dict[str, Any]) -> None:
        state["spec"] = self.spec.to_data()

    def _from_snapshot(self) -> None:
        self.spec = ContainerSpec.from_data(self.spec)  # type: ignore[arg-type]

    def restart_wanted(self) -> bool:
        """Whether the restart policy asks for a restart of the run that just ended."""
        return restart_wanted(self.spec.restart_policy, self.desired,
                              self.observed, self.run_generation, self.generation,
                              self.exit_code)

    def restart(self, after_finished_at: str) -> bool:
        """The decision to restart after an exit, recorded before Docker is asked; once
        per exit."""
        if after_finished_at != self.finished_at or self.restarted_after == after_finished_at:
            return False
        if not self.restart_wanted():
            raise Conflict(f"container {self.name} is not due for a restart")
        self._restarted(attempt=self.restarts + 1, after_finished_at=after_finished_at)
        return True

    class Restarted(WharfAggregate.Event):
        attempt: int
        after_finished_at: str

    @event(Restarted)
    def _restarted(self, attempt: int, after_finished_at: str) -> None:
        self.restarts = attempt
        self.restarted_after = after_finished_at

    def observe_removed(self) -> bool:
        if self.observed == "removed":
            return False
        self._removed()
        return True

    class Removed(WharfAggregate.Event):
        pass

    @event(Removed)
    def _removed(self) -> None:
        self.observed = "removed"
        self.ports = {}
