"""Reads of the audit trail and of quota rejections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wharf.projections.reads import Page, Reader, keyset_page


@dataclass(frozen=True)
class AuditRow:
    position: int
    tenant_id: str | None
    object_id: str
    kind: str
    version: int
    occurred_at: str
    actor: str
    cause: str
    type: str
    summary: str
    chain: str = ""  # this entry's link in its tenant's hash chain (audit_chain.py)


@dataclass(frozen=True)
class RejectionRow:
    id: str
    tenant_id: str
    command: str
    resource: str
    limit_value: int
    used: int
    requested: int
    actor: str
    occurred_at: str


def page_of(reader: Reader, tenant_id: str, first: int,
            after: Sequence[Any] | None) -> Page[AuditRow]:
    """A tenant's trail, newest first."""
    return keyset_page(reader, "SELECT * FROM rm_audit WHERE tenant_id = ?", (tenant_id,),
                       ("position",), first, after, lambda r: AuditRow(**r), descending=True)


def of_service(reader: Reader, tenant_id: str, service_id: str, first: int,
               after: Sequence[Any] | None) -> Page[AuditRow]:
    """A service's trail and its replicas', newest first."""
    return keyset_page(
        reader, "SELECT * FROM rm_audit WHERE tenant_id = ? AND (object_id = ? OR object_id "
        "IN (SELECT id FROM rm_containers WHERE service_id = ?))",
        (tenant_id, service_id, service_id), ("position",), first, after,
        lambda r: AuditRow(**r), descending=True)


def of_object(reader: Reader, tenant_id: str, object_id: str, first: int,
              after: Sequence[Any] | None) -> Page[AuditRow]:
    """One object's trail (a container, a volume...), newest first."""
    return keyset_page(
        reader, "SELECT * FROM rm_audit WHERE tenant_id = ? AND object_id = ?",
        (tenant_id, object_id), ("position",), first, after, lambda r: AuditRow(**r),
        descending=True)


def of_application(reader: Reader, tenant_id: str, application_id: str, first: int,
                   after: Sequence[Any] | None) -> Page[AuditRow]:
    """An application's trail, its services' and their replicas', newest first."""
    return keyset_page(
        reader, "SELECT * FROM rm_audit WHERE tenant_id = ? AND (object_id = ? OR object_id "
        "IN (SELECT id FROM rm_services WHERE application_id = ?) OR object_id IN "
        "(SELECT c.id FROM rm_containers c JOIN rm_services s ON s.id = c.service_id "
        "WHERE s.application_id = ?))",
        (tenant_id, application_id, application_id, application_id), ("position",), first,
        after, lambda r: AuditRow(**r), descending=True)


def platform_after(reader: Reader, position: int, limit: int) -> list[AuditRow]:
    """Every tenant's entries and the operators' after `position`, oldest first (the
    operators' `platformEvents`)."""
    return [AuditRow(**r) for r in reader.query(
        "SELECT * FROM rm_audit WHERE position > ? ORDER BY position LIMIT ?",
        (position, limit))]


def after(reader: Reader, tenant_id: str, position: int, limit: int) -> list[AuditRow]:
    """A tenant's entries after `position`, oldest first (a subscription, `events`)."""
    return [AuditRow(**r) for r in reader.query(
        "SELECT * FROM rm_audit WHERE tenant_id = ? AND position > ? "
        f"ORDER BY position LIMIT {int(limit)}", (tenant_id, position))]


def between(reader: Reader, tenant_id: str, since: str, until: str, position: int,
            limit: int) -> list[AuditRow]:
    """A tenant's entries that occurred in [since, until), after `position`, oldest
    first: an export reads them a page at a time."""
    return [AuditRow(**r) for r in reader.query(
        "SELECT * FROM rm_audit WHERE tenant_id = ? AND position > ? AND occurred_at >= ? "
        f"AND occurred_at < ? ORDER BY position LIMIT {int(limit)}",
        (tenant_id, position, since, until))]


CHAINED = ("position", "tenant_id", "object_id", "kind", "version", "occurred_at", "actor",
           "cause", "type", "summary")


def version_at(reader: Reader, object_id: str, at: str | None = None,
               position: int | None = None) -> int | None:
    """The version an object had at a moment (`at`: ISO UTC, as events are timed) or at a
    log position; None before it existed. (The audit trail indexes every event of a
    tenant's objects by object, position and time.)"""
    # (the newest entry at or before it, found by the index, not by scanning history)
    cond, order, value = ("position <= ?", "position DESC", position) \
        if position is not None else ("occurred_at <= ?", "occurred_at DESC, version DESC", at)
    rows = reader.query(f"SELECT version FROM rm_audit WHERE object_id = ? AND {cond} "
                        f"ORDER BY {order} LIMIT 1", (object_id, value))
    return int(rows[0]["version"]) if rows else None


def chain_after(reader: Reader, tenant_id: str | None, position: int, limit: int
                ) -> list[tuple[tuple[Any, ...], str]]:
    """A tenant's entries after `position` as the chain links them (None: the operators'
    entries), oldest first, each with its stored link."""
    where = "tenant_id = ?" if tenant_id is not None else "tenant_id IS NULL"
    params: tuple[Any, ...] = (tenant_id,) if tenant_id is not None else ()
    rows = reader.query(f"SELECT * FROM rm_audit WHERE {where} AND position > ? "
                        f"ORDER BY position LIMIT {int(limit)}", (*params, position))
    return [(tuple(row[field] for field in CHAINED), row["chain"]) for row in rows]


def chain_head(reader: Reader, tenant_id: str | None) -> tuple[int, str, int] | None:
    """(last position, last link, entries) of a tenant's chain; None before any entry."""
    rows = reader.query("SELECT position, chain, entries FROM rm_audit_heads "
                        "WHERE tenant_id = ?", (tenant_id or "",))
    return ((int(rows[0]["position"]), rows[0]["chain"], int(rows[0]["entries"]))
            if rows else None)


def rejections_page(reader: Reader, tenant_id: str | None, first: int,
                    after: Sequence[Any] | None) -> Page[RejectionRow]:
    """Quota rejections, newest first: a tenant's, or everyone's (operators)."""
    sql = "SELECT * FROM rm_quota_rejections WHERE 1 = 1"
    params: tuple[Any, ...] = ()
    if tenant_id is not None:
        sql, params = sql + " AND tenant_id = ?", (tenant_id,)
    return keyset_page(reader, sql, params, ("occurred_at", "id"), first, after,
                       lambda r: RejectionRow(**r), descending=True)
