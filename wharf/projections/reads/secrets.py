"""Reads of the secrets read model: names and times, never values."""

from __future__ import annotations

from dataclasses import dataclass

from wharf.projections.reads import Reader


@dataclass(frozen=True)
class SecretRow:
    name: str
    updated_at: str


def secrets_of(reader: Reader, tenant_id: str) -> list[SecretRow]:
    return [SecretRow(**r) for r in reader.query(
        "SELECT name, updated_at FROM rm_secrets WHERE tenant_id = ? AND deleted = 0 "
        "ORDER BY name", (tenant_id,))]
