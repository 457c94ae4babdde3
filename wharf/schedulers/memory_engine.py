"""An engine held in memory: the `Engine` port (ports.py) without Docker, for unit tests
of the scheduler's loop and for simulations. It keeps containers and volumes as the real
engine reports them, and a test can make it misbehave the ways a real one does:

- `refuse(kind, ...)`: the next calls of one kind (create, start, ...) fail;
- `stall(kind)` / `release()`: calls (of one kind, or all) wait until released (an
  engine frozen, or one slow call);
- `vanish()` / `come_back()`: it stops answering at all (a lost host), and returns;
- `lose(id)`, `kill(id, ...)`, `pause(id)`, `add_stranger(...)`: drift behind Wharf's
  back, each reported on its event stream as Docker would.

Every call is counted by kind (`calls`), so a test can say that a quiet pass made no
mutating call. Times come from the clock it is given, as Docker's come from its own.

One module of about 330 lines on purpose: it mirrors the port method by method, and
its fault switches act on the same state those methods read.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wharf.schedulers.ports import Capacity, EngineError, Observed, RunSpec

MUTATING = frozenset({"create", "start", "stop", "unpause", "remove", "remove_by_docker_id",
                      "release_network", "ensure_volume", "remove_volume", "restore_volume"})


@dataclass
class _Container:
    observed: Observed
    spec: RunSpec | None
    lines: list[str] = field(default_factory=list)


class MemoryEngine:
    def __init__(self, endpoint: str = "memory://one", capacity: Capacity | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.endpoint = endpoint
        self._capacity = capacity or Capacity(cpu_millis=4000, memory_mib=8192)
        self.now = now
        self.containers_by_id: dict[str, _Container] = {}  # by Wharf's container id
        self.volume_ids: set[str] = set()
        self.networks: set[str] = set()  # the tenants (and applications) with a network here
        self.calls: Counter[str] = Counter()
        self.pulled: list[str] = []  # the images pulled, in order
        self._refusals: dict[str, list[EngineError]] = {}
        self._answering = threading.Event()
        self._answering.set()
        self._flowing = threading.Event()  # cleared while stalled
        self._flowing.set()
        self._stalled: str | None = None  # the kind of call stalled (None: all)
        self._lock = threading.RLock()
        self._events: list[dict[str, Any]] = []
        self._event_added = threading.Condition(self._lock)
        self._closed = False
        self._ids = itertools.count(1)
        self._stamps = itertools.count(1)

    # -- faults --------------------------------------------------------------------

    def refuse(self, kind: str, message: str = "refused", transient: bool = True,
               times: int = 1) -> None:
        """The next `times` calls of `kind` fail with EngineError(message, transient)."""
        with self._lock:
            self._refusals.setdefault(kind, []).extend(
                EngineError(message, transient=transient) for _ in range(times))

    def stall(self, kind: str | None = None) -> None:
        self._stalled = kind
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def vanish(self) -> None:
        self._answering.clear()
        with self._event_added:
            self._event_added.notify_all()  # (ends the event streams)

    def come_back(self) -> None:
        self._answering.set()

    def lose(self, container_id: str) -> None:
        """Removed behind Wharf's back (`docker rm -f`)."""
        with self._lock:
            gone = self.containers_by_id.pop(container_id, None)
            if gone is not None:
                self._emit("destroy", container_id)

    def kill(self, container_id: str, exit_code: int = 137, oom: bool = False) -> None:
        """Its process ends (an exit, a crash, the OOM killer)."""
        with self._lock:
            held = self.containers_by_id[container_id]
            held.observed = replace(held.observed, state="exited", exit_code=exit_code,
                                    oom_killed=oom, finished_at=self._stamp())
            if oom:
                self._emit("oom", container_id)
            self._emit("die", container_id)

    def pause(self, container_id: str) -> None:
        with self._lock:
            held = self.containers_by_id[container_id]
            held.observed = replace(held.observed, state="paused")
            self._emit("pause", container_id)

    def add_stranger(self, container_id: str) -> None:
        """A container with Wharf's labels that this Wharf does not know."""
        with self._lock:
            self.containers_by_id[container_id] = _Container(
                Observed(container_id=container_id, docker_id=self._docker_id(),
                         state="running", started_at=self._stamp()), None)
            self._emit("start", container_id)

    def print(self, container_id: str, *texts: str) -> None:
        with self._lock:
            self.containers_by_id[container_id].lines += [f"{self._stamp()} {t}"
                                                          for t in texts]

    # -- the port ------------------------------------------------------------------

    def _call(self, kind: str) -> None:
        if self._stalled is None or self._stalled == kind:
            self._flowing.wait()
        with self._lock:
            self.calls[kind] += 1
            if not self._answering.is_set():
                raise EngineError(f"{self.endpoint} does not answer")
            waiting = self._refusals.get(kind)
            if waiting:
                raise waiting.pop(0)

    def capacity(self) -> Capacity:
        self._call("capacity")
        return self._capacity

    def ping(self) -> bool:
        try:
            self._call("ping")
        except EngineError:
            return False
        return True

    def containers(self) -> list[Observed]:
        self._call("containers")
        with self._lock:
            return [held.observed for held in self.containers_by_id.values()]

    def inspect(self, container_id: str) -> Observed | None:
        self._call("inspect")
        with self._lock:
            held = self.containers_by_id.get(container_id)
            return None if held is None else held.observed

    def pull(self, image: str, registry_token: str,
             progress: Callable[[int, int], None]) -> None:
        """Pulls are instant here: the images it runs are whatever a spec names."""
        self._call("pull")
        self.pulled.append(image)

    def create(self, spec: RunSpec) -> str:
        self._call("create")
        with self._lock:
            held = self.containers_by_id.get(spec.container_id)
            if held is not None:  # adopts the one a crashed attempt made
                return held.observed.docker_id
            for mount in spec.volumes:
                if mount.volume_id not in self.volume_ids:
                    raise EngineError(f"no volume {mount.volume_id}")
            observed = Observed(container_id=spec.container_id, docker_id=self._docker_id(),
                                state="created")
            self.containers_by_id[spec.container_id] = _Container(observed, spec)
            self.networks.add(spec.network or spec.tenant_id)
            self._emit("create", spec.container_id)
            return observed.docker_id

    def start(self, container_id: str) -> None:
        self._call("start")
        with self._lock:
            held = self._held(container_id)
            if held.observed.state in ("running", "paused"):
                return
            ports = {p.key: 30000 + p.container_port
                     for p in (held.spec.ports if held.spec else ()) if p.publish}
            held.observed = replace(held.observed, state="running", started_at=self._stamp(),
                                    finished_at="", exit_code=0, oom_killed=False,
                                    ports=ports)
            self._emit("start", container_id)

    def stop(self, container_id: str, timeout: int = 10) -> None:
        self._call("stop")
        with self._lock:
            held = self.containers_by_id.get(container_id)
            if held is None or held.observed.state not in ("running", "paused"):
                return
            held.observed = replace(held.observed, state="exited", exit_code=143,
                                    finished_at=self._stamp())
            self._emit("die", container_id)

    def unpause(self, container_id: str) -> None:
        self._call("unpause")
        with self._lock:
            held = self.containers_by_id.get(container_id)
            if held is not None and held.observed.state == "paused":
                held.observed = replace(held.observed, state="running")
                self._emit("unpause", container_id)

    def remove(self, container_id: str) -> None:
        self._call("remove")
        with self._lock:
            if self.containers_by_id.pop(container_id, None) is not None:
                self._emit("destroy", container_id)

    def remove_by_docker_id(self, docker_id: str) -> None:
        self._call("remove_by_docker_id")
        with self._lock:
            for container_id, held in list(self.containers_by_id.items()):
                if held.observed.docker_id == docker_id:
                    del self.containers_by_id[container_id]
                    self._emit("destroy", container_id)

    def release_network(self, tenant_id: str) -> bool:
        self._call("release_network")
        with self._lock:
            if any(held.spec is not None
                   and tenant_id in (held.spec.tenant_id, held.spec.network)
                   for held in self.containers_by_id.values()):
                return False
            had = tenant_id in self.networks
            self.networks.discard(tenant_id)
            return had

    def events(self) -> Iterator[dict[str, Any]]:
        """What happens from now on, until the engine vanishes or is closed."""
        self._call("events")
        with self._lock:
            seen = len(self._events)
        while True:
            with self._event_added:
                while (seen == len(self._events) and not self._closed
                       and self._answering.is_set()):
                    self._event_added.wait(1.0)
                if self._closed or not self._answering.is_set():
                    return
                fresh, seen = self._events[seen:], len(self._events)
            yield from fresh

    def tail_logs(self, container_id: str, count: int | None) -> Iterator[str]:
        self._call("tail_logs")
        with self._lock:
            lines = self._held(container_id).lines
            return iter(list(lines if count is None else lines[-count:]))

    def watch_logs(self, container_id: str, from_start: bool = False
                   ) -> Generator[None, None, None]:
        self._call("watch_logs")
        with self._lock:
            seen = 0 if from_start else len(self._held(container_id).lines)
        while True:
            with self._event_added:
                held = self.containers_by_id.get(container_id)
                if held is None or held.observed.state != "running" or self._closed:
                    return
                if len(held.lines) == seen:
                    self._event_added.wait(0.5)
                    continue
                seen = len(held.lines)
            yield None

    def ensure_volume(self, volume_id: str, tenant_id: str) -> None:
        self._call("ensure_volume")
        with self._lock:
            self.volume_ids.add(volume_id)

    def volumes(self) -> list[str]:
        self._call("volumes")
        with self._lock:
            return sorted(self.volume_ids)

    def remove_volume(self, volume_id: str) -> bool:
        self._call("remove_volume")
        with self._lock:
            in_use = any(volume_id in {m.volume_id for m in held.spec.volumes}
                         for held in self.containers_by_id.values() if held.spec)
            if in_use or volume_id not in self.volume_ids:
                return False
            self.volume_ids.discard(volume_id)
            return True

    def backup_volume(self, volume_id: str, archive: Path) -> tuple[int, str]:
        self._call("backup_volume")
        archive.parent.mkdir(parents=True, exist_ok=True)
        archive.write_bytes(volume_id.encode())
        return len(volume_id), "0" * 64

    def restore_volume(self, volume_id: str, tenant_id: str, archive: Path) -> None:
        self._call("restore_volume")
        with self._lock:
            self.volume_ids.add(volume_id)

    def close(self) -> None:
        with self._event_added:
            self._closed = True
            self._event_added.notify_all()

    # -- what a test reads ---------------------------------------------------------

    def state(self, container_id: str) -> str | None:
        with self._lock:
            held = self.containers_by_id.get(container_id)
            return None if held is None else held.observed.state

    def mutating_calls(self) -> int:
        with self._lock:
            return sum(n for kind, n in self.calls.items() if kind in MUTATING)

    # -- inside --------------------------------------------------------------------

    def _held(self, container_id: str) -> _Container:
        held = self.containers_by_id.get(container_id)
        if held is None:
            raise EngineError(f"no container {container_id}", transient=False)
        return held

    def _emit(self, status: str, container_id: str) -> None:
        self._events.append({"status": status, "container": container_id})
        self._event_added.notify_all()

    def _stamp(self) -> str:
        """Docker's nanosecond times; the last digits count, so that two runs within one
        microsecond of a clock a test holds still are still two runs."""
        moment = self.now().astimezone(UTC)
        return f"{moment:%Y-%m-%dT%H:%M:%S.%f}{next(self._stamps) % 1000:03d}Z"

    def _docker_id(self) -> str:
        return f"{next(self._ids):064x}"
