"""Reads of the containers read model: for the API (a tenant's own), for the scheduler
(what is wanted, with the tenant's name), and for the timers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from wharf.domain.container import Desired, Observed
from wharf.domain.container_spec import ContainerSpec
from wharf.projections.reads import Page, Reader, keyset_page


@dataclass(frozen=True)
class ContainerRow:
    id: str
    tenant_id: str
    name: str
    image: str
    spec: ContainerSpec
    cpu_millis: int
    memory_mib: int
    desired: Desired
    observed: Observed
    host_id: str | None
    exit_code: int | None
    oom_killed: bool | None
    generation: int
    run_generation: int
    restarts: int
    started_at: str | None
    finished_at: str | None
    ports: dict[str, int]  # "80/tcp" -> host port
    unschedulable: dict[str, str]  # host name -> reason (operators')
    unschedulable_summary: list[str]  # the same in the tenant's terms
    failure: str | None
    disk_over_since: str | None
    service_id: str | None  # the service whose replica it is
    health: str | None  # its health check's verdict on this run (None: no verdict yet)
    config_version: int  # a replica's: its service's configuration it was made at
    pulling: str | None  # what its host pulls for it, and how far (None: nothing)
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> ContainerRow:
        return cls(**{
            **row,
            "spec": ContainerSpec.from_data(json.loads(row["spec"])),
            "desired": cast(Desired, row["desired"]),
            "observed": cast(Observed, row["observed"]),
            "oom_killed": None if row["oom_killed"] is None else bool(row["oom_killed"]),
            "ports": json.loads(row["ports"]),
            "unschedulable": json.loads(row["unschedulable"] or "{}"),
            "unschedulable_summary": json.loads(row["unschedulable_summary"] or "[]"),
        })


@dataclass(frozen=True)
class WantedRow:
    """A container as the scheduler sees it: with its tenant's name (a dedicated pool is
    named after its tenant) and, for a replica, its service's application and the name
    it answers to."""

    container: ContainerRow
    tenant: str
    application_id: str | None = None
    alias: str | None = None


def container(reader: Reader, container_id: str) -> ContainerRow | None:
    rows = reader.query("SELECT * FROM rm_containers WHERE id = ?", (container_id,))
    return ContainerRow.of(rows[0]) if rows else None


def owned(reader: Reader, container_id: str, tenant_id: str | None) -> ContainerRow | None:
    """The container if it belongs to `tenant_id` (None: any tenant, for operators)."""
    found = container(reader, container_id)
    if found is None or (tenant_id is not None and found.tenant_id != tenant_id):
        return None
    return found


def page_of(reader: Reader, tenant_id: str, first: int, after: Sequence[Any] | None,
            desired: str | None = None, observed: str | None = None,
            service_id: str | None = None) -> Page[ContainerRow]:
    """A tenant's containers, oldest first (deleted ones only when asked for): its own,
    or the replicas of one service."""
    sql = "SELECT * FROM rm_containers WHERE tenant_id = ?"
    params: tuple[Any, ...] = (tenant_id,)
    if service_id is None:
        sql += " AND service_id IS NULL"
    else:
        sql += " AND service_id = ?"
        params += (service_id,)
    if desired is not None:
        sql += " AND desired = ?"
        params += (desired,)
    else:
        sql += " AND desired != 'deleted'"
    if observed is not None:
        sql += " AND observed = ?"
        params += (observed,)
    return keyset_page(reader, sql, params, ("created_at", "id"), first, after,
                       ContainerRow.of)


def wanted(reader: Reader) -> list[WantedRow]:
    """Every container the scheduler still has something to do for (all but those
    deleted and seen removed)."""
    extra = ("tenant", "application", "alias")
    return [WantedRow(ContainerRow.of({k: v for k, v in r.items() if k not in extra}),
                      r["tenant"], r["application"], r["alias"]) for r in reader.query(
        "SELECT c.*, t.name AS tenant, s.application_id AS application, s.alias AS alias "
        "FROM rm_containers c JOIN rm_tenants t ON t.id = c.tenant_id "
        "LEFT JOIN rm_services s ON s.id = c.service_id "
        "WHERE NOT (c.desired = 'deleted' AND c.observed = 'removed')")]


@dataclass(frozen=True)
class RunningRow:
    id: str
    host_id: str
    endpoint: str


def running_on_hosts(reader: Reader) -> list[RunningRow]:
    """Containers seen running (and not being deleted), with their host's endpoint."""
    return [RunningRow(**r) for r in reader.query(
        "SELECT c.id, c.host_id, h.endpoint FROM rm_containers c JOIN rm_hosts h "
        "ON h.id = c.host_id WHERE c.observed = 'running' AND c.desired != 'deleted'")]


def live_tenant_ids(reader: Reader) -> set[str]:
    """The networks still needed: tenants with a container not yet both deleted and seen
    removed, and applications with such a replica."""
    return {str(r["key"]) for r in reader.query(
        "SELECT DISTINCT c.tenant_id AS key FROM rm_containers c "
        "WHERE NOT (c.desired = 'deleted' AND c.observed = 'removed') "
        "UNION SELECT DISTINCT s.application_id AS key FROM rm_containers c "
        "JOIN rm_services s ON s.id = c.service_id WHERE s.application_id IS NOT NULL "
        "AND NOT (c.desired = 'deleted' AND c.observed = 'removed')")}


@dataclass(frozen=True)
class RemovedRow:
    id: str
    updated_at: str
    plan: str
    plan_version: int


def removed_with_plans(reader: Reader) -> list[RemovedRow]:
    """Containers seen removed, with their tenant's plan (for log retention)."""
    return [RemovedRow(**r) for r in reader.query(
        "SELECT c.id, c.updated_at, t.plan, t.plan_version FROM rm_containers c "
        "JOIN rm_tenants t ON t.id = c.tenant_id WHERE c.observed = 'removed'")]


def wanted_running(reader: Reader) -> list[ContainerRow]:
    return [ContainerRow.of(r) for r in reader.query(
        "SELECT * FROM rm_containers WHERE desired = 'running'")]
