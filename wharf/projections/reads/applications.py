"""Reads of the applications read model: a tenant's applications and their domains."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wharf.projections.reads import Page, Reader, keyset_page


@dataclass(frozen=True)
class ApplicationRow:
    id: str
    tenant_id: str
    name: str
    desired: str
    version: int
    entry: str | None
    services: dict[str, str]  # Compose service name -> service id, in the file's order
    warnings: list[str]
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> ApplicationRow:
        return cls(**{**row, "services": dict(json.loads(row["services"])),
                      "warnings": json.loads(row["warnings"])})


def application(reader: Reader, application_id: str) -> ApplicationRow | None:
    rows = reader.query("SELECT * FROM rm_applications WHERE id = ?", (application_id,))
    return ApplicationRow.of(rows[0]) if rows else None


def owned(reader: Reader, application_id: str, tenant_id: str | None) -> ApplicationRow | None:
    found = application(reader, application_id)
    if found is None or (tenant_id is not None and found.tenant_id != tenant_id):
        return None
    return found


def page_of(reader: Reader, tenant_id: str, first: int,
            after: Sequence[Any] | None) -> Page[ApplicationRow]:
    return keyset_page(reader, "SELECT * FROM rm_applications WHERE tenant_id = ? "
                       "AND desired != 'deleted'", (tenant_id,), ("created_at", "id"), first,
                       after, ApplicationRow.of)


def domains(reader: Reader, application_id: str) -> list[tuple[str, str]]:
    """(domain, Compose service) of every custom domain bound to it."""
    return [(r["domain"], r["service"]) for r in reader.query(
        "SELECT domain, service FROM rm_domains WHERE application_id = ? ORDER BY domain",
        (application_id,))]


def tenant_name(reader: Reader, tenant_id: str) -> str:
    rows = reader.query("SELECT name FROM rm_tenants WHERE id = ?", (tenant_id,))
    return str(rows[0]["name"]) if rows else ""
