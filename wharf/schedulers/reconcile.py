"""The reconciler's decision: `plan(desired, observed, hosts, now)`. Pure and level-triggered.

It compares the whole desired state (the read side) with what the engines report and
returns the actions that move one towards the other, at most one per container per pass;
the next pass takes the next step. The apply step (`schedulers/scheduler.py`) carries the
actions out. Nothing here talks to Docker or the store, so every case is a unit test.
"""

from __future__ import annotations

import functools
import gc
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from wharf.domain.container import Desired, restart_wanted, same_news
from wharf.domain.container import Observed as ObservedState
from wharf.domain.container_spec import RestartPolicy
from wharf.schedulers.actions import ActionKind
from wharf.schedulers.placement import HostRoom, Placer, Request, summary
from wharf.schedulers.ports import Observed

P = ParamSpec("P")
R = TypeVar("R")


def paused_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Runs `function` with Python's cyclic garbage collector paused. A pass over 100,000
    containers allocates enough to set off full collections of the whole heap, which cost
    it about 40% (bench/placement_scale.py); it makes no cycles, so reference counting
    frees all it drops, and what the collector would find waits for its next run."""
    @functools.wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return paused

# Containers placed on a host in one of these states are placed elsewhere when wanted
# running; the copy left behind is removed once its engine answers.
LEAVING = ("draining", "lost", "removed")
RESTART_BACKOFF_BASE = 0.5  # seconds before the first automatic restart; doubles
RESTART_BACKOFF_MAX = 60.0


@dataclass(frozen=True)
class Want:
    """One container as the read side has it."""

    id: str
    tenant_id: str
    tenant: str
    desired: Desired
    observed: ObservedState
    host_id: str | None
    cpu_millis: int
    memory_mib: int
    generation: int = 1
    run_generation: int = 0
    restart_policy: RestartPolicy = "no"
    exit_code: int | None = None
    finished_at: str | None = None
    restarts: int = 0
    unschedulable: dict[str, str] | None = None
    unschedulable_summary: tuple[str, ...] = ()
    volume_host: str | None = None  # where its volumes live, once bound
    waiting: str | None = None  # why it cannot be placed at all yet (a volume restoring)
    host_ports: tuple[int, ...] = ()  # host ports it asks for
    group: str | None = None  # the service whose replica it is
    health: str = ""  # the verdict recorded on its run
    started_at: str = ""  # the run recorded
    together: str | None = None  # its application: kept on one host with its replicas
    constraints: frozenset[str] = frozenset()  # host labels it needs ("key=value")


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    container_id: str
    host_id: str | None = None
    docker_id: str | None = None
    reasons: dict[str, str] = field(default_factory=dict)  # unschedulable: by host
    summary: tuple[str, ...] = ()  # unschedulable: the reasons in the tenant's terms
    after: str = ""  # restart: the exit (finish time) it answers
    move: bool = False  # place: away from a host it is leaving
    running: bool = False  # remove: the copy was running when the pass looked

    @property
    def key(self) -> str:
        return self.container_id


@dataclass
class Plan:
    actions: list[Action]
    wake_at: datetime | None = None  # the earliest restart that is not due yet


def docker_time(value: str) -> datetime:
    """Docker's RFC 3339 time (nanoseconds, Z or an offset) as an aware datetime."""
    head, dot, rest = value.partition(".")
    if not dot:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    digits = "".join(itertools.takewhile(str.isdigit, rest))
    zone = rest[len(digits):]
    zone = "+00:00" if zone in ("", "Z") else zone
    return datetime.fromisoformat(f"{head}.{(digits + '000000')[:6]}{zone}")


def restart_delay(restarts: int) -> timedelta:
    return timedelta(seconds=min(RESTART_BACKOFF_BASE * 2 ** restarts, RESTART_BACKOFF_MAX))


def _same_news(want: Want, reasons: dict[str, str], said: tuple[str, ...]) -> bool:
    return same_news((reasons, said), (want.unschedulable or {}, want.unschedulable_summary))


def _restart_wanted(want: Want) -> bool:
    return restart_wanted(want.restart_policy, want.desired, want.observed,
                          want.run_generation, want.generation, want.exit_code)


