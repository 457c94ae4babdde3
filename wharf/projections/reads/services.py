"""Reads of the services read model: for the API (a tenant's own) and for the routes
controller (every balanced port, with the replicas that may serve it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from wharf.domain.container_spec import ContainerSpec
from wharf.domain.service import AutoscalePolicy, Category, Desired
from wharf.projections.reads import Page, Reader, keyset_page


@dataclass(frozen=True)
class ServiceRow:
    id: str
    tenant_id: str
    name: str
    category: Category
    image: str
    spec: ContainerSpec
    balanced: list[int]  # container ports with a load-balanced listener
    cpu_millis: int
    memory_mib: int
    desired: Desired
    replicas: int  # the count asked for
    endpoints: dict[int, int]  # balanced container port -> listener port on loopback
    autoscale: AutoscalePolicy | None
    scaled_at: str | None  # the last scale, and why
    scale_reason: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> ServiceRow:
        return cls(**{
            **row,
            "spec": ContainerSpec.from_data(json.loads(row["spec"])),
            "category": cast(Category, row["category"]),
            "desired": cast(Desired, row["desired"]),
            "balanced": json.loads(row["balanced"]),
            "endpoints": {int(k): v for k, v in json.loads(row["endpoints"]).items()},
            "autoscale": AutoscalePolicy.from_data(json.loads(row["autoscale"]))
            if row["autoscale"] else None,
        })


def service(reader: Reader, service_id: str) -> ServiceRow | None:
    rows = reader.query("SELECT * FROM rm_services WHERE id = ?", (service_id,))
    return ServiceRow.of(rows[0]) if rows else None


def owned(reader: Reader, service_id: str, tenant_id: str | None) -> ServiceRow | None:
    """The service if it belongs to `tenant_id` (None: any tenant, for operators)."""
    found = service(reader, service_id)
    if found is None or (tenant_id is not None and found.tenant_id != tenant_id):
        return None
    return found


def page_of(reader: Reader, tenant_id: str, first: int, after: Sequence[Any] | None,
            category: str | None = None) -> Page[ServiceRow]:
    """A tenant's services that are not deleted, oldest first."""
    sql = "SELECT * FROM rm_services WHERE tenant_id = ? AND desired != 'deleted'"
    params: tuple[Any, ...] = (tenant_id,)
    if category is not None:
        sql += " AND category = ?"
        params += (category,)
    return keyset_page(reader, sql, params, ("created_at", "id"), first, after,
                       ServiceRow.of)


def autoscaled(reader: Reader) -> list[ServiceRow]:
    """Services wanted running with an autoscale policy."""
    return [ServiceRow.of(r) for r in reader.query(
        "SELECT * FROM rm_services WHERE desired = 'running' AND autoscale IS NOT NULL")]


def running_replicas(reader: Reader, service_id: str) -> list[str]:
    """The ids of its replicas seen running."""
    return [r["id"] for r in reader.query(
        "SELECT id FROM rm_containers WHERE service_id = ? AND desired = 'running' "
        "AND observed = 'running'", (service_id,))]


def replica_counts(reader: Reader, service_id: str) -> dict[str, int]:
    """How many of its replicas are in each observed state (deleted ones left out)."""
    return {r["observed"]: int(r["n"]) for r in reader.query(
        "SELECT observed, COUNT(*) AS n FROM rm_containers WHERE service_id = ? "
        "AND desired != 'deleted' GROUP BY observed", (service_id,))}


def replica_names(reader: Reader, service_id: str) -> list[tuple[str, str]]:
    """(id, name) of every replica it ever had, for its logs (kept past deletion for the
    plan's retention), at most the newest MAX_REPLICAS * 2."""
    return [(r["id"], r["name"]) for r in reader.query(
        "SELECT id, name FROM rm_containers WHERE service_id = ? "
        "ORDER BY created_at DESC, id LIMIT 400", (service_id,))]


@dataclass(frozen=True)
class Upstream:
    """A replica that may serve: running, on a host whose address is known."""

    replica_id: str
    name: str
    host_port: int  # where its container port is published on loopback


@dataclass(frozen=True)
class Route:
    service_id: str
    tenant_id: str
    service: str
    container_port: int
    listen_port: int | None  # None until the scheduler assigns one
    upstreams: tuple[Upstream, ...]


def routes(reader: Reader) -> list[Route]:
    """Every balanced port of every service not deleted, with its running replicas (and
    healthy, when the service has a health check)."""
    services = [ServiceRow.of(r) for r in reader.query(
        "SELECT * FROM rm_services WHERE desired != 'deleted' AND balanced != '[]'")]
    if not services:
        return []
    running: dict[str, list[dict[str, Any]]] = {}
    for row in reader.query(
            "SELECT id, name, service_id, ports, health FROM rm_containers "
            "WHERE service_id IS NOT NULL "
            "AND desired = 'running' AND observed = 'running' ORDER BY name"):
        running.setdefault(row["service_id"], []).append(row)
    found = []
    for svc in services:
        replicas = running.get(svc.id, []) if svc.desired == "running" else []
        if svc.spec.health_check is not None:  # in rotation once its check passes
            replicas = [r for r in replicas if r["health"] == "healthy"]
        for port in svc.balanced:
            ups = []
            for replica in replicas:
                host_port = json.loads(replica["ports"]).get(f"{port}/tcp")
                if host_port:
                    ups.append(Upstream(replica["id"], replica["name"], int(host_port)))
            found.append(Route(svc.id, svc.tenant_id, svc.name, port,
                               svc.endpoints.get(port), tuple(ups)))
    return found
