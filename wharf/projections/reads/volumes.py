"""Reads of the volumes read model: volumes and their backups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wharf.projections.reads import Page, Reader, keyset_page


@dataclass(frozen=True)
class VolumeRow:
    id: str
    tenant_id: str
    name: str
    size_gib: int
    state: str  # active, restoring, deleted
    host_id: str | None
    restoring_from: str | None  # the backup it is filled from
    disk_over_since: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class BackupRow:
    id: str
    volume_id: str
    tenant_id: str
    state: str  # requested, done
    size_bytes: int | None
    sha256: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class VolumeWantRow:
    """A volume as the scheduler sees it: its tenant's name, the backups due, and what it
    is restored from."""

    volume: VolumeRow
    tenant: str
    backups_due: tuple[str, ...]
    restore: tuple[str, str] | None  # (source volume id, backup id)


def volume(reader: Reader, volume_id: str) -> VolumeRow | None:
    rows = reader.query("SELECT * FROM rm_volumes WHERE id = ?", (volume_id,))
    return VolumeRow(**rows[0]) if rows else None


def owned(reader: Reader, volume_id: str, tenant_id: str | None) -> VolumeRow | None:
    found = volume(reader, volume_id)
    if found is None or (tenant_id is not None and found.tenant_id != tenant_id):
        return None
    return found


def page_of(reader: Reader, tenant_id: str, first: int,
            after: Sequence[Any] | None) -> Page[VolumeRow]:
    return keyset_page(reader, "SELECT * FROM rm_volumes WHERE tenant_id = ? AND "
                               "state != 'deleted'", (tenant_id,), ("created_at", "id"),
                       first, after, lambda r: VolumeRow(**r))


def live_by_name(reader: Reader) -> dict[tuple[str, str], VolumeRow]:
    """Volumes not deleted, by (tenant id, name): how containers name them."""
    return {(r["tenant_id"], r["name"]): VolumeRow(**r) for r in reader.query(
        "SELECT * FROM rm_volumes WHERE state != 'deleted'")}


def over_their_size(reader: Reader) -> dict[tuple[str, str], str]:
    """Active volumes measured over their size: since when, by (tenant id, name)."""
    return {(r["tenant_id"], r["name"]): r["disk_over_since"] for r in reader.query(
        "SELECT tenant_id, name, disk_over_since FROM rm_volumes WHERE state = 'active' "
        "AND disk_over_since IS NOT NULL")}


def backups_of(reader: Reader, volume_id: str) -> list[BackupRow]:
    """Newest first."""
    return [BackupRow(**r) for r in reader.query(
        "SELECT * FROM rm_volume_backups WHERE volume_id = ? ORDER BY created_at DESC",
        (volume_id,))]


def wanted(reader: Reader) -> list[VolumeWantRow]:
    due: dict[str, list[str]] = {}
    for b in reader.query("SELECT id, volume_id FROM rm_volume_backups "
                          "WHERE state = 'requested' ORDER BY created_at"):
        due.setdefault(b["volume_id"], []).append(b["id"])
    sources = {b["id"]: b["volume_id"] for b in reader.query(
        "SELECT b.id, b.volume_id FROM rm_volume_backups b JOIN rm_volumes v "
        "ON v.restoring_from = b.id")}
    wants = []
    for r in reader.query("SELECT v.*, t.name AS tenant FROM rm_volumes v "
                          "JOIN rm_tenants t ON t.id = v.tenant_id"):
        row = VolumeRow(**{k: v for k, v in r.items() if k != "tenant"})
        restore = None
        if row.restoring_from is not None and row.restoring_from in sources:
            restore = (sources[row.restoring_from], row.restoring_from)
        wants.append(VolumeWantRow(row, r["tenant"], tuple(due.get(row.id, ())), restore))
    return wants
