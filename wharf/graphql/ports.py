"""What the API needs from the rest of Wharf, as protocols the API owns.

`graphql/` imports nothing from `infra/`: infra/backend.py implements these over the real
store, projector, log files and engines, and a test may implement them otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from wharf.commands.actors import Actor
from wharf.commands.context import Outcome
from wharf.commands.messages import Command
from wharf.commands.ports import Clock
from wharf.domain.loglines import Dropped, LogLine
from wharf.domain.tls import TlsCredentials
from wharf.projections.reads import Reader
from wharf.schedulers.ports import Capacity

Models = Collection[str] | None  # read model names; None: every one


class ReadSide(Protocol):
    """The read models, and how far each has read the log."""

    @property
    def reader(self) -> Reader: ...

    def position(self, models: Models = None) -> int:
        """The position `models` have all reached (blocking: call it in a thread)."""
        ...

    async def reached(self, position: int, models: Models = None) -> None:
        """Returns once `models` have reached `position`, holding no thread."""
        ...

    def wait(self, position: int, timeout: float, models: Models = None) -> None:
        """Blocks until `models` have reached `position`; TimeoutError past `timeout`."""
        ...

    def watch_tenant(self, tenant_id: str) -> asyncio.Future[None] | None:
        """A future resolved when the tenant's rows change (None: this process cannot
        tell, and a caller polls)."""
        ...

    def unwatch_tenant(self, tenant_id: str, future: asyncio.Future[None]) -> None: ...


class Logs(Protocol):
    """The containers' kept log lines."""

    def read(self, container_id: str, tail: int = 100, since: str = "") -> list[LogLine]: ...

    def cursor(self, container_id: str) -> str: ...

    def lines_after(self, container_id: str, since: str, limit: int
                    ) -> tuple[int, list[LogLine]]: ...

    def dropped(self, container_id: str) -> Dropped: ...


class Metrics(Protocol):
    def points(self, target: str, start: datetime, end: datetime, step: int,
               now: datetime) -> list[dict[str, Any]]: ...


class Backend(Protocol):
    """Everything a request may reach: commands, the read side, logs and metrics."""

    @property
    def clock(self) -> Clock: ...

    @property
    def read_side(self) -> ReadSide: ...

    @property
    def apps_domain(self) -> str:
        """The platform's domain: applications are `<app>.<tenant>.<apps_domain>`."""
        ...

    @property
    def timezone(self) -> str:
        """Where bills' days and months begin (an IANA zone)."""
        ...

    @property
    def registry(self) -> str:
        """Wharf's image registry, HOST:PORT ("" when it runs none)."""
        ...

    def delete_image(self, repository: str, digest: str) -> None:
        """Deletes an image from the registry by its digest (blocking); a RegistryError
        (an OSError) when the registry cannot."""
        ...

    def collect_garbage(self) -> int:
        """Frees the space of deleted images, the registry read-only meanwhile (blocking);
        the bytes freed. A RegistryError when this process runs no registry."""
        ...

    def runtime(self) -> str:
        """What runs the workloads: "direct" (Wharf's scheduler) or "swarm" (blocking)."""
        ...

    async def hash_password(self, password: str) -> str:
        """A slow hash of a new password (InvalidInput when it is too short or long)."""
        ...

    @property
    def logs(self) -> Logs: ...

    @property
    def build_logs(self) -> Logs:
        """Builds' log lines, by build id."""
        ...

    @property
    def metrics(self) -> Metrics: ...

    def handle(self, command: Command) -> Outcome:
        """Runs a command (blocking: call it in a thread)."""
        ...

    def head(self) -> int:
        """The newest position in the log (blocking)."""
        ...

    def fold(self, ident: UUID, version: int) -> Any:
        """The aggregate `ident` as it was at `version`, folded from the log from its
        newest snapshot at or before it (blocking)."""
        ...

    def check_join(self, actor: Actor, tenant_id: UUID, endpoint: str) -> None:
        """Raises what joining the host at `endpoint` to the tenant's pool would, before
        any connection."""
        ...

    def engine_capacity(self, endpoint: str, credentials: TlsCredentials | None = None,
                        detail: bool = True, caller: str = "") -> Capacity:
        """What the engine at `endpoint` says it has, asked over mutual TLS with
        `credentials` when given; InvalidInput when none answers (blocking). Without
        `detail`, the error does not say why (a tenant asking). Conflict when `caller`
        (or everyone) has too many such questions in flight."""
        ...
