"""Reads of the services read model: for the API (a tenant's own) and for the routes
controller (every balanced port, with the replicas that may serve it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from wharf.domain.container_spec import ContainerSpec
from wharf.domain.host import address_of
from wharf.domain.service import STATEFUL, AutoscalePolicy, Category, Desired, UpdatePolicy
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
    application_id: str | None
    alias: str  # the name its replicas answer to on their network
    depends_on: dict[str, str]  # in its application: service -> condition
    version: int  # of its configuration
    good_version: int  # the last version every replica ran
    retiring: dict[str, str]  # a rollout's pairs in progress: old replica -> successor
    update_policy: UpdatePolicy
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
            "depends_on": json.loads(row["depends_on"]),
            "retiring": json.loads(row["retiring"]),
            "update_policy": UpdatePolicy.from_data(json.loads(row["update_policy"])),
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


def waiting_on(reader: Reader) -> dict[str, str]:
    """Why an application's service may not start yet, by service id: a service it
    depends on has no replica placed yet (service_started: started after it, as
    `docker compose` orders them) or healthy (service_healthy; a dependency without a
    health check counts once running)."""
    services = reader.query(
        "SELECT id, application_id, alias, depends_on, spec FROM rm_services "
        "WHERE application_id IS NOT NULL AND desired != 'deleted'")
    by_name = {(r["application_id"], r["alias"]): r for r in services}
    states: dict[str, set[str]] = {}
    for row in reader.query(
            "SELECT c.service_id, c.health, c.observed FROM rm_containers c JOIN rm_services s "
            "ON s.id = c.service_id WHERE s.application_id IS NOT NULL "
            "AND c.desired = 'running' AND c.host_id IS NOT NULL"):
        states.setdefault(row["service_id"], set()).update(
            {"placed", *((row["health"] or "running",) if row["observed"] == "running"
                         else ())})
    waiting = {}
    for service in services:
        for name, condition in json.loads(service["depends_on"]).items():
            needed = by_name.get((service["application_id"], name))
            if needed is None:
                continue
            seen = states.get(needed["id"], set())
            checked = "health_check" in json.loads(needed["spec"])
            if not seen:
                waiting[service["id"]] = f"waiting for {name} to start"
            elif condition == "service_healthy" and "healthy" not in seen and (
                    checked or "running" not in seen):
                waiting[service["id"]] = f"waiting for {name} to be healthy"
    return waiting


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
    host_port: int  # where its container port is published on its host's address
    address: str = "127.0.0.1"  # its host's (address_of its endpoint)


@dataclass(frozen=True)
class Route:
    service_id: str
    tenant_id: str
    service: str
    container_port: int
    listen_port: int | None  # None until the scheduler assigns one
    upstreams: tuple[Upstream, ...]
    hosts: tuple[str, ...] = ()  # the names that reach it by Host header (applications)
    # Request headers the ingress sets on its way to the upstreams (a gateway that
    # routes by them, on the Swarm runtime).
    via: tuple[tuple[str, str], ...] = ()


def routes(reader: Reader, apps_domain: str = "apps.localhost") -> list[Route]:
    """Every balanced port of every service not deleted, with its running replicas (and
    healthy, when the service has a health check). An application's service is also
    reached by name, on its first balanced port: `<service>.<app>.<tenant>.<domain>`,
    `<app>.<tenant>.<domain>` for its entry service, and the custom domains bound to it."""
    services = [ServiceRow.of(r) for r in reader.query(
        "SELECT * FROM rm_services WHERE desired != 'deleted' AND balanced != '[]'")]
    if not services:
        return []
    names = _host_names(reader, apps_domain)
    running: dict[str, list[dict[str, Any]]] = {}
    for row in reader.query(
            "SELECT c.id, c.name, c.service_id, c.ports, c.health, h.endpoint "
            "FROM rm_containers c LEFT JOIN rm_hosts h ON h.id = c.host_id "
            "WHERE c.service_id IS NOT NULL "
            "AND c.desired = 'running' AND c.observed = 'running' ORDER BY c.name"):
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
                    ups.append(Upstream(replica["id"], replica["name"], int(host_port),
                                        address_of(replica["endpoint"] or "")))
            hosts = names.get(svc.id, ()) if port == svc.balanced[0] else ()
            found.append(Route(svc.id, svc.tenant_id, svc.name, port,
                               svc.endpoints.get(port), tuple(ups), tuple(sorted(hosts))))
    return found


def _host_names(reader: Reader, apps_domain: str) -> dict[str, list[str]]:
    """The names that reach each application's services, by service id."""
    found: dict[str, list[str]] = {}
    for row in reader.query(
            "SELECT s.id, s.alias, a.name AS app, a.entry, t.name AS tenant "
            "FROM rm_services s JOIN rm_applications a ON a.id = s.application_id "
            "JOIN rm_tenants t ON t.id = s.tenant_id "
            "WHERE s.desired != 'deleted' AND a.desired != 'deleted'"):
        base = f"{row['app']}.{row['tenant']}.{apps_domain}"
        found.setdefault(row["id"], []).append(f"{row['alias']}.{base}")
        if row["entry"] == row["alias"]:
            found[row["id"]].append(base)
    for row in reader.query(
            "SELECT d.domain, s.id FROM rm_domains d JOIN rm_services s "
            "ON s.application_id = d.application_id AND s.alias = d.service "
            "WHERE s.desired != 'deleted'"):
        found.setdefault(row["id"], []).append(row["domain"])
    return found


