"""Reads of the tenants read model: plans, tenants, members and tokens."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wharf.projections.reads import Page, Reader, keyset_page


@dataclass(frozen=True)
class PlanRow:
    name: str
    version: int
    description: str
    limits: dict[str, int | None]
    prices: dict[str, str]
    default_cpu_millis: int
    default_memory_mib: int
    bandwidth_mbps: int | None
    added_at: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> PlanRow:
        return cls(name=row["name"], version=row["version"], description=row["description"],
                   limits=json.loads(row["limits"]), prices=json.loads(row["prices"]),
                   default_cpu_millis=row["default_cpu_millis"],
                   default_memory_mib=row["default_memory_mib"],
                   bandwidth_mbps=row["bandwidth_mbps"], added_at=row["added_at"])


@dataclass(frozen=True)
class TenantRow:
    id: str
    name: str
    plan: str
    plan_version: int
    status: str
    containers: int
    cpu_millis: int
    memory_mib: int
    volume_gib: int
    purge_after: str | None
    purged: bool
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> TenantRow:
        return cls(**{**row, "purged": bool(row["purged"])})


@dataclass(frozen=True)
class MemberRow:
    tenant_id: str
    email: str
    role: str
    since: str


def newest_plans(reader: Reader) -> list[PlanRow]:
    return [PlanRow.of(r) for r in reader.query(
        "SELECT * FROM rm_plans p WHERE version = (SELECT max(version) FROM rm_plans q "
        "WHERE q.name = p.name) ORDER BY name")]


def plan(reader: Reader, name: str, version: int) -> PlanRow | None:
    rows = reader.query("SELECT * FROM rm_plans WHERE name = ? AND version = ?",
                        (name, version))
    return PlanRow.of(rows[0]) if rows else None


def tenant(reader: Reader, tenant_id: str) -> TenantRow | None:
    rows = reader.query("SELECT * FROM rm_tenants WHERE id = ?", (tenant_id,))
    return TenantRow.of(rows[0]) if rows else None


def tenants_by_id(reader: Reader, ids: Sequence[str]) -> dict[str, TenantRow]:
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = reader.query(f"SELECT * FROM rm_tenants WHERE id IN ({marks})", tuple(ids))
    return {row["id"]: TenantRow.of(row) for row in rows}


def tenants_page(reader: Reader, first: int, after: Sequence[Any] | None) -> Page[TenantRow]:
    """Every tenant, by name."""
    return keyset_page(reader, "SELECT * FROM rm_tenants WHERE 1 = 1", (), ("name",), first,
                       after, TenantRow.of)


def all_tenants(reader: Reader) -> list[TenantRow]:
    return [TenantRow.of(r) for r in reader.query("SELECT * FROM rm_tenants ORDER BY name")]


def closed_tenant_ids(reader: Reader) -> list[str]:
    return [r["id"] for r in reader.query("SELECT id FROM rm_tenants WHERE status = 'closed'")]


def due_for_purge(reader: Reader, now: str) -> list[str]:
    """Closed tenants whose grace period ended by `now` and that are not purged yet."""
    return [r["id"] for r in reader.query(
        "SELECT id FROM rm_tenants WHERE status = 'closed' AND purged = 0 AND "
        "purge_after <= ?", (now,))]


def members(reader: Reader, tenant_id: str) -> list[MemberRow]:
    return [MemberRow(**r) for r in reader.query(
        "SELECT * FROM rm_members WHERE tenant_id = ? ORDER BY email", (tenant_id,))]


def role_of(reader: Reader, tenant_id: str, email: str) -> str | None:
    rows = reader.query("SELECT role FROM rm_members WHERE tenant_id = ? AND email = ?",
                        (tenant_id, email))
    return str(rows[0]["role"]) if rows else None


def operator_token_exists(reader: Reader) -> bool:
    return bool(reader.query(
        "SELECT id FROM rm_tokens WHERE scope = 'admin' AND revoked = 0 LIMIT 1"))


@dataclass(frozen=True)
class Counts:
    containers: int  # not removed, replicas included
    running: int
    services: int
    applications: int
    volumes: int


def counts(read: Reader, tenant_id: str) -> Counts:
    """How many workloads of each kind the tenant has: one indexed count each."""
    rows = read.query(
        "SELECT (SELECT COUNT(*) FROM rm_containers WHERE tenant_id = ? "
        "AND observed <> 'removed') AS containers, (SELECT COUNT(*) FROM rm_containers "
        "WHERE tenant_id = ? AND observed = 'running') AS running, (SELECT COUNT(*) FROM "
        "rm_services WHERE tenant_id = ? AND desired <> 'deleted') AS services, (SELECT "
        "COUNT(*) FROM rm_applications WHERE tenant_id = ? AND desired <> 'deleted') AS "
        "applications, (SELECT COUNT(*) FROM rm_volumes WHERE tenant_id = ? AND state <> "
        "'deleted') AS volumes", (tenant_id,) * 5)
    return Counts(**{key: int(value or 0) for key, value in rows[0].items()})
