"""Host: a Docker endpoint with a capacity, an overcommit factor and a pool."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal, cast
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import Conflict, InvalidInput

ENDPOINT = re.compile(r"^(unix:///[/\w.-]+|tcp://[\w.-]+:(\d{1,5}))$")
MAX_ENDPOINT = 255
PUBLIC = "public"
HostState = Literal["active", "draining", "lost", "removed"]


def free(capacity: int, overcommit: Decimal, reserved: int) -> int:
    """What is left of a host's capacity (CPU or memory) times its overcommit once
    `reserved` is taken: the one rule placement and the hosts read model both show."""
    return int(capacity * overcommit) - reserved


def check_endpoint(endpoint: str) -> str:
    """A Docker endpoint Wharf can reach: unix:///path.sock or tcp://host:port."""
    match = ENDPOINT.fullmatch(endpoint)
    if (match is None or len(endpoint) > MAX_ENDPOINT
            or (match.group(2) is not None and not 1 <= int(match.group(2)) <= 65535)):
        raise InvalidInput("endpoint", "must be unix:///path.sock or tcp://host:port "
                                       f"(port 1-65535, at most {MAX_ENDPOINT} characters)")
    return endpoint


def check_host(endpoint: str, cpu_millis: int, memory_mib: int, overcommit: str) -> Decimal:
    check_endpoint(endpoint)
    if cpu_millis <= 0:
        raise InvalidInput("cpu_millis", "must be positive")
    if memory_mib <= 0:
        raise InvalidInput("memory_mib", "must be positive")
    try:
        factor = Decimal(overcommit)
    except InvalidOperation:
        raise InvalidInput("overcommit", "not a decimal number") from None
    if not (Decimal(1) <= factor <= Decimal(16)):
        raise InvalidInput("overcommit", "must be between 1 and 16")
    return factor


class Host(WharfAggregate):
    @staticmethod
    def id_for(endpoint: str) -> UUID:
        return derive_id("host", endpoint)

    class Registered(WharfAggregate.Created):
        endpoint: str
        name: str
        cpu_millis: int
        memory_mib: int
        overcommit: str
        pool: str

    @event(Registered)
    def __init__(
        self,
        id: UUID,
        endpoint: str,
        name: str,
        cpu_millis: int,
        memory_mib: int,
        overcommit: str,
        pool: str,
        actor: str,
        cause: str,
    ) -> None:
        self.endpoint = endpoint
        self.name = name
        self.cpu_millis = cpu_millis
        self.memory_mib = memory_mib
        self.overcommit = overcommit
        self.pool = pool
        self.state: HostState = "active"
        self.state_before_loss: HostState = "active"

    def drain(self) -> None:
        if self.state != "active":
            raise Conflict(f"host {self.name} is {self.state}, not active")
        self._drained()

    class Drained(WharfAggregate.Event):
        pass

    @event(Drained)
    def _drained(self) -> None:
        self.state = "draining"

    def activate(self) -> None:
        if self.state != "draining":
            raise Conflict(f"host {self.name} is {self.state}, not draining")
        self._activated()

    class Activated(WharfAggregate.Event):
        pass

    @event(Activated)
    def _activated(self) -> None:
        self.state = "active"

    def remove(self) -> None:
        if self.state == "removed":
            raise Conflict(f"host {self.name} is already removed")
        self._removed()

    class Removed(WharfAggregate.Event):
        pass

    @event(Removed)
    def _removed(self) -> None:
        self.state = "removed"

    def rejoin(self, cpu_millis: int, memory_mib: int, overcommit: str, pool: str) -> None:
        if self.state != "removed":
            raise Conflict(f"host {self.endpoint} is already registered")
        self._rejoined(cpu_millis=cpu_millis, memory_mib=memory_mib, overcommit=overcommit,
                       pool=pool)

    class Rejoined(WharfAggregate.Event):
        cpu_millis: int
        memory_mib: int
        overcommit: str
        pool: str

    @event(Rejoined)
    def _rejoined(self, cpu_millis: int, memory_mib: int, overcommit: str, pool: str) -> None:
        self.cpu_millis = cpu_millis
        self.memory_mib = memory_mib
        self.overcommit = overcommit
        self.pool = pool
        self.state = "active"

    # -- what the scheduler observed ------------------------------------------------

    def lose(self, silent_since: str) -> bool:
        """The engine has not answered since `silent_since`, past the grace period."""
        if self.state != "active" and self.state != "draining":
            return False
        self._lost(silent_since=silent_since, was=self.state)
        return True

    class Lost(WharfAggregate.Event):
        silent_since: str
        was: str

    @event(Lost)
    def _lost(self, silent_since: str, was: str) -> None:
        self.state = "lost"
        self.state_before_loss = cast(HostState, was)

    def recover(self) -> bool:
        if self.state != "lost":
            return False
        self._recovered(state=self.state_before_loss)
        return True

    class Recovered(WharfAggregate.Event):
        state: str

    @event(Recovered)
    def _recovered(self, state: str) -> None:
        self.state = cast(HostState, state)
