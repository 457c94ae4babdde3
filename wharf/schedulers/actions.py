"""What the scheduler does, and the one queue every controller's actions go through.

The queue owns the rules every kind of action keeps: one action per key (a container, a
volume) at a time and per pass; a key whose action is still running is left out of
later passes until it is done (pipelining: a pass never waits for a slow stop); an
action that fails is retried later, and later still if it keeps failing (backoff, on
a monotonic clock a test can drive); the newest log position a finished action wrote,
so that the next pass reads a read side that holds it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

log = logging.getLogger(__name__)

RETRY_MAX = 60.0  # seconds between attempts of an action that keeps failing


class ActionKind(StrEnum):
    # containers
    PLACE = "place"
    UNSCHEDULABLE = "unschedulable"
    CREATE = "create"
    START = "start"
    RESTART = "restart"
    RECYCLE = "recycle"  # an unhealthy replica's run, replaced
    STOP = "stop"
    UNPAUSE = "unpause"
    OBSERVE = "observe"
    REMOVE = "remove"
    RECORD_REMOVED = "record-removed"
    REMOVE_STRANGER = "remove-stranger"
    # volumes
    BACKUP = "backup"
    RESTORE = "restore"
    REMOVE_VOLUME = "remove-volume"
    # rollouts
    ROLL = "roll"
    RETIRE = "retire"
    ROLL_BACK = "roll-back"
    FINISH_ROLLOUT = "finish-rollout"
    # routes
    ASSIGN_ENDPOINT = "assign-endpoint"
    APPLY_ROUTES = "apply-routes"


class Keyed(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def kind(self) -> ActionKind: ...


@dataclass
class Submitted:
    """What a pass handed the queue: the actions it took, and their futures."""

    actions: list[Any] = field(default_factory=list)
    futures: list[Future[tuple[bool, int]]] = field(default_factory=list)


class ActionQueue:
    def __init__(self, workers: int, monotonic: Callable[[], float],
                 on_done: Callable[[], None]) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="wharf-apply")
        self.monotonic = monotonic
        self.on_done = on_done
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # keys whose action is running
        self._backoff: dict[str, tuple[int, float]] = {}  # key -> (failures, retry at)
        self._written = 0  # the newest position a finished action wrote

    def state(self) -> tuple[int, set[str]]:
        """The newest position finished actions wrote, and the keys busy now (taken
        together: a pass must wait for the one and leave out the other)."""
        with self._lock:
            return self._written, set(self._busy)

    def submit(self, actions: Iterable[Keyed], carry_out: Callable[[Any], tuple[bool, int]],
               busy: set[str] | None = None, planned: set[str] | None = None) -> Submitted:
        """Starts the actions whose key is neither busy (now, or in `busy`) nor backing
        off, one per key. Keys in `planned` keep their backoff; others forget it."""
        now = self.monotonic()
        taken = Submitted()
        with self._lock:
            skip = self._busy | (busy or set())
            for action in actions:
                if action.key in skip or self._backoff.get(action.key, (0, 0.0))[1] > now:
                    continue
                taken.actions.append(action)
                skip.add(action.key)
            self._busy.update(a.key for a in taken.actions)
            if planned is not None:
                for stale in [k for k in self._backoff if k not in planned and k not in skip]:
                    del self._backoff[stale]  # nothing to retry any more
        for action in taken.actions:
            future = self._pool.submit(carry_out, action)
            future.add_done_callback(functools.partial(self._done, action.key))
            taken.futures.append(future)
        return taken

    def _done(self, key: str, future: Future[tuple[bool, int]]) -> None:
        try:
            ok, position = future.result()
        except Exception:  # (the action's own handler failed): free it, retry it later
            log.exception("action on %s failed", key)
            ok, position = False, 0
        with self._lock:
            self._busy.discard(key)
            self._written = max(self._written, position)
            if ok:
                self._backoff.pop(key, None)
            else:  # try again later, and later still if it keeps failing
                failures = self._backoff.get(key, (0, 0.0))[0] + 1
                self._backoff[key] = (failures,
                                      self.monotonic() + min(2.0 ** failures, RETRY_MAX))
        self.on_done()

    def next_retry_in(self) -> float | None:
        """Seconds until the next backed-off action may run again (only retries still
        ahead: one whose time has passed waits for a pass that plans it)."""
        now = self.monotonic()
        with self._lock:
            ahead = [at for _, at in self._backoff.values() if at > now]
        return min(ahead) - now if ahead else None

    def close(self) -> None:
        self._pool.shutdown(wait=True)
