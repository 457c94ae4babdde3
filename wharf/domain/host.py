"""Host: a Docker endpoint with a capacity, an overcommit factor and a pool."""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation
from typing import Literal, cast
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import Conflict, InvalidInput

# ASCII only, a port without leading zeros: one engine has one spelling (and `\d` would
# take any script's digits, which the SDK then cannot read).
ENDPOINT = re.compile(r"^(unix:///[/\w.-]+|tcp://([A-Za-z0-9.-]+):([1-9][0-9]{0,4}))$",
                      re.ASCII)
MAX_ENDPOINT = 255
PUBLIC = "public"
# Host labels constrain placement: `host.labels.zone == eu-1` on a container or service
# (or Compose's `node.labels.zone == eu-1`). Keys and values as Docker's label rules.
LABEL_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
RESERVED_LABELS = "wharf."  # the prefix of the labels Wharf sets on hosts itself
LABEL_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
MAX_LABELS = 20
MAX_CPU_MILLIS = 100_000_000  # 100,000 cores
MAX_MEMORY_MIB = 1 << 30  # 1 PiB
HostState = Literal["active", "draining", "lost", "removed"]


def free(capacity: int, overcommit: Decimal, reserved: int) -> int:
    """What is left of a host's capacity (CPU or memory) times its overcommit once
    `reserved` is taken: the one rule placement and the hosts read model both show."""
    return int(capacity * overcommit) - reserved


def check_endpoint(endpoint: str, secured: bool = False) -> str:
    """A Docker endpoint Wharf can reach: unix:///path.sock or tcp://host:port. A TCP
    endpoint off this machine must be `secured` (mutual TLS): an engine's API is root on
    its host, and plain TCP lets anyone on the way drive it."""
    match = ENDPOINT.fullmatch(endpoint)
    if (match is None or len(endpoint) > MAX_ENDPOINT
            or (match.group(3) is not None and not 1 <= int(match.group(3)) <= 65535)):
        raise InvalidInput("endpoint", "must be unix:///path.sock or tcp://host:port "
                                       f"(port 1-65535, at most {MAX_ENDPOINT} characters)")
    if match.group(2) is not None and not secured and not is_loopback(match.group(2)):
        raise InvalidInput("endpoint", "a TCP endpoint off this machine needs mutual TLS: "
                                       "give the CA, client certificate and key (tls)")
    return endpoint


def is_loopback(address: str) -> bool:
    return address == "localhost" or re.fullmatch(r"127(\.\d{1,3}){3}", address) is not None


def check_tenant_endpoint(endpoint: str) -> str:
    """A tenant's own host: tcp://IP:PORT with an IP address written plainly, not this
    machine's loopback nor an address that means "any" or a link. (A name would be
    resolved again at each connection: it could point anywhere by then.)"""
    match = ENDPOINT.fullmatch(check_endpoint(endpoint, secured=True))
    assert match is not None
    host = match.group(2)
    try:
        address = ipaddress.ip_address(host) if host is not None else None
    except ValueError:
        address = None
    if address is None or str(address) != host:
        raise InvalidInput("endpoint", "a tenant's host joins by tcp://IP-ADDRESS:PORT "
                                       "(dotted, as 203.0.113.7)")
    if (address.is_loopback or address.is_unspecified or address.is_link_local
            or address.is_multicast or address.is_reserved):
        raise InvalidInput("endpoint", "a tenant's host cannot be on Wharf's own machine "
                                       "or a link-local, multicast or reserved address")
    return endpoint


DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$", re.ASCII)


