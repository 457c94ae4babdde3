"""The scheduler: reads the desired state, asks the engines what is there, plans, applies.

The apply step is thin: each action records its decision through a command before it asks
Docker for anything (`Placed`, `Restarted`), then makes the calls, then records what
Docker reports (`Started`, `Exited`, `Removed`) through commands that are idempotent on
the aggregate. A crash anywhere leaves a state the next pass converges from.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.ports import Clock
from wharf.domain.errors import DomainError, NotFound
from wharf.projections.views import ReadModelStore
from wharf.schedulers.logs import LogCollector
from wharf.schedulers.placement import HostRoom
from wharf.schedulers.ports import Engine, EngineError, Observed, RunSpec
from wharf.schedulers.reconcile import (
    Action,
    VolumeAction,
    VolumeWant,
    Want,
    plan,
    plan_volumes,
)

log = logging.getLogger(__name__)
C = TypeVar("C", bound=m.SchedulerCommand)

STOP_TIMEOUT = 10  # seconds Docker waits for a stop before it kills
RETRY_MAX = 60.0  # seconds between attempts of an action that keeps failing
WAKE_COALESCE = 0.1  # seconds a woken loop waits for the rest of a burst of wakes
# Docker reports a container's `die` some 70 ms before its listing shows it exited (and
# likewise for other changes): a pass woken by the event alone saw it still running and
# learned of the exit only from the next periodic pass. So an event wakes the loop at once
# and once more this long after the last event.
EVENT_SETTLE = 0.3

HOSTS_SQL = (
    "SELECT id, name, endpoint, pool, state, cpu_millis, memory_mib, overcommit, "
    "reserved_cpu_millis, reserved_memory_mib FROM rm_hosts"
)
VOLUMES_SQL = (
    "SELECT v.id, v.tenant_id, t.name AS tenant, v.state, v.host_id, v.restoring_from "
    "FROM rm_volumes v JOIN rm_tenants t ON t.id = v.tenant_id"
)
WANTS_SQL = (
    "SELECT c.id, c.tenant_id, t.name AS tenant, c.desired, c.observed, c.host_id, "
    "c.cpu_millis, c.memory_mib, c.generation, c.run_generation, c.exit_code, "
    "c.finished_at, c.restarts, c.unschedulable, c.spec FROM rm_containers c "
    "JOIN rm_tenants t ON t.id = c.tenant_id "
    "WHERE NOT (c.desired = 'deleted' AND c.observed = 'removed')"
)


@dataclass
class PassResult:
    actions: list[Action] = field(default_factory=list)
    failed: int = 0
    position: int = 0  # the newest position this pass wrote
    wake_at: datetime | None = None
    silent_hosts: list[str] = field(default_factory=list)
    volume_actions: list[VolumeAction] = field(default_factory=list)


class Scheduler:
    def __init__(
        self,
        app: Wharf,
        view: ReadModelStore,
        engine_for: Callable[[str], Engine],
        clock: Clock,
        wait_for: Callable[[int], None],
        strategy: str = "spread",
        workers: int = 8,
        host_grace: float = 30.0,
        backups: Path | None = None,
        collector: LogCollector | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.view = view
        self.engine_for = engine_for
        self.clock = clock
        self.wait_for = wait_for
        self.strategy = strategy
        self.host_grace = timedelta(seconds=host_grace)
        self.backups = backups or Path("backups")
        self.collector = collector
        self.monotonic = monotonic  # the clock of retries (a test drives it)
        self._silent_since: dict[str, datetime] = {}  # host id -> first silent pass
        self.actor = Actor.system("scheduler")
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.term: int | None = None
        self.engines: dict[str, Engine] = {}  # host id -> engine
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="wharf-apply")
        # Listings have threads of their own: a pass must not wait behind slow actions
        # (a stop can take its whole grace period).
        self._listers = ThreadPoolExecutor(4, thread_name_prefix="wharf-list")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # containers whose action is still running
        self._written = 0  # the newest position a finished action wrote
        self._backoff: dict[str, tuple[int, float]] = {}  # container -> (failures, retry at)
        self._settle_at: float | None = None  # a pass due after the engines' last event

    # -- one pass -------------------------------------------------------------------

    def run_pass(self, wait: bool = True, busy: set[str] | None = None) -> PassResult:
        """Plans one pass and applies it; with `wait`, returns once every action is done
        (tests and `--once`). The loop does not wait: a container whose action is still
        running is left out of the next passes until it is done (pipelining)."""
        if self.term is None:
            self.lead()  # (a scheduler driven pass by pass, as in `--once` and tests)
        hosts, endpoints = self._hosts()
        observed, silent = self._observe(endpoints)
        now = self.clock.now()
        written, hosts, wake_at = self._host_health(hosts, observed, silent, now)
        if self.collector is not None:
            for host_id, objects in observed.items():
                for obj in objects:
                    if obj.running:
                        self.collector.follow(obj.container_id, self.engines[host_id])
        volume_wants = self._volume_wants()
        wants = self._wants(self._volumes_by_name())
        decided = plan(wants, observed, hosts, now, self.strategy)
        # Engines are asked for their volumes only when Wharf has (or had) some.
        volume_actions = plan_volumes(
            volume_wants, self._observe_volumes(observed) if volume_wants else {}, hosts)
        retry_at = self.monotonic()
        planned = {a.container_id for a in decided.actions} | \
            {va.volume_id for va in volume_actions}
        with self._lock:
            # Busy: running now, or running when the read side was last waited for (its
            # writes may not be in what this pass read).
            skip = self._busy | (busy or set())
            actions = []
            for a in decided.actions:
                if a.container_id in skip or \
                        self._backoff.get(a.container_id, (0, 0.0))[1] > retry_at:
                    continue
                actions.append(a)
                skip.add(a.container_id)  # one action per container per pass
            self._busy.update(a.container_id for a in actions)
            for stale in [c for c in self._backoff if c not in planned and c not in skip]:
                del self._backoff[stale]  # nothing to retry any more
        for due in (wake_at, self._next_retry(now)):
            if due is not None and (decided.wake_at is None or due < decided.wake_at):
                decided.wake_at = due
        result = PassResult(actions, wake_at=decided.wake_at, silent_hosts=silent,
                            position=written)
        by_id = {w.id: w for w in wants}
        futures = []
        for action in actions:
            future = self._pool.submit(self._apply, action, by_id.get(action.container_id))
            future.add_done_callback(functools.partial(self._done, action.container_id))
            futures.append(future)
        with self._lock:
            skip = self._busy | (busy or set())
            chosen = []
            for va in volume_actions:
                if va.volume_id not in skip and \
                        self._backoff.get(va.volume_id, (0, 0.0))[1] <= retry_at:
                    chosen.append(va)
                    skip.add(va.volume_id)  # one action per volume per pass
            volume_actions = chosen
            self._busy.update(a.volume_id for a in volume_actions)
        for volume_action in volume_actions:
            future = self._pool.submit(self._apply_volume, volume_action)
            future.add_done_callback(functools.partial(self._done, volume_action.volume_id))
            futures.append(future)
        result.volume_actions = volume_actions
        if wait:
            for future in futures:
                ok, position = future.result()
                result.failed += 0 if ok else 1
                result.position = max(result.position, position)
        return result

    def _done(self, container_id: str, future: Future[tuple[bool, int]]) -> None:
        try:
            ok, position = future.result()
        except Exception:  # (the action's own handler failed): free it, retry it later
            log.exception("action on %s failed", container_id)
            ok, position = False, 0
        with self._lock:
            self._busy.discard(container_id)
            self._written = max(self._written, position)
            if ok:
                self._backoff.pop(container_id, None)
            else:  # try again later, and later still if it keeps failing
                failures = self._backoff.get(container_id, (0, 0.0))[0] + 1
                self._backoff[container_id] = (
                    failures, self.monotonic() + min(2.0 ** failures, RETRY_MAX))
        self.nudge()

    def _next_retry(self, now: datetime) -> datetime | None:
        """When the next backed-off action may run again (only retries still ahead: one
        whose time has passed waits for a pass that plans it, not for a wake)."""
        clock = self.monotonic()
        with self._lock:
            ahead = [at for _, at in self._backoff.values() if at > clock]
        if not ahead:
            return None
        return now + timedelta(seconds=min(ahead) - clock)

    def _hosts(self) -> tuple[list[HostRoom], dict[str, str]]:
        rows = self.view.query(HOSTS_SQL)
        rooms = [HostRoom(id=r["id"], name=r["name"], pool=r["pool"], state=r["state"],
                          cpu_millis=r["cpu_millis"], memory_mib=r["memory_mib"],
                          overcommit=Decimal(r["overcommit"]),
                          reserved_cpu_millis=r["reserved_cpu_millis"],
                          reserved_memory_mib=r["reserved_memory_mib"]) for r in rows]
        endpoints = {r["id"]: r["endpoint"] for r in rows if r["state"] != "removed"}
        return rooms, endpoints

    def _observe(self, endpoints: dict[str, str]) -> tuple[dict[str, list[Observed]], list[str]]:
        """Every answering engine's Wharf objects, listed in parallel."""
        def listing(host_id: str) -> list[Observed] | None:
            try:
                return self._engine(host_id, endpoints[host_id]).containers()
            except EngineError as error:
                log.warning("host %s: %s", host_id, error)
                return None

        observed, silent = {}, []
        for host_id, objects in zip(endpoints, self._listers.map(listing, endpoints),
                                    strict=True):
            if objects is None:
                silent.append(host_id)
            else:
                observed[host_id] = objects
        return observed, silent

    def _engine(self, host_id: str, endpoint: str) -> Engine:
        engine = self.engines.get(host_id)
        if engine is None or engine.endpoint != endpoint:
            if engine is not None:
                engine.close()  # (ends its event stream, and so its watcher)
            engine = self.engines[host_id] = self.engine_for(endpoint)
            threading.Thread(target=self._watch, args=(host_id, engine), daemon=True,
                             name=f"wharf-events-{host_id[:8]}").start()
        return engine

    def _watch(self, host_id: str, engine: Engine) -> None:
        """Wakes the loop on every event the engine reports for Wharf's containers (a
        die, an OOM kill, a removal behind our back). The pass itself reads the state, so
        a lost or repeated event costs nothing but a pass."""
        while not self._stop.is_set() and self.engines.get(host_id) is engine:
            try:
                for _ in engine.events():
                    with self._lock:
                        self._settle_at = time.monotonic() + EVENT_SETTLE
                    self.nudge()
                    if self._stop.is_set():
                        return
            except Exception as error:  # the engine went away: try again shortly
                log.debug("events of %s: %s", engine.endpoint, error)
            self._stop.wait(1.0)

    def _observe_volumes(self, observed: dict[str, list[Observed]]) -> dict[str, list[str]]:
        """Each answering host's volume ids (a host that fails now is left out)."""
        def listing(host_id: str) -> list[str] | None:
            try:
                return self.engines[host_id].volumes()
            except EngineError as error:
                log.warning("host %s: %s", host_id, error)
                return None

        hosts = list(observed)
        return {h: v for h, v in zip(hosts, self._listers.map(listing, hosts), strict=True)
                if v is not None}

    def _volumes_by_name(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(v["tenant_id"], v["name"]): v for v in self.view.query(
            "SELECT id, tenant_id, name, state, host_id FROM rm_volumes "
            "WHERE state != 'deleted'")}

    def _host_health(
        self, hosts: list[HostRoom], observed: dict[str, list[Observed]], silent: list[str],
        now: datetime,
    ) -> tuple[int, list[HostRoom], datetime | None]:
        """Marks hosts silent past the grace period lost, and lost hosts that answer
        again recovered. Returns the position written, the hosts as they now are, and
        when the next silent host's grace period ends."""
        position, wake_at, states = 0, None, {}
        for host in hosts:
            if host.id in observed:
                self._silent_since.pop(host.id, None)
                if host.state == "lost":
                    outcome = self.app.handle(self._cmd(m.MarkHostRecovered, host_id=UUID(host.id)))
                    position = max(position, outcome.position)
                    log.warning("host %s answers again", host.name)
                    states[host.id] = "active"  # its own state is back on the next pass
            elif host.id in silent:
                since = self._silent_since.setdefault(host.id, now)
                if host.state in ("active", "draining"):
                    if now - since >= self.host_grace:
                        outcome = self.app.handle(self._cmd(
                            m.MarkHostLost, host_id=UUID(host.id),
                            silent_since=since.isoformat()))
                        position = max(position, outcome.position)
                        log.warning("host %s lost: silent since %s", host.name, since)
                        states[host.id] = "lost"
                    else:
                        due = since + self.host_grace
                        wake_at = due if wake_at is None else min(wake_at, due)
        hosts = [replace(h, state=states[h.id]) if h.id in states else h for h in hosts]
        return position, hosts, wake_at

    def _wants(self, volumes: dict[tuple[str, str], dict[str, Any]]) -> list[Want]:
        wants = []
        for r in self.view.query(WANTS_SQL):
            volume_host = waiting = None
            host_ports: tuple[int, ...] = ()
            policy = "no"
            # The spec is parsed only where it matters: it mounts volumes, asks for ports
            # (as_json writes empty lists so), or its restart policy may apply.
            if '"volumes":[]' not in r["spec"] or '"ports":[]' not in r["spec"] \
                    or r["observed"] == "exited":
                spec = json.loads(r["spec"])
                volume_host, waiting = _volume_needs(spec, r["tenant_id"], volumes)
                host_ports = tuple(p["host_port"] for p in spec.get("ports", [])
                                   if p.get("host_port") and p.get("publish", True))
                policy = spec.get("restart_policy", "no")
            wants.append(Want(
                id=r["id"], tenant_id=r["tenant_id"], tenant=r["tenant"], desired=r["desired"],
                observed=r["observed"], host_id=r["host_id"], cpu_millis=r["cpu_millis"],
                memory_mib=r["memory_mib"], generation=r["generation"],
                run_generation=r["run_generation"], restart_policy=policy,
                exit_code=r["exit_code"], finished_at=r["finished_at"], restarts=r["restarts"],
                unschedulable=json.loads(r["unschedulable"]) if r["unschedulable"] else None,
                volume_host=volume_host, waiting=waiting, host_ports=host_ports,
            ))
        return wants

    def _volume_wants(self) -> list[VolumeWant]:
        due: dict[str, list[str]] = {}
        for b in self.view.query("SELECT id, volume_id FROM rm_volume_backups "
                                 "WHERE state = 'requested' ORDER BY created_at"):
            due.setdefault(b["volume_id"], []).append(b["id"])
        sources = {b["id"]: b["volume_id"] for b in self.view.query(
            "SELECT b.id, b.volume_id FROM rm_volume_backups b JOIN rm_volumes v "
            "ON v.restoring_from = b.id")}
        return [VolumeWant(
            id=v["id"], tenant_id=v["tenant_id"], tenant=v["tenant"], state=v["state"],
            host_id=v["host_id"], backups_due=tuple(due.get(v["id"], ())),
            restore=(sources[v["restoring_from"]], v["restoring_from"])
            if v["restoring_from"] in sources else None,
        ) for v in self.view.query(VOLUMES_SQL)]

    # -- the apply step -------------------------------------------------------------

    def _apply(self, action: Action, want: Want | None) -> tuple[bool, int]:
        written = [0]

        def record(command: m.Command) -> dict[str, Any]:
            outcome = self.app.handle(command)
            written[0] = max(written[0], outcome.position)
            return outcome.data

        try:
            self._carry_out(action, want, record)
        except (EngineError, DomainError) as error:
            log.warning("%s of container %s failed: %s", action.kind, action.container_id,
                        error)
            refused = (isinstance(error, EngineError) and not error.transient) or \
                isinstance(error, NotFound)  # a missing secret or volume
            if refused and want is not None and action.kind in ("place", "create", "start",
                                                                 "restart"):
                try:
                    record(self._cmd(m.RecordFailure, container_id=UUID(want.id),
                                     reason=str(error)))
                except Exception as recording:  # a new term, deleted meanwhile, a busy store
                    log.warning("could not record the failure of %s: %s", want.id, recording)
            return False, written[0]
        except Exception:
            log.exception("%s of container %s failed", action.kind, action.container_id)
            return False, written[0]
        return True, written[0]

    def _carry_out(
        self, action: Action, want: Want | None, record: Callable[[m.Command], Any]
    ) -> None:
        cid = UUID(action.container_id)
        kind = action.kind
        if kind == "remove-stranger":
            assert action.host_id is not None and action.docker_id is not None
            log.info("removing %s on host %s: Wharf does not know it", action.docker_id[:12],
                     action.host_id)
            self.engines[action.host_id].remove_by_docker_id(action.docker_id)
            return
        assert want is not None
        if kind == "unschedulable":
            record(self._cmd(m.MarkUnschedulable, container_id=cid, reasons=action.reasons,
                             summary=list(action.summary)))
            return
        if kind == "record-removed":
            record(self._cmd(m.RecordRemoved, container_id=cid))
            return
        assert action.host_id is not None
        host_id = action.host_id
        if kind == "place":
            # The decision is in the log before Docker hears of it.
            placed = record(self._cmd(m.PlaceContainer, container_id=cid,
                                      host_id=UUID(host_id), move=action.move))
            host_id = placed["host_id"]  # an earlier decision stands
            kind = "create"
        engine = self.engines.get(host_id)
        if engine is None:
            return  # placed (earlier) on a host not listed in this pass: the next pass
        if kind == "create":
            if want.observed in ("running", "paused", "exited"):
                record(self._cmd(m.RecordRemoved, container_id=cid))  # behind our back
            spec = self._run_spec(want)
            for mount in spec.volumes:
                engine.ensure_volume(mount["volume_id"], want.tenant_id)
            engine.create(spec)
            engine.start(want.id)
        elif kind == "start":
            engine.start(want.id)
        elif kind == "restart":
            data = record(self._cmd(m.RestartContainer, container_id=cid,
                                    after_finished_at=action.after))
            if not data.get("due"):
                return
            engine.start(want.id)
        elif kind == "stop":
            engine.stop(want.id, STOP_TIMEOUT)
        elif kind == "unpause":
            engine.unpause(want.id)
        elif kind == "remove":
            if host_id != want.host_id:
                assert action.docker_id is not None
                engine.remove_by_docker_id(action.docker_id)  # a stale copy
                return
            if action.running:  # as the pass saw it: stop first, to record its exit
                engine.stop(want.id, STOP_TIMEOUT)
                self._record_run(want, engine, record)
            engine.remove(want.id)
            record(self._cmd(m.RecordRemoved, container_id=cid))
            return
        self._record_run(want, engine, record)
        if self.collector is not None:
            self.collector.follow(want.id, engine)  # from its first line (or the last kept)

    def _apply_volume(self, action: VolumeAction) -> tuple[bool, int]:
        engine = self.engines[action.host_id]
        vid = UUID(action.volume_id)
        try:
            if action.kind == "remove-volume":
                if engine.remove_volume(action.volume_id):
                    log.info("removed the Docker volume of deleted volume %s", vid)
                return True, 0
            if action.kind == "backup":
                size, digest = engine.backup_volume(
                    action.volume_id, self.archive(action.volume_id, action.backup_id))
                outcome = self.app.handle(self._cmd(
                    m.RecordBackup, volume_id=vid, backup_id=action.backup_id,
                    size_bytes=size, sha256=digest))
                return True, outcome.position
            if action.kind == "restore":
                rows = self.view.query("SELECT tenant_id FROM rm_volumes WHERE id = ?",
                                       (action.volume_id,))
                engine.restore_volume(action.volume_id, rows[0]["tenant_id"],
                                      self.archive(action.source_volume_id, action.backup_id))
                outcome = self.app.handle(self._cmd(
                    m.RecordRestore, volume_id=vid, host_id=UUID(action.host_id)))
                return True, outcome.position
        except (EngineError, DomainError, OSError) as error:
            log.warning("%s of volume %s failed: %s", action.kind, vid, error)
        except Exception:
            log.exception("%s of volume %s failed", action.kind, vid)
        return False, 0

    def archive(self, volume_id: str, backup_id: str) -> Path:
        """Where the archive of one backup lives (under WHARF_HOME)."""
        return self.backups / volume_id / f"{backup_id}.tar"

    def _record_run(self, want: Want, engine: Engine, record: Callable[[m.Command], Any]) -> None:
        current = engine.inspect(want.id)
        cid = UUID(want.id)
        if current is None:
            record(self._cmd(m.RecordRemoved, container_id=cid))
            return
        record(self._cmd(m.RecordRun, container_id=cid, generation=want.generation,
                           started_at=current.started_at, finished_at=current.finished_at,
                           running=current.running, exit_code=current.exit_code,
                           oom_killed=current.oom_killed, ports=current.ports,
                           paused=current.paused))

    def _run_spec(self, want: Want) -> RunSpec:
        rows = self.view.query("SELECT spec, name FROM rm_containers WHERE id = ?",
                               (want.id,))
        spec = json.loads(rows[0]["spec"])
        tenant_id = UUID(want.tenant_id)
        env = dict(spec["env"])
        for ref in spec["secrets"]:
            env[ref["env"]] = self.app.reveal_secret(tenant_id, ref["name"])
        volumes = []
        for mount in spec["volumes"]:
            found = self.view.query(
                "SELECT id FROM rm_volumes WHERE tenant_id = ? AND name = ? AND state = 'active'",
                (want.tenant_id, mount["volume"]))
            if not found:
                raise EngineError(f"volume {mount['volume']} does not exist", transient=False)
            volumes.append({**mount, "volume_id": found[0]["id"]})
        return RunSpec(container_id=want.id, tenant_id=want.tenant_id,
                       generation=want.generation, image=spec["image"],
                       command=spec["command"], entrypoint=spec["entrypoint"], env=env,
                       ports=spec["ports"], cpu_millis=want.cpu_millis,
                       memory_mib=want.memory_mib, volumes=volumes, alias=rows[0]["name"])

    def _cmd(self, kind: type[C], **fields: Any) -> C:
        """A command of this scheduler: its actor, and its term (fencing)."""
        assert self.term is not None, "a pass takes the leadership before it acts"
        return kind(actor=self.actor, term=self.term, **fields)

    def lead(self) -> int:
        """Takes the next term of leadership: from now on, an older leader's writes are
        refused by the log."""
        outcome = self.app.handle(m.TakeLeadership(actor=self.actor, holder=self.holder))
        self.term = int(outcome.data["term"])
        log.info("scheduler %s leads in term %s", self.holder, self.term)
        return self.term

    # -- the loop -------------------------------------------------------------------

    def nudge(self, *_: Any) -> None:
        """Wakes the loop early: the read side moved, or an engine reported something."""
        self._wake.set()

    def run_forever(self, interval: float = 5.0) -> None:
        """Passes until stopped: at once after a pass that acted (to take the next step),
        when woken, when a restart falls due, and every `interval` seconds regardless."""
        # First, a read side that holds every decision made before this scheduler began
        # (a predecessor's among them): the first pass must not act on less.
        self._wait_for_head()
        self.lead()
        passed = 0.0
        while not self._stop.is_set():
            self._wake.clear()
            started = time.monotonic()
            try:
                with self._lock:
                    written, busy = self._written, set(self._busy)
                self.wait_for(written)  # a pass must see what earlier actions recorded
                result = self.run_pass(wait=False, busy=busy)
                passed = time.monotonic()
                if result.position:
                    self.wait_for(result.position)
            except TimeoutError:
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
            with self._lock:
                if self._settle_at is not None and self._settle_at <= started:
                    self._settle_at = None  # this pass began after the engines settled
                settle = self._settle_at
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

    def _wait_for_head(self) -> None:
        while not self._stop.is_set():
            try:
                self.wait_for(self.app.recorder.max_notification_id() or 0)
                return
            except TimeoutError:
                log.warning("waiting for the read side to catch up with the log")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        self.stop()
        self._pool.shutdown(wait=True)
        self._listers.shutdown(wait=True)
        for engine in self.engines.values():
            engine.close()


def _volume_needs(
    spec: dict[str, Any], tenant_id: str, volumes: dict[tuple[str, str], dict[str, Any]]
) -> tuple[str | None, str | None]:
    """Where a container's volumes bind it, and why it must wait (if it must)."""
    host = None
    for mount in spec.get("volumes", []):
        volume = volumes.get((tenant_id, mount["volume"]))
        if volume is None:
            return None, f"volume {mount['volume']} does not exist"
        if volume["state"] == "restoring":
            return None, f"volume {mount['volume']} is being restored"
        if volume["host_id"] is not None:
            if host is not None and volume["host_id"] != host:
                return None, "its volumes live on different hosts"
            host = volume["host_id"]
    return host, None
