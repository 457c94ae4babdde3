"""What the scheduler needs from a Docker host, as plain data and one small protocol.

The reconciler never imports the docker SDK: `infra/docker_driver.py` implements `Engine`
for a real engine, and unit tests can implement it in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wharf.domain.container_spec import HealthCheck, Port

# Labels on every Docker object Wharf makes; the reconciler finds its objects by them.
LABEL_MANAGED = "wharf.managed"
LABEL_INSTALLATION = "wharf.installation"  # which Wharf (store) made it
LABEL_TENANT = "wharf.tenant"
LABEL_CONTAINER = "wharf.container"
LABEL_GENERATION = "wharf.generation"
LABEL_VOLUME = "wharf.volume"
LABEL_NETWORK = "wharf.network"  # the network a container joined: its tenant's or app's


def docker_name(container_id: str) -> str:
    """The Docker name of a Wharf container: a retried create finds the first one."""
    return f"wharf-{container_id}"


@dataclass(frozen=True)
class Capacity:
    cpu_millis: int
    memory_mib: int
    engine_version: str = ""


@dataclass(frozen=True)
class Observed:
    """One Wharf-labelled container as the engine reports it."""

    container_id: str  # Wharf's id, from the label
    docker_id: str
    state: str  # created, running, paused, restarting, removing, exited, dead
    exit_code: int = 0
    oom_killed: bool = False
    started_at: str = ""
    finished_at: str = ""
    ports: dict[str, int] = field(default_factory=dict)  # "80/tcp" -> host port
    health: str = ""  # its health check's verdict: "" (no check), starting, healthy, unhealthy

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting", "paused")

    @property
    def paused(self) -> bool:
        """Frozen (`docker pause`): it holds its resources and does nothing."""
        return self.state == "paused"


@dataclass(frozen=True)
class VolumeMount:
    """A tenant's volume, resolved to the engine volume it is."""

    volume_id: str
    path: str
    read_only: bool = False


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to create one container: the spec with its secrets resolved."""

    container_id: str
    tenant_id: str
    generation: int
    image: str
    command: tuple[str, ...]
    entrypoint: tuple[str, ...]
    env: dict[str, str] = field(repr=False)  # holds secret values: never printed
    ports: tuple[Port, ...]
    cpu_millis: int
    memory_mib: int
    volumes: tuple[VolumeMount, ...]
    alias: str = ""  # the container's name in its tenant: how its neighbours reach it
    health_check: HealthCheck | None = None
    network: str = ""  # whose network it joins: its application's (an id), else its tenant's

    @property
    def name(self) -> str:
        return docker_name(self.container_id)


PullToken = Callable[[str, str], "str | None"]
"""(image, tenant id) -> a registry token that lets a host pull that image for that
tenant, or None when the image is not in Wharf's registry (the host has it or not)."""


class EngineError(Exception):
    """The engine refused or failed a call; `transient` when a retry may succeed."""

    def __init__(self, message: str, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class Engine(Protocol):
    endpoint: str

    def capacity(self) -> Capacity: ...

    def containers(self) -> list[Observed]: ...

    def inspect(self, container_id: str) -> Observed | None: ...

    def pull(self, image: str, registry_token: str,
             progress: Callable[[int, int], None]) -> None: ...

    def create(self, spec: RunSpec) -> str: ...

    def start(self, container_id: str) -> None: ...

    def stop(self, container_id: str, timeout: int = 10) -> None: ...

    def unpause(self, container_id: str) -> None: ...

    def remove(self, container_id: str) -> None: ...

    def remove_by_docker_id(self, docker_id: str) -> None: ...

    def events(self) -> Iterator[dict[str, Any]]: ...

    def tail_logs(self, container_id: str, count: int | None) -> Iterator[str]: ...

    def watch_logs(self, container_id: str, from_start: bool = False
                   ) -> Generator[None, None, None]: ...

    def release_network(self, tenant_id: str) -> bool: ...

    def ensure_volume(self, volume_id: str, tenant_id: str) -> None: ...

    def volumes(self) -> list[str]: ...

    def remove_volume(self, volume_id: str) -> bool: ...

    def backup_volume(self, volume_id: str, archive: Path) -> tuple[int, str]: ...

    def restore_volume(self, volume_id: str, tenant_id: str, archive: Path) -> None: ...

    def close(self) -> None: ...


class Ingress(Protocol):
    """The load balancer in front of services' replicas (infra/caddy.py for Caddy)."""

    http_port: int  # where applications are reached by name, over HTTP
    https_port: int  # and over HTTPS

    def apply(self, apps: dict[str, Any]) -> None:
        """Replaces every listener and certificate policy with `apps` (Caddy's `apps`)."""

    def applied(self) -> dict[str, Any] | None:
        """What it holds now; None when it does not answer."""

    def free_port(self, taken: set[int]) -> int:
        """A loopback port free for a new listener, none of `taken`."""