@dataclass(frozen=True)
class ReplicaState:
    id: str
    name: str
    config_version: int
    observed: str
    health: str | None
    restarts: int
    failure: str | None
    started_at: str | None
    exit_code: int | None


@dataclass(frozen=True)
class RolloutRow:
    """A service whose replicas do not all run its current configuration yet."""

    id: str
    name: str
    version: int
    good_version: int
    retiring: dict[str, str]  # old replica -> its successor
    parallelism: int
    monitor_s: int
    failure_action: str
    stop_first: bool  # each old replica goes before its successor is made, in its slot
    delay_s: int  # between one batch counting and the next starting
    checked: bool  # it has a health check: a successor counts once healthy
    replicas: tuple[ReplicaState, ...]


def rollouts(reader: Reader) -> list[RolloutRow]:
    """Services wanted running whose rollout is not finished: a version not yet rolled
    out, pairs in progress, or a replica of another version (one a rollback left)."""
    rows = reader.query(
        "SELECT id, name, category, version, good_version, retiring, update_policy, spec "
        "FROM rm_services s WHERE desired = 'running' "
        "AND (version != good_version OR retiring != '{}' OR EXISTS (SELECT 1 FROM "
        "rm_containers c WHERE c.service_id = s.id AND c.desired != 'deleted' "
        "AND c.config_version != s.version))")
    if not rows:
        return []
    replicas: dict[str, list[ReplicaState]] = {}
    marks = ", ".join("?" * len(rows))
    for r in reader.query(
            "SELECT id, name, service_id, config_version, observed, health, restarts, failure, "
            f"started_at, exit_code FROM rm_containers WHERE service_id IN ({marks}) "
            "AND desired != 'deleted' ORDER BY name", tuple(row["id"] for row in rows)):
        service_id = r.pop("service_id")
        replicas.setdefault(service_id, []).append(ReplicaState(**r))
    found = []
    for row in rows:
        policy = UpdatePolicy.from_data(json.loads(row["update_policy"]))
        found.append(RolloutRow(
            id=row["id"], name=row["name"], version=row["version"],
            good_version=row["good_version"], retiring=json.loads(row["retiring"]),
            parallelism=policy.parallelism, monitor_s=policy.monitor_s,
            failure_action=policy.failure_action,
            stop_first=row["category"] in STATEFUL or policy.order == "stop-first",
            delay_s=policy.delay_s,
            checked="health_check" in json.loads(row["spec"]),
            replicas=tuple(replicas.get(row["id"], ()))))
    return found