def check_address(address: str) -> str:
    """An IPv4 address or a DNS name, as an engine's certificate and endpoint name it."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    if ip is not None:
        if ip.version != 4 or str(ip) != address:
            raise InvalidInput("address", "an IPv4 address written plainly (203.0.113.7), "
                                          "or a DNS name")
        return address
    labels = address.split(".")
    if (not 0 < len(address) <= 253 or not all(DNS_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()):  # (digits last: an address written some other way)
        raise InvalidInput("address", "an IPv4 address or a DNS name (letters, digits and "
                                      "'-' in dot-separated labels)")
    return address


def address_of(endpoint: str) -> str:
    """Where a host's published ports answer: its TCP address, or 127.0.0.1 for an engine
    on this machine (a unix socket or loopback)."""
    match = ENDPOINT.fullmatch(endpoint)
    if match is None or match.group(2) is None or is_loopback(match.group(2)):
        return "127.0.0.1"
    return match.group(2)


def check_labels(labels: dict[str, str]) -> dict[str, str]:
    if len(labels) > MAX_LABELS:
        raise InvalidInput("labels", f"at most {MAX_LABELS} labels")
    for key, value in labels.items():
        if not LABEL_KEY.fullmatch(key):
            raise InvalidInput(f"labels.{key[:40]}", "a label key is 1-63 of a-z 0-9 . _ - "
                                                     "starting with a letter or digit")
        if key.startswith(RESERVED_LABELS):  # (a swarm node's pool is `wharf.pool`)
            raise InvalidInput(f"labels.{key}", "label keys starting with wharf. are "
                                                "Wharf's own")
        if not LABEL_VALUE.fullmatch(value):
            raise InvalidInput(f"labels.{key}", "a label value is 1-63 of A-Z a-z 0-9 . _ - "
                                                "starting with a letter or digit")
    return dict(sorted(labels.items()))


def check_host(endpoint: str, cpu_millis: int, memory_mib: int, overcommit: str,
               secured: bool = False) -> Decimal:
    check_endpoint(endpoint, secured)
    # (Bounded: figures an engine reports go into the log as they are, and a read model
    # cannot store an integer past 64 bits.)
    if not 0 < cpu_millis <= MAX_CPU_MILLIS:
        raise InvalidInput("cpu_millis", f"must be from 1 to {MAX_CPU_MILLIS}")
    if not 0 < memory_mib <= MAX_MEMORY_MIB:
        raise InvalidInput("memory_mib", f"must be from 1 to {MAX_MEMORY_MIB}")
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
        self.labels: dict[str, str] = {}
        self.ciphertext = ""  # its TLS credentials (CA, client certificate, key), sealed
        self.fingerprint = ""  # SHA-256 of the client certificate, to show
        self.sealed_for = ""  # whose data key seals them: a tenant's id, "" the platform's
        self.engine_version = ""

    def configure(self, labels: dict[str, str], ciphertext: str, fingerprint: str,
                  sealed_for: str, engine_version: str) -> None:
        """What a registration says beyond capacity: labels, the sealed credentials Wharf
        reaches the engine with (and whose key seals them), the engine's version when it
        was joined."""
        self._configured(labels=labels, ciphertext=ciphertext, fingerprint=fingerprint,
                         sealed_for=sealed_for, engine_version=engine_version)

    class Configured(WharfAggregate.Event):
        labels: dict[str, str]
        ciphertext: str
        fingerprint: str
        sealed_for: str
        engine_version: str

    @event(Configured)
    def _configured(self, labels: dict[str, str], ciphertext: str, fingerprint: str,
                    sealed_for: str, engine_version: str) -> None:
        self.labels = dict(labels)
        self.ciphertext = ciphertext
        self.fingerprint = fingerprint
        self.sealed_for = sealed_for
        self.engine_version = engine_version

    def relabel(self, labels: dict[str, str]) -> None:
        if self.state == "removed":
            raise Conflict(f"host {self.name} is removed")
        if labels != self.labels:
            self._labelled(labels=labels)

    class Labelled(WharfAggregate.Event):
        labels: dict[str, str]

    @event(Labelled)
    def _labelled(self, labels: dict[str, str]) -> None:
        self.labels = dict(labels)

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
