"""The engines of the hosts Wharf knows: one client per host (made again when its endpoint
changes), a watcher per engine whose events wake the scheduler, and listings asked of
every engine at once, on threads of their own (a pass must not wait behind slow actions:
a stop can take its whole grace period)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from wharf.schedulers.ports import Engine, EngineError, Observed

log = logging.getLogger(__name__)
T = TypeVar("T")

# Docker reports a container's `die` some 70 ms before its listing shows it exited (and
# likewise for other changes): a pass woken by the event alone saw it still running and
# learned of the exit only from the next periodic pass. So an event wakes the loop at once
# and once more this long after the last event.
EVENT_SETTLE = 0.3
LIST_DEADLINE = 10.0  # seconds a host's listing may take before it counts as silent
LISTERS = 32


class Fleet:
    def __init__(self, engine_for: Callable[[str, str], Engine], wake: Callable[[], None],
                 stopped: threading.Event) -> None:
        self.engine_for = engine_for
        self.wake = wake
        self.stopped = stopped
        self.engines: dict[str, Engine] = {}  # host id -> engine
        # (Threads enough for every host's listing at once, so that a host that holds
        # its listing holds one thread, not everyone's turn.)
        self._listers = ThreadPoolExecutor(LISTERS, thread_name_prefix="wharf-list")
        self._asking: dict[str, Future[object]] = {}  # host id -> its listing in flight
        self._lock = threading.Lock()
        self._settle_at: float | None = None  # a pass due after the engines' last event

    def engine(self, host_id: str, endpoint: str) -> Engine:
        engine = self.engines.get(host_id)
        if engine is None or engine.endpoint != endpoint:
            if engine is not None:
                engine.close()  # (ends its event stream, and so its watcher)
            engine = self.engines[host_id] = self.engine_for(host_id, endpoint)
            threading.Thread(target=self._watch, args=(host_id, engine), daemon=True,
                             name=f"wharf-events-{host_id[:8]}").start()
        return engine

    def containers(self, endpoints: dict[str, str]
                   ) -> tuple[dict[str, list[Observed]], list[str]]:
        """Every answering engine's Wharf containers, and the hosts that did not answer."""
        def listing(host_id: str) -> list[Observed] | None:
            return self.engine(host_id, endpoints[host_id]).containers()

        return self._ask(list(endpoints), listing)

    def volumes(self, host_ids: list[str]) -> dict[str, list[str]]:
        """Each answering host's volume ids (a host that fails now is left out)."""
        def listing(host_id: str) -> list[str] | None:
            return self.engines[host_id].volumes()

        found, _ = self._ask(host_ids, listing)
        return found

    def _ask(self, host_ids: list[str], ask: Callable[[str], T | None]
             ) -> tuple[dict[str, T], list[str]]:
        """Each host's answer, or the host among the silent ones: it failed, it has not
        answered within LIST_DEADLINE seconds (an engine answering a byte at a time:
        the SDK's timeout is per read), or its last question is still unanswered."""
        def one(host_id: str) -> T | None:
            try:
                return ask(host_id)
            except EngineError as error:
                log.warning("host %s: %s", host_id, error)
                return None

        asked: dict[str, Future[object]] = {}
        for host_id in host_ids:
            pending = self._asking.get(host_id)
            if pending is not None and not pending.done():
                continue  # (still held by its last question: silent again)
            asked[host_id] = self._asking[host_id] = self._listers.submit(one, host_id)
        wait(list(asked.values()), timeout=LIST_DEADLINE)
        answered: dict[str, T] = {}
        silent = []
        for host_id in host_ids:
            future = asked.get(host_id)
            answer = future.result() if future is not None and future.done() else None
            if answer is None:
                silent.append(host_id)
                if future is not None and not future.done():
                    log.warning("host %s has not answered within %s s", host_id,
                                LIST_DEADLINE)
            else:
                answered[host_id] = answer  # type: ignore[assignment]
        return answered, silent

    def _watch(self, host_id: str, engine: Engine) -> None:
        """Wakes the loop on every event the engine reports for Wharf's containers (a
        die, an OOM kill, a removal behind our back). The pass itself reads the state, so
        a lost or repeated event costs nothing but a pass."""
        while not self.stopped.is_set() and self.engines.get(host_id) is engine:
            try:
                for _ in engine.events():
                    with self._lock:
                        self._settle_at = time.monotonic() + EVENT_SETTLE
                    self.wake()
                    if self.stopped.is_set():
                        return
            except Exception as error:  # the engine went away: try again shortly
                log.debug("events of %s: %s", engine.endpoint, error)
            self.stopped.wait(1.0)

    def settle_due(self, pass_began: float) -> float | None:
        """When the pass that follows the engines' last event is due (None: none is): a
        pass that began after it answers it."""
        with self._lock:
            if self._settle_at is not None and self._settle_at <= pass_began:
                self._settle_at = None
            return self._settle_at

    def close(self) -> None:
        # (Not waiting: a listing a host holds would hold the close with it.)
        self._listers.shutdown(wait=False, cancel_futures=True)
        for engine in self.engines.values():
            engine.close()
