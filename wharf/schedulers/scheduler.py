"""The scheduler: a thin loop over controllers, one per kind of thing it reconciles.

A pass reads the hosts, asks every engine what it holds (fleet.py), lets the host
controller mark hosts lost or recovered (host_health.py), then asks each controller for
its plan (containers.py, volumes.py; later replicas, routes, builds) and hands every
action to one queue (actions.py), which owns the busy set, the backoff and the
one-action-per-key rule. The loop passes when woken (the projector, an engine's event, a
finished action), when a restart falls due, and every `interval` seconds regardless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from wharf.commands import messages as m
from wharf.commands.application import Wharf
from wharf.commands.ports import Clock
from wharf.projections.reads import Reader
from wharf.projections.reads import hosts as host_reads
from wharf.schedulers.actions import ActionQueue
from wharf.schedulers.containers import ContainersController
from wharf.schedulers.fleet import Fleet
from wharf.schedulers.host_health import HostHealth
from wharf.schedulers.leading import Leading
from wharf.schedulers.logs import LogCollector
from wharf.schedulers.placement import HostRoom
from wharf.schedulers.ports import Engine, Ingress, PullToken
from wharf.schedulers.read_side import FollowsReadSide
from wharf.schedulers.reconcile import Action, VolumeAction
from wharf.schedulers.rollouts import RolloutAction, RolloutsController
from wharf.schedulers.routes import RouteAction, RoutesController
from wharf.schedulers.volumes import VolumesController

log = logging.getLogger(__name__)
C = TypeVar("C", bound=m.SchedulerCommand)

WAKE_COALESCE = 0.1  # seconds a woken loop waits for the rest of a burst of wakes
ROUTES_COALESCE = 0.005  # seconds a routes refresh waits for the rest of a burst


@dataclass
class PassResult:
    actions: list[Action] = field(default_factory=list)
    failed: int = 0
    position: int = 0  # the newest position this pass wrote
    wake_at: datetime | None = None
    silent_hosts: list[str] = field(default_factory=list)
    volume_actions: list[VolumeAction] = field(default_factory=list)


class Scheduler(FollowsReadSide):
    def __init__(
        self,
        app: Wharf,
        view: Reader,
        engine_for: Callable[[str, str], Engine],  # (host id, endpoint)
        clock: Clock,
        wait_for: Callable[[int, float], None],
        strategy: str = "spread",
        workers: int = 8,
        host_grace: float = 30.0,
        backups: Path | None = None,
        collector: LogCollector | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        ingress: Ingress | None = None,
        pull_token: PullToken | None = None,
    ) -> None:
        self.app = app
        self.view = view
        self.clock = clock
        self._wait_for = wait_for  # (position, timeout): TimeoutError if not reached
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._routes_wake = threading.Event()
        self.leading = Leading(app)
        self.fleet = Fleet(engine_for, self.nudge, self._stop)
        self.queue = ActionQueue(workers, monotonic, self.nudge)
        self.host_health = HostHealth(self.leading, timedelta(seconds=host_grace))
        self.containers = ContainersController(app, view, self.leading, self.fleet,
                                               strategy, collector, pull_token)
        self.volumes = VolumesController(view, self.leading, self.fleet,
                                         backups or Path("backups"))
        self.routes = (RoutesController(view, self.leading, ingress, monotonic,
                                        app.apps_domain)
                       if ingress is not None else None)
        self._carry_out: dict[Any, Callable[[Any], tuple[bool, int]]] = {
            **{kind: self.containers.carry_out for kind in self.containers.kinds},
            **{kind: self.volumes.carry_out for kind in self.volumes.kinds},
        }
        self.rollouts = RolloutsController(app, view, self.leading)
        self._carry_out.update({kind: self.rollouts.carry_out for kind in self.rollouts.kinds})
        if self.routes is not None:
            self._carry_out.update({kind: self.routes.carry_out for kind in self.routes.kinds})

    @property
    def engines(self) -> dict[str, Engine]:
        return self.fleet.engines

    @property
    def term(self) -> int | None:
        return self.leading.term

    def archive(self, volume_id: str, backup_id: str) -> Path:
        return self.volumes.archive(volume_id, backup_id)

    # -- one pass -------------------------------------------------------------------

    def run_pass(self, wait: bool = True, busy: set[str] | None = None) -> PassResult:
        """Plans one pass and applies it; with `wait`, returns once every action is done
        (tests and `--once`). The loop does not wait: a key whose action is still
        running is left out of the next passes until it is done (pipelining)."""
        if self.leading.term is None:
            self.lead()  # (a scheduler driven pass by pass, as in `--once` and tests)
        rows = [h for h in host_reads.hosts(self.view)]
        hosts = [HostRoom(id=r.id, name=r.name, pool=r.pool, state=r.state,
                          cpu_millis=r.cpu_millis, memory_mib=r.memory_mib,
                          overcommit=r.overcommit, reserved_cpu_millis=r.reserved_cpu_millis,
                          reserved_memory_mib=r.reserved_memory_mib, labels=r.label_set)
                 for r in rows]
        endpoints = {r.id: r.endpoint for r in rows if r.state != "removed"}
        observed, silent = self.fleet.containers(endpoints)
        now = self.clock.now()
        written, hosts, wake_at = self.host_health.check(hosts, observed, silent, now)
        containers = self.containers.plan(hosts, observed, now)
        volumes = self.volumes.plan(hosts, list(observed))
        routes = self.routes.plan() if self.routes is not None else []
        rollouts = self.rollouts.plan(now)
        actions: list[Action | VolumeAction | RouteAction | RolloutAction] = [
            *containers.actions, *volumes, *rollouts, *routes]
        submitted = self.queue.submit(actions, self._apply, busy,
                                      planned={a.key for a in actions})
        retry_in = self.queue.next_retry_in()
        for due in (wake_at, containers.wake_at,
                    now + timedelta(seconds=retry_in) if retry_in is not None else None):
            if due is not None and (wake_at is None or due < wake_at):
                wake_at = due
        result = PassResult(
            actions=[a for a in submitted.actions if isinstance(a, Action)],
            volume_actions=[a for a in submitted.actions if isinstance(a, VolumeAction)],
            wake_at=wake_at, silent_hosts=silent, position=written)
        if wait:
            for future in submitted.futures:
                ok, position = future.result()
                result.failed += 0 if ok else 1
                result.position = max(result.position, position)
        return result

    def _apply(self, action: Action | VolumeAction | RouteAction | RolloutAction
               ) -> tuple[bool, int]:
        return self._carry_out[action.kind](action)

    def _cmd(self, kind: type[C], **fields: Any) -> C:
        """A command of this scheduler: its actor, and its term (fencing)."""
        return self.leading.command(kind, **fields)

    def lead(self) -> int:
        return self.leading.take()

    # -- the loop -------------------------------------------------------------------

    def nudge(self, *_: Any) -> None:
        """Wakes the loop early: the read side moved, or an engine reported something."""
        self._wake.set()
        self._routes_wake.set()

    def _refresh_routes(self) -> None:
        """Between passes, the routes follow the read side at once (routes.py)."""
        assert self.routes is not None
        while not self._stop.is_set():
            if not self._routes_wake.wait(1.0):
                continue
            self._stop.wait(ROUTES_COALESCE)  # (a burst of writes: one refresh)
            self._routes_wake.clear()
            try:
                self.routes.refresh()
            except Exception as error:  # Caddy restarting, the store busy: the loop's
                log.warning("routes not refreshed: %s", error)  # next check applies them

    def run_forever(self, interval: float = 5.0) -> None:
        """Passes until stopped: at once after a pass that acted (to take the next step),
        when woken, when a restart falls due, and every `interval` seconds regardless."""
        # First, a read side that holds every decision made before this scheduler began
        # (a predecessor's among them): the first pass must not act on less.
        self._wait_for_head()
        self.lead()
        if self.routes is not None:
            threading.Thread(target=self._refresh_routes, name="routes", daemon=True).start()
        passed = 0.0
        while not self._stop.is_set():
            self._wake.clear()
            began = time.monotonic()
            try:
                written, busy = self.queue.state()
                self.wait_for(written)  # a pass must see what earlier actions recorded
                result = self.run_pass(wait=False, busy=busy)
                passed = time.monotonic()
                if result.position:
                    self.wait_for(result.position)
            except TimeoutError:
                if not self._stop.is_set():
                    log.warning("the read side is behind the scheduler's own writes")
                continue
            except Exception:
                log.exception("scheduler pass failed; retrying")
                self._stop.wait(1.0)
                continue
            timeout = interval
            if result.wake_at is not None:
                timeout = min(timeout, max(0.0, (result.wake_at - self.clock.now())
                                           .total_seconds()))
            settle = self.fleet.settle_due(began)
            if settle is not None:
                timeout = min(timeout, max(0.0, settle - time.monotonic()))
            if self._wake.wait(timeout):
                # Wakes come in bursts (each finished action, each projected batch, each
                # engine event): within one, a moment's wait lets one pass, one listing of
                # each engine, answer many wakes. The first wake after a quiet spell is
                # answered at once.
                since = time.monotonic() - passed
                if since < WAKE_COALESCE:
                    self._stop.wait(WAKE_COALESCE - since)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        self.stop()
        self.queue.close()
        self.fleet.close()
