"""The containers controller: what is wanted (the read side), what the engines hold, the
pure plan between them (reconcile.py), and one handler per kind of action.

Each handler records its decision through a command before it asks Docker for anything
(`Placed`, `Restarted`), then makes the calls, then records what Docker reports
(`Started`, `Exited`, `Paused`, `Removed`) through commands that are idempotent on the
aggregate. A crash anywhere leaves a state the next pass converges from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.answers import Placed, RestartDecided
from wharf.commands.application import Wharf
from wharf.domain.errors import DomainError, NotFound
from wharf.projections.reads import Reader
from wharf.projections.reads import containers as container_reads
from wharf.projections.reads import services as service_reads
from wharf.projections.reads import volumes as volume_reads
from wharf.projections.reads.volumes import VolumeRow
from wharf.schedulers.actions import ActionKind
from wharf.schedulers.fleet import Fleet
from wharf.schedulers.leading import Leading
from wharf.schedulers.logs import LogCollector
from wharf.schedulers.placement import HostRoom
from wharf.schedulers.ports import (
    Engine,
    EngineError,
    Observed,
    PullToken,
    RunSpec,
    VolumeMount,
)
from wharf.schedulers.reconcile import Action, Plan, Want, plan

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10  # seconds Docker waits for a stop before it kills
PULL_QUIET = 1.0  # seconds a pull runs before the container shows its progress
PULL_SHOWN = 2.0  # seconds between two showings of a pull's progress
# Kinds whose refusal by the engine the tenant can act on (an image it lacks): recorded
# as the container's failure.
SHOWN_REFUSALS = (ActionKind.PLACE, ActionKind.CREATE, ActionKind.START, ActionKind.RESTART)


class ContainersController:
    def __init__(self, app: Wharf, reader: Reader, leading: Leading, fleet: Fleet,
                 strategy: str = "spread", collector: LogCollector | None = None,
                 pull_token: PullToken | None = None) -> None:
        self.app = app
        self.reader = reader
        self.leading = leading
        self.fleet = fleet
        self.strategy = strategy
        self.collector = collector
        self.pull_token = pull_token
        self._wanted: dict[str, Want] = {}  # the wants of the last plan, by id
        self._handlers: dict[ActionKind, Callable[[Action, Want | None, _Recorder], None]] = {
            ActionKind.REMOVE_STRANGER: self._remove_stranger,
            ActionKind.UNSCHEDULABLE: self._unschedulable,
            ActionKind.RECORD_REMOVED: self._record_removed,
            ActionKind.PLACE: self._place,
            ActionKind.CREATE: self._create,
            ActionKind.START: self._start,
            ActionKind.RESTART: self._restart,
            ActionKind.RECYCLE: self._recycle,
            ActionKind.STOP: self._stop,
            ActionKind.UNPAUSE: self._unpause,
            ActionKind.OBSERVE: self._observe,
            ActionKind.REMOVE: self._remove,
        }

    @property
    def kinds(self) -> frozenset[ActionKind]:
        return frozenset(self._handlers)

    # -- a pass -----------------------------------------------------------------------

    def plan(self, hosts: list[HostRoom], observed: dict[str, list[Observed]],
             now: datetime) -> Plan:
        self._follow_running(observed)
        wants = self.wants()
        self._wanted = {w.id: w for w in wants}
        return plan(wants, observed, hosts, now, self.strategy)

    def wants(self) -> list[Want]:
        volumes = volume_reads.live_by_name(self.reader)
        dependencies = service_reads.waiting_on(self.reader)
        rows = container_reads.wanted(self.reader)
        # Volumes still mounted by a container being deleted: one that mounts them next
        # (a stop-first replica in its slot) waits until the old one is gone.
        held = {(w.container.tenant_id, name) for w in rows
                if w.container.desired == "deleted" and w.container.host_id is not None
                for name in w.container.spec.volume_names}
        wants = []
        for wanted in rows:
            row = wanted.container
            volume_host, waiting = _volume_needs(row.spec.volume_names, row.tenant_id,
                                                 volumes)
            if waiting is None and row.desired != "deleted":
                waiting = next((f"volume {name} is still mounted by a container being "
                                "removed" for name in row.spec.volume_names
                                if (row.tenant_id, name) in held), None)
            if waiting is None and row.service_id is not None:
                waiting = dependencies.get(row.service_id)
            wants.append(Want(
                id=row.id, tenant_id=row.tenant_id, tenant=wanted.tenant,
                desired=row.desired, observed=row.observed, host_id=row.host_id,
                cpu_millis=row.cpu_millis, memory_mib=row.memory_mib,
                generation=row.generation, run_generation=row.run_generation,
                restart_policy=row.spec.restart_policy,
                exit_code=row.exit_code, finished_at=row.finished_at or None,
                restarts=row.restarts, unschedulable=row.unschedulable or None,
                unschedulable_summary=tuple(row.unschedulable_summary),
                volume_host=volume_host, waiting=waiting,
                host_ports=tuple(p.host_port for p in row.spec.ports
                                 if p.host_port and p.publish),
                group=row.service_id, health=row.health or "",
                started_at=row.started_at or "", together=wanted.application_id,
                constraints=frozenset(row.spec.constraints),
            ))
        return wants

    def _follow_running(self, observed: dict[str, list[Observed]]) -> None:
        if self.collector is None:
            return
        for host_id, objects in observed.items():
            for obj in objects:
                if obj.running:
                    self.collector.follow(obj.container_id, self.fleet.engines[host_id])

    # -- an action ----------------------------------------------------------------------

    def carry_out(self, action: Action) -> tuple[bool, int]:
        """Runs one action (on a worker thread): whether it worked, and the newest log
        position it wrote."""
        want = self._wanted.get(action.container_id)
        written = [0]
        recorder = _Recorder(self.leading, written)
        try:
            self._handlers[action.kind](action, want, recorder)
        except (EngineError, DomainError) as error:
            log.warning("%s of container %s failed: %s", action.kind, action.container_id,
                        error)
            refused = (isinstance(error, EngineError) and not error.transient) or \
                isinstance(error, NotFound)  # a missing secret or volume
            if refused and want is not None and action.kind in SHOWN_REFUSALS:
                try:
                    recorder(m.RecordFailure, container_id=UUID(want.id), reason=str(error))
                except Exception as recording:  # a new term, deleted meanwhile, a busy store
                    log.warning("could not record the failure of %s: %s", want.id,
                                recording)
            return False, written[0]
        except Exception:
            log.exception("%s of container %s failed", action.kind, action.container_id)
            return False, written[0]
        return True, written[0]

    def _engine(self, host_id: str) -> Engine | None:
        return self.fleet.engines.get(host_id)

    def _remove_stranger(self, action: Action, want: Want | None, record: _Recorder) -> None:
        assert action.host_id is not None and action.docker_id is not None
        log.info("removing %s on host %s: Wharf does not know it", action.docker_id[:12],
                 action.host_id)
        self.fleet.engines[action.host_id].remove_by_docker_id(action.docker_id)

    def _unschedulable(self, action: Action, want: Want | None, record: _Recorder) -> None:
        record(m.MarkUnschedulable, container_id=UUID(action.container_id),
                     reasons=action.reasons, summary=list(action.summary))

    def _record_removed(self, action: Action, want: Want | None, record: _Recorder) -> None:
        record(m.RecordRemoved, container_id=UUID(action.container_id))

    def _place(self, action: Action, want: Want | None, record: _Recorder) -> None:
        assert want is not None and action.host_id is not None
        # The decision is in the log before Docker hears of it; an earlier one stands.
        placed = record(m.PlaceContainer, container_id=UUID(want.id),
                              host_id=UUID(action.host_id), move=action.move)
        self._create_on(want, placed.answer_as(Placed).host_id, record)

    def _create(self, action: Action, want: Want | None, record: _Recorder) -> None:
        assert want is not None and action.host_id is not None
        self._create_on(want, action.host_id, record)

    def _create_on(self, want: Want, host_id: str, record: _Recorder) -> None:
        engine = self._engine(host_id)
        if engine is None:
            return  # placed (earlier) on a host not listed in this pass: the next pass
        if want.observed in ("running", "paused", "exited"):
            record(m.RecordRemoved, container_id=UUID(want.id))  # behind our back
        spec = self.run_spec(want)
        for mount in spec.volumes:
            engine.ensure_volume(mount.volume_id, want.tenant_id)
        token = self.pull_token(spec.image, want.tenant_id) if self.pull_token else None
        if token is not None:  # (asked every time: a host's copy answers to no registry)
            self._pull(engine, want, spec.image, token, record)
        engine.create(spec)
        engine.start(want.id)
        self._after_run(want, engine, record)

    def _pull(self, engine: Engine, want: Want, image: str, token: str,
              record: _Recorder) -> None:
        """Pulls the image, showing on the container how far it got once it takes longer
        than PULL_QUIET seconds (a host that has the image only asks the registry), then
        every PULL_SHOWN seconds."""
        began = shown = time.monotonic()
        said = [False]

        def progress(done: int, total: int) -> None:
            nonlocal shown
            now = time.monotonic()
            if now - began < PULL_QUIET or (said[0] and now - shown < PULL_SHOWN):
                return
            shown, said[0] = now, True
            record(m.RecordPull, container_id=UUID(want.id),
                   progress=f"{image}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")

        engine.pull(image, token, progress)

    def _start(self, action: Action, want: Want | None, record: _Recorder) -> None:
        engine = self._acting_engine(action, want)
        if engine is not None and want is not None:
            engine.start(want.id)
            self._after_run(want, engine, record)

    def _restart(self, action: Action, want: Want | None, record: _Recorder) -> None:
        engine = self._acting_engine(action, want)
        if engine is None or want is None:
            return
        restarted = record(m.RestartContainer, container_id=UUID(want.id),
                                 after_finished_at=action.after)
        if restarted.answer_as(RestartDecided).due:
            engine.start(want.id)
            self._after_run(want, engine, record)

    def _recycle(self, action: Action, want: Want | None, record: _Recorder) -> None:
        engine = self._acting_engine(action, want)
        if engine is None or want is None:
            return
        decided = record(m.RecycleContainer, container_id=UUID(want.id),
                         run_started_at=action.after)
        if decided.answer_as(RestartDecided).due:
            log.info("replacing the unhealthy run of replica %s", want.id)
            engine.stop(want.id, STOP_TIMEOUT)
            self._record_run(want, engine, record)
            engine.start(want.id)
            self._after_run(want, engine, record)

    def _stop(self, action: Action, want: Want | None, record: _Recorder) -> None:
        engine = self._acting_engine(action, want)
        if engine is not None and want is not None:
            engine.stop(want.id, STOP_TIMEOUT)
            self._record_run(want, engine, record)

    def _unpause(self, action: Action, want: Want | None, record: _Recorder) -> None:
        engine = self._acting_engine(action, want)
        if engine is not None and want is not None:
            engine.unpause(want.id)
            self._record_run(want, engine, record)

    def _observe(self, action: Action, want: Want | None, record: _Recorder) -> None:
        engine = self._acting_engine(action, want)
        if engine is not None and want is not None:
            self._after_run(want, engine, record)

    def _remove(self, action: Action, want: Want | None, record: _Recorder) -> None:
        engine = self._acting_engine(action, want)
        if engine is None or want is None:
            return
        if action.host_id != want.host_id:
            assert action.docker_id is not None
            engine.remove_by_docker_id(action.docker_id)  # a stale copy
        else:
            if action.running:  # as the pass saw it: stop first, to record its exit
                engine.stop(want.id, STOP_TIMEOUT)
                self._record_run(want, engine, record)
            engine.remove(want.id)
            record(m.RecordRemoved, container_id=UUID(want.id))
        # The pass that removes a tenant's last container on a host removes its network.
        try:
            engine.release_network(want.together or want.tenant_id)
        except EngineError as error:  # the network timer tries again later
            log.info("network of tenant %s on host %s stays for now: %s", want.tenant_id,
                     action.host_id, error)

    def _acting_engine(self, action: Action, want: Want | None) -> Engine | None:
        assert action.host_id is not None
        return self._engine(action.host_id)

    def _after_run(self, want: Want, engine: Engine, record: _Recorder) -> None:
        self._record_run(want, engine, record)
        if self.collector is not None:
            self.collector.follow(want.id, engine)  # from its first line (or the last kept)

    def _record_run(self, want: Want, engine: Engine, record: _Recorder) -> None:
        current = engine.inspect(want.id)
        if current is None:
            record(m.RecordRemoved, container_id=UUID(want.id))
            return
        record(m.RecordRun, container_id=UUID(want.id), generation=want.generation,
                     started_at=current.started_at, finished_at=current.finished_at,
                     running=current.running, exit_code=current.exit_code,
                     oom_killed=current.oom_killed, ports=current.ports,
                     paused=current.paused, health=current.health)

    def run_spec(self, want: Want) -> RunSpec:
        """Everything to create the container, its secrets resolved (never logged)."""
        row = container_reads.container(self.reader, want.id)
        if row is None:
            raise EngineError(f"container {want.id} is not on the read side yet")
        service = service_reads.service(self.reader, row.service_id) if row.service_id \
            else None
        spec = row.spec
        tenant_id = UUID(want.tenant_id)
        env = dict(spec.env)
        for ref in spec.secrets:
            env[ref.env] = self.app.reveal_secret(tenant_id, ref.name)
        volumes = volume_reads.live_by_name(self.reader)
        mounts = []
        for mount in spec.volumes:
            found = volumes.get((want.tenant_id, mount.volume))
            if found is None or found.state != "active":
                raise EngineError(f"volume {mount.volume} does not exist", transient=False)
            mounts.append(VolumeMount(found.id, mount.path, mount.read_only))
        return RunSpec(container_id=want.id, tenant_id=want.tenant_id,
                       generation=want.generation, image=spec.image,
                       command=spec.command, entrypoint=spec.entrypoint, env=env,
                       ports=spec.ports, cpu_millis=want.cpu_millis,
                       memory_mib=want.memory_mib, volumes=tuple(mounts),
                       # (a replica answers to its service's name: all of them do; an
                       # application's, to its name in the file, on the application's
                       # own network)
                       alias=service.alias if service is not None else row.name,
                       network=(service.application_id or "") if service is not None else "",
                       health_check=spec.health_check)


class _Recorder:
    """An action's writes: through the leader's term, keeping the newest position."""

    def __init__(self, leading: Leading, written: list[int]) -> None:
        self.leading = leading
        self.written = written

    def __call__(self, kind: type[m.SchedulerCommand], **fields: object) -> Any:
        outcome = self.leading.record(kind, **fields)
        self.written[0] = max(self.written[0], outcome.position)
        return outcome


def _volume_needs(names: list[str], tenant_id: str,
                  volumes: dict[tuple[str, str], VolumeRow]) -> tuple[str | None, str | None]:
    """Where a container's volumes bind it, and why it must wait (if it must)."""
    host = None
    for name in names:
        volume = volumes.get((tenant_id, name))
        if volume is None:
            return None, f"volume {name} does not exist"
        if volume.state == "restoring":
            return None, f"volume {name} is being restored"
        if volume.host_id is not None:
            if host is not None and volume.host_id != host:
                return None, "its volumes live on different hosts"
            host = volume.host_id
    return host, None