@paused_gc
def plan(
    wants: list[Want],
    observed: dict[str, list[Observed]],
    hosts: list[HostRoom],
    now: datetime,
    strategy: str = "spread",
) -> Plan:
    """`observed` holds, for every host whose engine answered, Wharf's objects on it."""
    # (One walk over each list: a pass at 100,000 containers is bench/placement_scale.py.)
    # Where each container was seen: nearly always one host, so one entry in `seen` (host
    # id, object) and any further copies in `more` (no list per container).
    seen: dict[str, tuple[str, Observed]] = {}
    more: dict[str, list[tuple[str, Observed]]] = {}
    for host_id, objects in observed.items():
        for obj in objects:
            if obj.container_id in seen:
                more.setdefault(obj.container_id, []).append((host_id, obj))
            else:
                seen[obj.container_id] = (host_id, obj)
    held: dict[str, set[int]] = {}
    members: dict[str, dict[str, int]] = {}  # service -> host id -> its replicas there
    together: dict[str, str] = {}  # application -> the host its replicas run on
    known = set()
    for w in wants:
        known.add(w.id)
        if w.host_id is None or w.desired == "deleted":
            continue
        if w.host_ports:
            held.setdefault(w.host_id, set()).update(w.host_ports)
        if w.group is not None:
            counts = members.setdefault(w.group, {})
            counts[w.host_id] = counts.get(w.host_id, 0) + 1
        if w.together is not None:
            together.setdefault(w.together, w.host_id)
    rooms = Placer((h.take(0, 0, tuple(held.get(h.id, ()))) for h in hosts), strategy)
    rooms.members = members
    actions: list[Action] = []
    wake_at: datetime | None = None

    for host_id, objects in observed.items():
        for obj in objects:
            if obj.container_id not in known:
                actions.append(Action(ActionKind.REMOVE_STRANGER, obj.container_id, host_id,
                                      obj.docker_id))

    leaving_hosts = {h.id for h in hosts if h.state in LEAVING}
    for want in wants:
        here = None
        first = seen.get(want.id)
        if first is not None and first[0] == want.host_id and want.id not in more:
            here = first[1]  # (the common case: seen once, where it is placed)
        elif first is not None:
            for host_id, obj in (first, *more.get(want.id, ())):
                if host_id == want.host_id:
                    here = here or obj
                else:  # a copy anywhere but the placed host is stale (a move, a host back)
                    actions.append(Action(ActionKind.REMOVE, want.id, host_id,
                                          obj.docker_id))

        if want.desired == "deleted":
            if here is not None:
                actions.append(Action(ActionKind.REMOVE, want.id, want.host_id, here.docker_id,
                                      running=here.running))
            elif (want.id not in seen and want.observed != "removed"
                  and _known(want, observed)):
                actions.append(Action(ActionKind.RECORD_REMOVED, want.id, want.host_id))
            continue

        leaving = want.host_id in leaving_hosts
        if want.desired == "running" and (want.host_id is None or leaving):
            if want.waiting is not None:
                reasons = {"*": want.waiting}
                if not _same_news(want, reasons, (want.waiting,)):
                    actions.append(Action(ActionKind.UNSCHEDULABLE, want.id, reasons=reasons,
                                          summary=(want.waiting,)))
                continue
            request = Request(tenant=want.tenant, cpu_millis=want.cpu_millis,
                              memory_mib=want.memory_mib, volume_host=want.volume_host,
                              avoid=want.host_id if leaving else None,
                              host_ports=want.host_ports, group=want.group,
                              beside=together.get(want.together) if want.together else None,
                              constraints=want.constraints)
            chosen, rejections = rooms.choose(request)
            reasons = {name: r.text for name, r in rejections.items()}
            if chosen is not None:
                actions.append(Action(ActionKind.PLACE, want.id, chosen.id, move=leaving))
                if want.together is not None and not leaving:
                    together.setdefault(want.together, chosen.id)
                rooms.take(chosen.id, want.cpu_millis, want.memory_mib, want.host_ports,
                           want.group)
                if want.host_id is not None:
                    rooms.take(want.host_id, -want.cpu_millis, -want.memory_mib,
                               group=want.group)
            elif not _same_news(want, reasons, tuple(summary(rejections))):
                actions.append(Action(ActionKind.UNSCHEDULABLE, want.id, reasons=reasons,
                                      summary=tuple(summary(rejections))))
            continue
        if want.host_id is None or want.host_id not in observed:
            continue  # never placed (and not wanted running), or its engine is silent
        if (here is not None and here.state == "running" and want.observed == "running"
                and want.desired == "running" and want.health != "unhealthy"
                and (not here.health or here.health == want.health)):
            continue  # running as wanted: what `_step` finds of most containers, sooner

        step = _step(want, here, now)
        if isinstance(step, datetime):
            wake_at = step if wake_at is None else min(wake_at, step)
        elif step is not None:
            actions.append(step)
    return Plan(actions, wake_at)


