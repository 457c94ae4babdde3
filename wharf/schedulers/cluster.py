"""What the Swarm runtime needs from a cluster manager, as plain data and one protocol.

`infra/swarm.py` implements `Cluster` on a Docker Swarm manager's API (and
`infra/swarm_spec.py` says how a `ClusterService` becomes Swarm's service spec); the
runtime (`swarm_runtime.py`) never imports the docker SDK.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from wharf.domain.container_spec import HealthCheck
from wharf.domain.service import UpdatePolicy

POOL_LABEL = "wharf.pool"  # the node label placement matches a tenant's dedicated hosts by
LABEL_SERVICE = "wharf.service"  # on a cluster service: the Wharf object it runs
GATEWAY_PORT = 8000  # the gateway's port inside its container (infra/gateway.py)


@dataclass(frozen=True)
class ClusterService:
    """One Wharf service (or a container: one replica) as the cluster runs it."""

    name: str  # the cluster service's name: wharf-svc-<id>, wharf-ctr-<id>
    alias: str  # its name on its network: how the application's services reach it
    labels: Mapping[str, str]
    image: str
    command: tuple[str, ...]
    entrypoint: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)  # resolved secrets: never printed
    cpu_millis: int
    memory_mib: int
    replicas: int
    network: str  # the overlay network's id
    pool: str  # "public", or the tenant whose dedicated nodes only it may use
    constraints: tuple[str, ...] = ()  # host labels, "key=value"
    restart_policy: str = "always"
    health_check: HealthCheck | None = None
    update: UpdatePolicy = field(default_factory=UpdatePolicy)


@dataclass(frozen=True)
class ClusterTask:
    """One task (one run of one replica) as the manager lists it."""

    id: str
    service: str  # the Wharf object's id (LABEL_SERVICE)
    slot: int
    node_id: str
    state: str  # new, pending, assigned, ..., running, complete, failed, shutdown, rejected
    desired: str  # running, shutdown, ...
    container_id: str
    exit_code: int | None
    error: str
    since: str  # when it reached `state`
    spec_image: str  # (a rollout's old and new tasks differ by their spec)
    created: str = ""  # when the manager made it: the run's identity in Wharf's log
    addresses: tuple[tuple[str, str], ...] = ()  # (network id, its address there)

    def address_on(self, network: str) -> str | None:
        return next((ip for net, ip in self.addresses if net == network), None)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def ended(self) -> bool:
        return self.state in ("complete", "failed", "shutdown", "rejected", "orphaned",
                              "remove")


@dataclass(frozen=True)
class ClusterNode:
    id: str
    address: str
    role: str  # manager, worker
    state: str  # ready, down, unknown, disconnected
    availability: str  # active, pause, drain
    labels: dict[str, str]
    cpu_millis: int
    memory_mib: int
    engine_version: str


class Cluster(Protocol):
    installation: str

    def ensure_network(self, name: str, labels: dict[str, str]) -> str: ...

    def remove_network(self, name: str) -> None: ...

    def apply(self, service: ClusterService) -> bool: ...

    def scale(self, name: str, replicas: int) -> None: ...

    def remove_service(self, name: str) -> None: ...

    def services(self) -> list[str]: ...

    def tasks(self) -> list[ClusterTask]: ...

    def nodes(self) -> list[ClusterNode]: ...

    def label_node(self, node_id: str, labels: dict[str, str]) -> None: ...

    def cluster_events(self) -> Iterator[dict[str, Any]]: ...

    def ensure_gateway(self, networks: set[str]) -> tuple[str, int, str]:
        """The ingress's way onto the overlay networks (joined to each of `networks`):
        where its port is published, and its container's id (a new one, made again after
        it was removed, holds no configuration), as (address, port, id)."""

    def configure_gateway(self, apps: dict[str, Any]) -> None:
        """Gives the gateway's Caddy its whole configuration."""

    def close(self) -> None: ...
