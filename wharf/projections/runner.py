"""The projector: reads the log in batches and feeds every read model.

eventsourcing's ProjectionRunner needs a recorder with subscriptions (PostgreSQL has them,
SQLite 9.5.x does not) and commits one event at a time. This runner polls
`select_notifications`, works on both stores, and feeds a whole batch to the same
Projection classes before one commit, which is what makes catch-up fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking

from wharf.projections.base import ReadModel
from wharf.projections.catalog import READ_MODELS
from wharf.projections.views import Advance, Grouped, ReadModelStore

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    statements: Grouped
    advances: list[Advance]
    last: int
    read: int


class Projector:
    def __init__(
        self,
        source: Application[Any],
        view: ReadModelStore,
        models: Sequence[type[ReadModel]] = READ_MODELS,
        batch_size: int = 2000,
    ) -> None:
        self.source = source
        self.view = view
        self.projections = [model(view) for model in models]
        self.batch_size = batch_size
        self._positions = {p.name: view.position(p.name) for p in self.projections}
        self._changed = threading.Condition()
        # Waiters on event loops (API requests): (position, loop, future).
        self._async_waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        # Waiters for news of one tenant (its events subscribers): by tenant id.
        self._tenant_waiters: dict[str, list[tuple[asyncio.AbstractEventLoop,
                                                   asyncio.Future[None]]]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._handlers: dict[str, dict[type, Callable[..., None] | None]] = {}
        # Called with the new position after each committed batch (the scheduler's wake).
        self.listeners: list[Callable[[int], None]] = []

    @property
    def position(self) -> int:
        """The position every read model has reached."""
        return min(self._positions.values())

    def run_once(self, until: int | None = None, until_time: datetime | None = None) -> int:
        """Projects one batch. Returns how many events it applied (0 when caught up or when
        another projector applied them first)."""
        batch = self._prepare(self.position, until, until_time)
        if batch is None:
            return 0
        return batch.read if self._apply(batch) else 0

    def catch_up(
        self,
        until: int | None = None,
        until_time: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Projects until nothing is left (or `until`). Returns how many events it applied."""
        total = 0
        while (batch := self._prepare(self.position, until, until_time)) is not None:
            if self._apply(batch):
                total += batch.read
            if progress is not None:
                progress(self.position)
        return total

    def _prepare(
        self, start: int, until: int | None, until_time: datetime | None
    ) -> _Batch | None:
        """Reads and decodes the events after `start` and lets every read model stage its
        rows for them. Writes nothing; on any error, stages nothing either."""
        try:
            return self._stage(start, until, until_time)
        except BaseException:
            self.view.discard()
            for projection in self.projections:
                projection.discard()
            raise

    def _stage(self, start: int, until: int | None, until_time: datetime | None) -> _Batch | None:
        return self._fold(self.read(start, until, until_time))

    def read(self, start: int, until: int | None = None,
             until_time: datetime | None = None) -> list[tuple[Any, Tracking]]:
        """The next batch of decoded events after `start` (none at `until`)."""
        if until is not None and start >= until:
            return []
        notifications = self.source.recorder.select_notifications(
            start, self.batch_size, stop=until, inclusive_of_start=False
        )
        mapper = self.source.mapper
        events: list[tuple[Any, Tracking]] = []
        for notification in notifications:
            event: Any = mapper.to_domain_event(notification)
            if until_time is not None and event.timestamp > until_time:
                break
            events.append((event, Tracking(self.source.name, notification.id)))
        return events

    def fold(self, events: list[tuple[Any, Tracking]]) -> int:
        """Applies events another projector read (`read`), those past each read model's
        position: consumers catching up together decode the log once. How many it
        applied (0: none new, or another projector moved first)."""
        try:
            batch = self._fold(events)
        except BaseException:
            self.view.discard()
            for projection in self.projections:
                projection.discard()
            raise
        if batch is None or not batch.advances:
            return 0
        return batch.read if self._apply(batch) else 0

    def _fold(self, events: list[tuple[Any, Tracking]]) -> _Batch | None:
        if not events:
            return None
        last = events[-1][1].notification_id
        advances: list[Advance] = []
        # Read model by read model: each writes only its own tables, so this order is as
        # good as the log's, and it puts runs of the same statement together.
        for projection in self.projections:
            done = self._positions[projection.name]
            if done >= last:
                continue
            handlers = self._handlers.setdefault(projection.name, {})
            for event, tracking in events:
                cls = type(event)
                handler = handlers[cls] if cls in handlers else self._handler(projection, cls)
                if handler is not None and tracking.notification_id > done:
                    handler(projection, event, tracking)
            projection.end_batch()
            advances.append((projection.name, done, last))
        return _Batch(self.view.take(), advances, last, len(events))

    def _apply(self, batch: _Batch) -> bool:
        """Commits a prepared batch. False when another projector moved first (nothing of
        the batch is then written: each tracking record only moves from where we read it)."""
        try:
            self.view.write(batch.statements, batch.advances)
        except IntegrityError:
            before = dict(self._positions)
            self._positions = {p.name: self.view.position(p.name) for p in self.projections}
            if self._positions == before:
                raise  # nobody else moved: a genuine integrity error in a read model
            log.warning("another projector is running; continuing from its positions")
            for projection in self.projections:
                projection.discard()  # what it kept of the batch (the audit chain's heads)
            return False
        for name, _, last in batch.advances:
            self._positions[name] = max(self._positions[name], last)
        with self._changed:
            self._changed.notify_all()
        self._wake_async()
        self._wake_tenants(set().union(*(p.changed_tenants() for p in self.projections)))
        for listener in self.listeners:
            listener(self.position)
        return True

    def _handler(self, projection: ReadModel, event_class: type) -> Callable[..., None] | None:
        """The function a projection's process_event dispatches `event_class` to.

        functools.singledispatchmethod builds a new bound wrapper on every call, which was
        a fifth of catch-up time; the function for each event class is looked up once.
        None when the projection ignores that class (its tracking still advances).
        """
        method = inspect.getattr_static(type(projection), "process_event")
        dispatcher = getattr(method, "dispatcher", None)  # set on singledispatchmethod
        handler: Callable[..., None] | None = method
        if dispatcher is not None:
            handler = dispatcher.dispatch(event_class)
            if handler is dispatcher.dispatch(object):
                handler = None  # the base implementation: "events this model does not show"
        self._handlers.setdefault(projection.name, {})[event_class] = handler
        return handler

    def nudge(self, position: int | None = None) -> None:
        """Wakes the loop early: called in-process after a save."""
        self._wake.set()

    def run_forever(self, poll_interval: float = 0.25) -> None:
        while not self._stop.is_set():
            try:
                read = self.run_once()
            except Exception:
                log.exception("projector batch failed; retrying")
                self.view.discard()
                self._stop.wait(1.0)
                continue
            if not read:
                self._wake.wait(poll_interval)
                self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wait(self, position: int, timeout: float = 10.0) -> None:
        """Blocks until every read model has reached `position` (in-process, woken)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"read side at {self.position}, waited for {position}")
                self._changed.wait(remaining)


    async def reached(self, position: int) -> None:
        """Waits until every read model has reached `position`, on the caller's event loop
        and without holding a thread (callers bound it with a deadline)."""
        if self.position >= position:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (position, loop, future)
        with self._changed:
            self._async_waiters.append(entry)
        try:
            if self.position < position:  # (it may have moved before we were listed)
                await future
        finally:
            with self._changed, contextlib.suppress(ValueError):
                self._async_waiters.remove(entry)

    def _wake_async(self) -> None:
        position = self.position
        with self._changed:
            ready = [w for w in self._async_waiters if w[0] <= position]
            if not ready:
                return
            self._async_waiters = [w for w in self._async_waiters if w[0] > position]
        for _, loop, future in ready:
            with contextlib.suppress(RuntimeError):  # a loop that closed meanwhile
                loop.call_soon_threadsafe(_resolve, future)


    def watch_tenant(self, tenant_id: str,
                     future: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        """A future (`future`, or a new one) resolved when a batch that changes the
        tenant's rows is committed (on the caller's event loop). Ask before reading, so
        that news committed between the read and the wait is not missed;
        `unwatch_tenant` when done."""
        loop = asyncio.get_running_loop()
        if future is None:
            future = loop.create_future()
        with self._changed:
            self._tenant_waiters.setdefault(tenant_id, []).append((loop, future))
        return future

    def unwatch_tenant(self, tenant_id: str, future: asyncio.Future[None]) -> None:
        with self._changed:
            waiters = self._tenant_waiters.get(tenant_id, [])
            self._tenant_waiters[tenant_id] = [w for w in waiters if w[1] is not future]
            if not self._tenant_waiters[tenant_id]:
                del self._tenant_waiters[tenant_id]

    def _wake_tenants(self, tenants: set[str | None]) -> None:
        if not tenants:
            return
        with self._changed:
            if None in tenants:  # a tenant the batch could not name: wake them all
                tenants = set(self._tenant_waiters)
            ready = [w for t in tenants for w in self._tenant_waiters.pop(t or "", [])]
        for loop, future in ready:
            with contextlib.suppress(RuntimeError):  # a loop that closed meanwhile
                loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
