"""The API's backend (graphql/ports.py) over the real parts: the write side, the read
side as this process sees it, the log files, the metrics store and the engines."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import anyio.to_thread

from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.context import Outcome
from wharf.commands.messages import Command
from wharf.commands.ports import Clock
from wharf.domain.errors import InvalidInput
from wharf.domain.host import ENDPOINT
from wharf.domain.tls import TlsCredentials
from wharf.graphql.ports import Logs, Metrics, Models
from wharf.infra import passwords
from wharf.infra.engine_probe import is_this_machine, probe_slot
from wharf.infra.registry import RegistryClient, RegistryError, RegistryProcess
from wharf.infra.scheduling import engine_capacity
from wharf.projections.consumers import Consumers, read_side_position, wait_for_position
from wharf.projections.reads import Reader
from wharf.projections.views import ReadModelStore
from wharf.schedulers.ports import Capacity


class InProcessReadSide:
    """The read side when its consumers run in this process: waits are woken by them."""

    def __init__(self, consumers: Consumers, view: ReadModelStore) -> None:
        self.consumers = consumers
        self.view = view

    @property
    def reader(self) -> Reader:
        return self.view

    def position(self, models: Models = None) -> int:
        return self.consumers.position_of(models)

    async def reached(self, position: int, models: Models = None) -> None:
        await self.consumers.reached(position, models)

    def wait(self, position: int, timeout: float, models: Models = None) -> None:
        self.consumers.wait(position, timeout, models)

    def watch_tenant(self, tenant_id: str) -> asyncio.Future[None] | None:
        return self.consumers.watch_tenant(tenant_id)

    def unwatch_tenant(self, tenant_id: str, future: asyncio.Future[None]) -> None:
        self.consumers.unwatch_tenant(tenant_id, future)


class PolledReadSide:
    """The read side another process (`wharf projector`) writes: waits poll it."""

    def __init__(self, view: ReadModelStore) -> None:
        self.view = view

    @property
    def reader(self) -> Reader:
        return self.view

    def position(self, models: Models = None) -> int:
        return read_side_position(self.view, models)

    async def reached(self, position: int, models: Models = None) -> None:
        delay = 0.005
        while await anyio.to_thread.run_sync(read_side_position, self.view, models) < position:
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.2)

    def wait(self, position: int, timeout: float, models: Models = None) -> None:
        wait_for_position(self.view, position, timeout, models)

    def watch_tenant(self, tenant_id: str) -> asyncio.Future[None] | None:
        return None

    def unwatch_tenant(self, tenant_id: str, future: asyncio.Future[None]) -> None:
        pass


class WharfBackend:
    def __init__(self, app: Wharf, read_side: InProcessReadSide | PolledReadSide,
                 logs: Logs, metrics: Metrics) -> None:
        self.app = app
        self.clock: Clock = app.clock
        self.apps_domain: str = app.apps_domain
        self.timezone: str = app.timezone
        self.registry: str = app.registry
        self.registry_client: RegistryClient | None = None  # (set where the API runs)
        # The registry process, when this process runs it (`wharf up`).
        self.registry_process: Callable[[], RegistryProcess | None] = lambda: None
        self._collecting = threading.Lock()
        self.read_side = read_side
        self.logs = logs
        self.build_logs: Logs = logs  # (the wiring gives the builds' own store)
        self.metrics = metrics
        self.home: Path | None = None  # WHARF_HOME (set by the wiring): probes' scratch
        self.runtime_setting = "direct"  # WHARF_RUNTIME (set by the wiring)

    def handle(self, command: Command) -> Outcome:
        return self.app.handle(command)

    def runtime(self) -> str:
        return self.app.runtime() or self.runtime_setting

    async def hash_password(self, password: str) -> str:
        return await passwords.hash_password(password)

    def delete_image(self, repository: str, digest: str) -> None:
        if self.registry_client is None:
            raise RegistryError("this Wharf runs no registry (WHARF_REGISTRY=off)")
        self.registry_client.delete(repository, digest)

    def collect_garbage(self) -> int:
        process = self.registry_process()
        if process is None:
            raise RegistryError("the registry does not run in this process: ask the API of "
                                "the `wharf up` that runs it")
        if not self._collecting.acquire(blocking=False):
            raise RegistryError("a garbage collection is running already")
        try:
            return process.garbage_collect()
        finally:
            self._collecting.release()

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def fold(self, ident: UUID, version: int) -> Any:
        return self.app.repository.get(ident, version=version)

    def check_join(self, actor: Actor, tenant_id: UUID, endpoint: str) -> None:
        self.app.check_join_host(actor, tenant_id, endpoint)
        match = ENDPOINT.fullmatch(endpoint)
        if match is not None and match.group(2) and is_this_machine(match.group(2)):
            raise InvalidInput("endpoint", "a tenant's host cannot be on Wharf's own "
                                           "machine")

    def engine_capacity(self, endpoint: str, credentials: TlsCredentials | None = None,
                        detail: bool = True, caller: str = "") -> Capacity:
        with probe_slot(caller):
            return engine_capacity(endpoint, credentials, self.home, detail=detail)
