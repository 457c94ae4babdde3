"""Placement: which host takes a container. Pure: filters refuse hosts, scorers order them.

Each filter is a small function that says why a host cannot take a container, or None:
the host is active and answering, the container is not leaving it, the host is in the
public pool or dedicated to the container's tenant, it carries every label the
container is constrained to, a container bound to a volume goes where that volume lives,
the host ports it asks for are free there, and what is reserved there plus the container
fits in its capacity times its overcommit. A strategy is a list of scorers (lower
first): `spread` takes the host with most room left, `binpack` the one with least. A
tenant's dedicated hosts always come before the public pool.

`Placer` keeps the hosts indexed by pool, each pool sorted by score, and by label, so a
placement walks candidates best first and takes the first that passes every filter:
with room to spare that is the first host or so, not every host (bench/placement.py
measures it against filtering every host). Only when no host fits does it ask every
host why: in full for operators (free capacity, endpoints, other pools), and summed up
in the tenant's own terms (what the container asks for) for the tenant, who must not
learn what other tenants hold.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

from wharf.domain.host import PUBLIC, free


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
    labels: frozenset[str] = frozenset()  # "key=value", e.g. "zone=eu-1"

    @property
    def free_cpu_millis(self) -> int:
        return free(self.cpu_millis, self.overcommit, self.reserved_cpu_millis)

    @property
    def free_memory_mib(self) -> int:
        return free(self.memory_mib, self.overcommit, self.reserved_memory_mib)

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
    constraints: frozenset[str] = frozenset()  # labels every host must carry
    group: str | None = None  # the service whose replica it is: replicas spread out
    beside: str | None = None  # the host its application's other replicas run on


@dataclass(frozen=True)
class Rejection:
    text: str  # for operators: the figures and names behind it
    summary: str  # for the tenant: in terms of its own request


UNAVAILABLE = "no host that may take it is available now"
NO_HOSTS = Rejection("no hosts are registered", UNAVAILABLE)

Filter = Callable[[HostRoom, Request], Rejection | None]


def active(host: HostRoom, request: Request) -> Rejection | None:
    return None if host.state == "active" else Rejection(f"host is {host.state}", UNAVAILABLE)


def answering(host: HostRoom, request: Request) -> Rejection | None:
    return None if host.answering else Rejection("host's engine does not answer", UNAVAILABLE)


def not_leaving(host: HostRoom, request: Request) -> Rejection | None:
    if host.id == request.avoid:
        return Rejection("the container is leaving this host", UNAVAILABLE)
    return None


def in_pool(host: HostRoom, request: Request) -> Rejection | None:
    if host.pool in (PUBLIC, request.tenant):
        return None
    return Rejection(f"host is dedicated to tenant {host.pool}", UNAVAILABLE)


def labelled(host: HostRoom, request: Request) -> Rejection | None:
    missing = sorted(request.constraints - host.labels)
    if not missing:
        return None
    labels = ", ".join(missing)
    return Rejection(f"host lacks label {labels}", f"no host with label {labels} can take it")


def near_volume(host: HostRoom, request: Request) -> Rejection | None:
    if request.volume_host is None or host.id == request.volume_host:
        return None
    return Rejection("the container's volume lives on another host",
                     "the host its volumes live on cannot take it now")


def with_application(host: HostRoom, request: Request) -> Rejection | None:
    if request.beside is None or host.id == request.beside:
        return None
    return Rejection("the application's other services run on another host",
                     "the host its application runs on cannot take it now")


def ports_free(host: HostRoom, request: Request) -> Rejection | None:
    taken = sorted(set(request.host_ports) & host.ports)
    if not taken:
        return None
    ports = ", ".join(map(str, taken))
    return Rejection(f"host port {ports} is taken there", f"host port {ports} it asks for is taken")


def cpu_fits(host: HostRoom, request: Request) -> Rejection | None:
    if request.cpu_millis <= host.free_cpu_millis:
        return None
    return Rejection(f"needs {request.cpu_millis}m CPU, {max(host.free_cpu_millis, 0)}m "
                     f"free of {host.cpu_millis}m x {host.overcommit}",
                     f"no room for the {request.cpu_millis}m CPU it reserves")


def memory_fits(host: HostRoom, request: Request) -> Rejection | None:
    if request.memory_mib <= host.free_memory_mib:
        return None
    return Rejection(f"needs {request.memory_mib} MiB memory, "
                     f"{max(host.free_memory_mib, 0)} MiB free of {host.memory_mib} MiB "
                     f"x {host.overcommit}",
                     f"no room for the {request.memory_mib} MiB memory it reserves")


FILTERS: tuple[Filter, ...] = (active, answering, not_leaving, in_pool, labelled,
                               near_volume, with_application, ports_free, cpu_fits,
                               memory_fits)


def rejection(host: HostRoom, request: Request) -> Rejection | None:
    """Why `host` cannot take the container (the first filter that refuses), or None."""
    for refuses in FILTERS:
        reason = refuses(host, request)
        if reason is not None:
            return reason
    return None


Scorer = Callable[[HostRoom], float]


def room(host: HostRoom) -> float:
    return (host.free_cpu_millis / max(host.cpu_millis, 1)
            + host.free_memory_mib / max(host.memory_mib, 1))


def most_room(host: HostRoom) -> float:
    return -room(host)


def least_room(host: HostRoom) -> float:
    return room(host)


STRATEGIES: dict[str, tuple[Scorer, ...]] = {"spread": (most_room,), "binpack": (least_room,)}
# How many fitting hosts a replica's placement compares by how many of its siblings each
# holds: enough to spread a service over a cluster, bounded so a pass stays cheap.
SPREAD_AMONG = 16


class Placer:
    """The hosts of one planning pass, indexed by pool (each sorted best first) and by
    label; `take` books a placement so the next one sees the room it left."""

    def __init__(self, hosts: Iterable[HostRoom], strategy: str = "spread") -> None:
        self.scorers = STRATEGIES[strategy]
        self.hosts: dict[str, HostRoom] = {}
        self.pools: dict[str, list[tuple[tuple[float, ...], str]]] = {}
        self.labels: dict[str, set[str]] = {}
        self.members: dict[str, dict[str, int]] = {}  # group -> host id -> replicas there
        for host in hosts:
            self._add(host)

    def hold(self, group: str | None, host_id: str, count: int = 1) -> None:
        """Counts a replica of `group` on `host_id` (placed earlier, or just now)."""
        if group is not None:
            counts = self.members.setdefault(group, {})
            counts[host_id] = counts.get(host_id, 0) + count

    def _key(self, host: HostRoom) -> tuple[tuple[float, ...], str]:
        return tuple(score(host) for score in self.scorers), host.id

    def _add(self, host: HostRoom) -> None:
        self.hosts[host.id] = host
        bisect.insort(self.pools.setdefault(host.pool, []), self._key(host))
        for label in host.labels:
            self.labels.setdefault(label, set()).add(host.id)

    def __getitem__(self, host_id: str) -> HostRoom:
        return self.hosts[host_id]

    def get(self, host_id: str | None) -> HostRoom | None:
        return self.hosts.get(host_id) if host_id is not None else None

    def update(self, host: HostRoom) -> None:
        """Put `host` (the same id, other figures) in place of what was known of it."""
        old = self.hosts[host.id]
        ranked = self.pools[old.pool]
        del ranked[bisect.bisect_left(ranked, self._key(old))]
        for label in old.labels:
            self.labels[label].discard(old.id)
        self._add(host)

    def take(self, host_id: str, cpu_millis: int, memory_mib: int,
             ports: tuple[int, ...] = (), group: str | None = None) -> HostRoom:
        host = self.hosts[host_id].take(cpu_millis, memory_mib, ports)
        self.update(host)
        self.hold(group, host_id, 1 if cpu_millis >= 0 else -1)
        return host

    def candidates(self, request: Request) -> Iterator[HostRoom]:
        """The hosts that might take `request`, best first: its tenant's pool, then the
        public one; only those carrying every label it is constrained to. A container
        bound to one host (its volume's, its application's) has that one candidate."""
        bound = {h for h in (request.volume_host, request.beside) if h is not None}
        if bound:
            if len(bound) == 1:
                host = self.hosts.get(next(iter(bound)))
                if host is not None:
                    yield host
            return
        allowed: set[str] | None = None
        for label in request.constraints:
            having = self.labels.get(label, set())
            allowed = having if allowed is None else allowed & having
        for pool in dict.fromkeys((request.tenant, PUBLIC)):
            for _, host_id in self.pools.get(pool, ()):
                if allowed is None or host_id in allowed:
                    yield self.hosts[host_id]

    def choose(self, request: Request) -> tuple[HostRoom | None, dict[str, Rejection]]:
        """The best host for `request`, or None and each host's reason (by host name).
        A replica goes to the fitting host (of the first few, best first) that holds the
        fewest of its siblings, so a service spreads wherever more than one host fits."""
        siblings = self.members.get(request.group) if request.group is not None else None
        fitting: list[HostRoom] = []
        for host in self.candidates(request):
            if rejection(host, request) is None:
                if not siblings:
                    return host, {}
                fitting.append(host)
                if siblings.get(host.id, 0) == 0 or len(fitting) == SPREAD_AMONG:
                    break
        if fitting:
            assert siblings is not None
            return min(fitting, key=lambda h: siblings.get(h.id, 0)), {}
        reasons: dict[str, Rejection] = {}
        for host in self.hosts.values():
            reason = rejection(host, request)
            if reason is not None:
                reasons[host.name] = reason
        return None, reasons or {"*": NO_HOSTS}


def choose(
    request: Request, hosts: Iterable[HostRoom], strategy: str = "spread"
) -> tuple[HostRoom | None, dict[str, Rejection]]:
    """One placement over `hosts` (a `Placer` for a single question)."""
    return Placer(hosts, strategy).choose(request)


def summary(reasons: dict[str, Rejection]) -> list[str]:
    """The tenant's view of why no host takes its container: each distinct reason once,
    with no host named."""
    return sorted({reason.summary for reason in reasons.values()})
