"""The read side of one process: every consumer of the log, each with its own position
and its own thread, so that a slow one (the audit trail rebuilding, later a billing
projection or a Kafka relay waiting on its broker) never holds the others back.

A consumer is a Projector over a group of read models (catalog.CONSUMERS). A caller
waits only for the read models it is about to read: a mutation for those it answers from
(the workloads), a query with Wharf-Min-Position for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from eventsourcing.application import Application

from wharf.projections.base import ReadModel
from wharf.projections.catalog import CONSUMERS, EAGER
from wharf.projections.runner import Projector
from wharf.projections.views import ReadModelStore

Models = Collection[str] | None  # read model names; None: every one


class Consumers:
    def __init__(
        self,
        source: Application[Any],
        view: ReadModelStore,
        groups: Mapping[str, Sequence[type[ReadModel]]] = CONSUMERS,
        batch_size: int = 2000,
    ) -> None:
        self.view = view
        self.projectors = {name: Projector(source, view, models, batch_size)
                           for name, models in groups.items()}
        self._holding = {model.name: name for name, models in groups.items()
                         for model in models}
        # Called with the consumer's name after each batch it commits.
        self.listeners: list[Callable[[str], None]] = []
        for name, projector in self.projectors.items():
            projector.listeners.append(self._committed(name))
        self._threads: list[threading.Thread] = []

    def _committed(self, name: str) -> Callable[[int], None]:
        def tell(_: int) -> None:
            for listener in self.listeners:
                listener(name)
        return tell

    def _of(self, models: Models) -> list[Projector]:
        if models is None:
            return list(self.projectors.values())
        return [self.projectors[name] for name in {self._holding[m] for m in models}]

    @property
    def batch_size(self) -> int:
        return min(p.batch_size for p in self.projectors.values())

    @batch_size.setter
    def batch_size(self, size: int) -> None:
        for projector in self.projectors.values():
            projector.batch_size = size

    @property
    def position(self) -> int:
        """The position every read model has reached."""
        return self.position_of(None)

    def position_of(self, models: Models) -> int:
        """The position all of `models` have reached."""
        return min(p.position for p in self._of(models))

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Projects every consumer until nothing is left; how many events were applied.
        The log is read and decoded once for all of them, from the least position (a
        consumer folds only what is past its own): decoding is most of catch-up's work,
        and each consumer reading for itself took a fifth longer. `progress` hears the
        slowest consumer's position."""
        projectors = list(self.projectors.values())
        reader = projectors[0]
        reader.batch_size = self.batch_size
        total = 0
        while events := reader.read(self.position):
            for projector in projectors:
                total += projector.fold(events)
            if progress is not None:
                progress(self.position)
        return total

    def run_forever(self, poll_interval: float = 0.25) -> None:
        """Runs each consumer in a thread of its own until `stop`."""
        self._threads = [threading.Thread(target=projector.run_forever,
                                          args=(poll_interval,), name=f"projector-{name}",
                                          daemon=True)
                         for name, projector in self.projectors.items()]
        for thread in self._threads:
            thread.start()
        for thread in self._threads:
            thread.join()

    def nudge(self, position: int | None = None) -> None:
        """After a save: wakes the eager consumers (catalog.EAGER); the others poll, so
        that under a stream of small writes they fold many events per transaction."""
        for name in EAGER:
            if name in self.projectors:
                self.projectors[name].nudge(position)

    def stop(self) -> None:
        for projector in self.projectors.values():
            projector.stop()

    def wait(self, position: int, timeout: float = 10.0, models: Models = None) -> None:
        """Blocks until `models` (default: all) have reached `position`."""
        deadline = time.monotonic() + timeout
        for projector in self._of(models):
            if projector.position < position:
                projector.nudge()
            projector.wait(position, max(0.0, deadline - time.monotonic()))

    async def reached(self, position: int, models: Models = None) -> None:
        """Waits, holding no thread, until `models` (default: all) reach `position`."""
        for projector in self._of(models):
            if projector.position < position:
                projector.nudge()
            await projector.reached(position)

    def watch_tenant(self, tenant_id: str) -> asyncio.Future[None]:
        """A future resolved when any consumer commits a batch that changes the tenant's
        rows (see Projector.watch_tenant); `unwatch_tenant` when done."""
        loop = asyncio.get_running_loop()
        news: asyncio.Future[None] = loop.create_future()
        for projector in self.projectors.values():
            projector.watch_tenant(tenant_id, news)
        return news

    def unwatch_tenant(self, tenant_id: str, future: asyncio.Future[None]) -> None:
        for projector in self.projectors.values():
            with contextlib.suppress(KeyError):
                projector.unwatch_tenant(tenant_id, future)


def read_side_position(view: ReadModelStore, models: Models = None) -> int:
    """The position `models` (default: all) have reached in `view`, which another
    process's consumers write."""
    names = models if models is not None else [
        model.name for group in CONSUMERS.values() for model in group]
    return min(view.position(name) for name in names)


def wait_for_position(view: ReadModelStore, position: int, timeout: float = 10.0,
                      models: Models = None) -> None:
    """Blocks until another process's read side reaches `position`, polling."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while read_side_position(view, models) < position:
        if time.monotonic() > deadline:
            raise TimeoutError(f"read side did not reach {position} in {timeout}s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