def _known(want: Want, observed: dict[str, list[Observed]]) -> bool:
    """Whether we can tell that no copy exists: its host answered (or it never had one)."""
    return want.host_id is None or want.host_id in observed


def _step(want: Want, here: Observed | None, now: datetime) -> Action | datetime | None:
    """The next step for a placed container whose engine answered."""
    host = want.host_id
    if here is None:
        if want.desired == "running":
            # the first time, or removed behind our back
            return Action(ActionKind.CREATE, want.id, host)
        if want.observed in ("running", "paused", "exited"):
            return Action(ActionKind.RECORD_REMOVED, want.id, host)  # removed behind our back
        return None
    if here.paused:  # frozen behind our back: record it, then thaw it
        if want.observed != "paused":
            return Action(ActionKind.OBSERVE, want.id, host, here.docker_id)
        return Action(ActionKind.UNPAUSE, want.id, host, here.docker_id)
    if here.running:
        if want.observed != "running" or (here.health and here.health != want.health):
            return Action(ActionKind.OBSERVE, want.id, host, here.docker_id)
        if want.desired == "stopped":
            return Action(ActionKind.STOP, want.id, host, here.docker_id)
        if want.health == "unhealthy" and want.group is not None and want.desired == "running":
            # A service's replica that fails its check: out of rotation (the routes hold
            # healthy replicas only) and replaced by a new run.
            return Action(ActionKind.RECYCLE, want.id, host, here.docker_id,
                          after=want.started_at)
        return None
    # The object exists and is not running.
    if want.observed in ("running", "paused"):
        return Action(ActionKind.OBSERVE, want.id, host, here.docker_id)  # record its exit first
    if want.observed == "removed" and here.state != "created":
        # Made again after a removal behind our back, and run, but its run is not
        # recorded (a crash between start and record): record it, then decide.
        return Action(ActionKind.OBSERVE, want.id, host, here.docker_id)
    if want.desired != "running":
        return None
    if here.state == "created" or want.run_generation < want.generation:
        return Action(ActionKind.START, want.id, host, here.docker_id)
    if _restart_wanted(want) and want.finished_at:
        due = docker_time(want.finished_at) + restart_delay(want.restarts)
        if due > now:
            return due
        return Action(ActionKind.RESTART, want.id, host, here.docker_id, after=want.finished_at)
    return None


# -- volumes --------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeWant:
    id: str
    tenant_id: str
    tenant: str
    state: str  # active, restoring, deleted
    host_id: str | None
    backups_due: tuple[str, ...] = ()  # backup ids requested and not done
    restore: tuple[str, str] | None = None  # (source volume id, backup id)


@dataclass(frozen=True)
class VolumeAction:
    kind: ActionKind
    volume_id: str
    host_id: str
    backup_id: str = ""
    source_volume_id: str = ""

    @property
    def key(self) -> str:
        return self.volume_id


def plan_volumes(
    wants: list[VolumeWant], observed: dict[str, list[str]], hosts: list[HostRoom]
) -> list[VolumeAction]:
    """Backups to take, restores to make, and Docker volumes of deleted volumes to remove.
    `observed` holds each answering host's volume ids."""
    actions: list[VolumeAction] = []
    live = {w.id for w in wants if w.state != "deleted"}
    for host_id, volume_ids in observed.items():
        for volume_id in volume_ids:
            if volume_id not in live:
                actions.append(VolumeAction(ActionKind.REMOVE_VOLUME, volume_id, host_id))
    rooms = Placer(h for h in hosts if h.id in observed)
    for want in wants:
        if want.state == "deleted":
            continue
        if want.host_id is not None and want.host_id in observed:
            for backup_id in want.backups_due:
                actions.append(VolumeAction(ActionKind.BACKUP, want.id, want.host_id, backup_id))
        if want.restore is not None:
            source, backup_id = want.restore
            chosen, _ = rooms.choose(Request(tenant=want.tenant, cpu_millis=0, memory_mib=0))
            if chosen is not None:
                actions.append(VolumeAction(ActionKind.RESTORE, want.id, chosen.id, backup_id,
                                            source))
    return actions
