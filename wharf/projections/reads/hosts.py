"""Reads of the hosts read model."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from wharf.domain.host import free
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

    @property
    def free_cpu_millis(self) -> int:
        return free(self.cpu_millis, self.overcommit, self.reserved_cpu_millis)

    @property
    def free_memory_mib(self) -> int:
        return free(self.memory_mib, self.overcommit, self.reserved_memory_mib)


def _row(r: dict[str, object]) -> HostRow:
    return HostRow(**{**r, "overcommit": Decimal(str(r["overcommit"]))})  # type: ignore[arg-type]


def hosts(reader: Reader) -> list[HostRow]:
    """Every host Wharf knows (removed ones too), by name."""
    return [_row(r) for r in reader.query("SELECT * FROM rm_hosts ORDER BY name")]


def host(reader: Reader, host_id: str) -> HostRow | None:
    rows = reader.query("SELECT * FROM rm_hosts WHERE id = ?", (host_id,))
    return _row(rows[0]) if rows else None


def in_states(reader: Reader, *states: str) -> list[HostRow]:
    marks = ", ".join("?" * len(states))
    return [_row(r) for r in reader.query(
        f"SELECT * FROM rm_hosts WHERE state IN ({marks}) ORDER BY name", states)]
