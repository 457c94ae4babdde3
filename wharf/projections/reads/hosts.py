"""Reads of the hosts read model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from wharf.domain.host import address_of, free
from wharf.projections.reads import Reader


@dataclass(frozen=True)
class HostRow:
    id: str
    name: str
    endpoint: str
    pool: str  # "public", or the tenant it is dedicated to
    state: str  # active, draining, lost, removed
    cpu_millis: int
    memory_mib: int
    overcommit: Decimal
    reserved_cpu_millis: int
    reserved_memory_mib: int
    containers: int
    joined_at: str
    updated_at: str
    labels: dict[str, str] = field(default_factory=dict)
    engine_version: str = ""
    fingerprint: str = ""  # of the client certificate Wharf reaches it with ("": none)

    @property
    def address(self) -> str:
        """Where its published ports answer."""
        return address_of(self.endpoint)

    @property
    def label_set(self) -> frozenset[str]:
        """Its labels as placement matches them ("key=value")."""
        return frozenset(f"{k}={v}" for k, v in self.labels.items())

    @property
    def free_cpu_millis(self) -> int:
        return free(self.cpu_millis, self.overcommit, self.reserved_cpu_millis)

    @property
    def free_memory_mib(self) -> int:
        return free(self.memory_mib, self.overcommit, self.reserved_memory_mib)


def _row(r: dict[str, object]) -> HostRow:
    return HostRow(**{**r, "overcommit": Decimal(str(r["overcommit"])),  # type: ignore[arg-type]
                      "labels": json.loads(str(r["labels"]))})


def hosts(reader: Reader) -> list[HostRow]:
    """Every host Wharf knows (removed ones too), by name."""
    return [_row(r) for r in reader.query("SELECT * FROM rm_hosts ORDER BY name")]


def host(reader: Reader, host_id: str) -> HostRow | None:
    rows = reader.query("SELECT * FROM rm_hosts WHERE id = ?", (host_id,))
    return _row(rows[0]) if rows else None


def named(reader: Reader, key: str) -> HostRow | None:
    """The host, not removed, whose name or id is `key` (as a setting names one)."""
    rows = reader.query("SELECT * FROM rm_hosts WHERE (name = ? OR id = ?) "
                        "AND state != 'removed' ORDER BY name LIMIT 1", (key, key))
    return _row(rows[0]) if rows else None


def in_states(reader: Reader, *states: str) -> list[HostRow]:
    marks = ", ".join("?" * len(states))
    return [_row(r) for r in reader.query(
        f"SELECT * FROM rm_hosts WHERE state IN ({marks}) ORDER BY name", states)]


def in_pool(reader: Reader, pool: str) -> list[HostRow]:
    """A tenant's dedicated hosts (its pool is named after it), removed ones left out."""
    return [_row(r) for r in reader.query(
        "SELECT * FROM rm_hosts WHERE pool = ? AND state != 'removed' ORDER BY name", (pool,))]


def addresses(reader: Reader, ids: list[str]) -> dict[str, str]:
    """Where each host's published ports answer, by host id."""
    marks = ", ".join("?" * len(ids))
    return {r["id"]: address_of(r["endpoint"]) for r in reader.query(
        f"SELECT id, endpoint FROM rm_hosts WHERE id IN ({marks})", ids)} if ids else {}
