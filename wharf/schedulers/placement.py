"""Placement: which host takes a container. Pure: filter every host, then score the rest.

Filters: the host is active and answering, it is in the public pool or dedicated to the
container's tenant, what is reserved there plus the container fits in its capacity times
its overcommit, and a container bound to a volume goes where that volume lives. Scoring:
a tenant's dedicated hosts first, then `spread` (most room left) or `binpack` (least).
When no host fits, every host's reason is returned: in full for operators (free
capacity, endpoints, other pools), and summed up in the tenant's own terms (what the
container asks for) for the tenant, who must not learn what other tenants hold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from wharf.domain.host import PUBLIC

STRATEGIES = ("spread", "binpack")


@dataclass(frozen=True)
class HostRoom:
    id: str
    name: str
    pool: str
    state: str
    cpu_millis: int
    memory_mib: int
    overcommit: Decimal
    reserved_cpu_millis: int
    reserved_memory_mib: int
    answering: bool = True
    ports: frozenset[int] = frozenset()  # host ports Wharf's containers hold there

    @property
    def free_cpu_millis(self) -> int:
        return int(self.cpu_millis * self.overcommit) - self.reserved_cpu_millis

    @property
    def free_memory_mib(self) -> int:
        return int(self.memory_mib * self.overcommit) - self.reserved_memory_mib

    def take(self, cpu_millis: int, memory_mib: int,
             ports: tuple[int, ...] = ()) -> HostRoom:
        return replace(self, reserved_cpu_millis=self.reserved_cpu_millis + cpu_millis,
                       reserved_memory_mib=self.reserved_memory_mib + memory_mib,
                       ports=self.ports | frozenset(ports))


@dataclass(frozen=True)
class Request:
    tenant: str  # the tenant's name: a dedicated pool is named after its tenant
    cpu_millis: int
    memory_mib: int
    volume_host: str | None = None  # the host of a volume it mounts, if any
    avoid: str | None = None  # the host it is leaving (drain, loss)
    host_ports: tuple[int, ...] = ()  # host ports it asks for


@dataclass(frozen=True)
class Rejection:
    text: str  # for operators: the figures and names behind it
    summary: str  # for the tenant: in terms of its own request


def rejection(host: HostRoom, request: Request) -> Rejection | None:
    """Why `host` cannot take the container, or None when it can."""
    unavailable = "no host that may take it is available now"
    if host.state != "active":
        return Rejection(f"host is {host.state}", unavailable)
    if not host.answering:
        return Rejection("host's engine does not answer", unavailable)
    if host.id == request.avoid:
        return Rejection("the container is leaving this host", unavailable)
    if host.pool not in (PUBLIC, request.tenant):
        return Rejection(f"host is dedicated to tenant {host.pool}", unavailable)
    if request.volume_host is not None and host.id != request.volume_host:
        return Rejection("the container's volume lives on another host",
                         "the host its volumes live on cannot take it now")
    taken = sorted(set(request.host_ports) & host.ports)
    if taken:
        ports = ", ".join(map(str, taken))
        return Rejection(f"host port {ports} is taken there",
                         f"host port {ports} it asks for is taken")
    if request.cpu_millis > host.free_cpu_millis:
        return Rejection(f"needs {request.cpu_millis}m CPU, {max(host.free_cpu_millis, 0)}m "
                         f"free of {host.cpu_millis}m x {host.overcommit}",
                         f"no room for the {request.cpu_millis}m CPU it reserves")
    if request.memory_mib > host.free_memory_mib:
        return Rejection(f"needs {request.memory_mib} MiB memory, "
                         f"{max(host.free_memory_mib, 0)} MiB free of {host.memory_mib} MiB "
                         f"x {host.overcommit}",
                         f"no room for the {request.memory_mib} MiB memory it reserves")
    return None


NO_HOSTS = Rejection("no hosts are registered", "no host that may take it is available now")


def choose(
    request: Request, hosts: list[HostRoom], strategy: str = "spread"
) -> tuple[HostRoom | None, dict[str, Rejection]]:
    """The best host for `request`, or None and each host's reason (by host name)."""
    reasons: dict[str, Rejection] = {}
    fits = []
    for host in hosts:
        reason = rejection(host, request)
        if reason is None:
            fits.append(host)
        else:
            reasons[host.name] = reason
    if not fits:
        return None, reasons or {"*": NO_HOSTS}

    def score(host: HostRoom) -> tuple[int, float, str]:
        room = (host.free_cpu_millis / max(host.cpu_millis, 1)
                + host.free_memory_mib / max(host.memory_mib, 1))
        dedicated = 0 if host.pool == request.tenant else 1
        return dedicated, -room if strategy == "spread" else room, host.id

    return min(fits, key=score), {}


def summary(reasons: dict[str, Rejection]) -> list[str]:
    """The tenant's view of why no host takes its container: each distinct reason once,
    with no host named."""
    return sorted({reason.summary for reason in reasons.values()})
