"""Shared set-up for the benchmarks: scratch stores and fast ways to fill them."""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.ports import MemoryDataKeys
from wharf.domain.container import Container
from wharf.domain.plans import PlanCatalog, Resources
from wharf.domain.tenant import Tenant
from wharf.infra.bootstrap import open_app

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SPEC = {"image": "busybox", "command": [], "entrypoint": [], "env": {}, "secrets": [],
        "ports": [], "cpu_millis": None, "memory_mib": None, "volumes": [],
        "restart_policy": "no"}


@contextlib.contextmanager
def scratch_store(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="wharf-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    name = f"wharf_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def tenants_in_memory(app: Wharf, count: int) -> list[Tenant]:
    """Registers `count` tenants on the unlimited plan and returns them, kept in memory."""
    op = Actor.operator("bench").label
    tenants = [Tenant(id=Tenant.id_for(f"bench-{i}"), name=f"bench-{i}", plan_name="unlimited",
                      plan_version=1, owner=f"o@bench{i}.io", actor=op, cause="bench")
               for i in range(count)]
    app.save(*tenants)
    return tenants


def fill(app: Wharf, events: int, per_save: int = 200, report: bool = True) -> int:
    """Appends about `events` events (container creates, stops, starts) in batched saves.

    Raw eventsourcing saves of real domain events; this is how the projection and replay
    benchmarks get a big log quickly.
    """
    catalog = app.repository.get(PlanCatalog.ID)
    plan = catalog.latest("unlimited")
    tenants = tenants_in_memory(app, 100)
    actor = "member:bench"
    written = 0
    n = 0
    started = time.monotonic()
    last_report = started
    while written < events:
        batch: list[object] = []
        touched: dict[uuid.UUID, Tenant] = {}
        for _ in range(per_save // 4):
            tenant = tenants[n % len(tenants)]
            tenant.stamp(actor, "CreateContainer")
            container_id = uuid.uuid4()
            tenant.reserve_container(plan, f"c{n}", container_id,
                                     Resources(containers=1, cpu_millis=100, memory_mib=64), [])
            container = Container(id=container_id, tenant_id=tenant.id, name=f"c{n}",
                                  spec=SPEC, cpu_millis=100, memory_mib=64, desired="running",
                                  actor=actor, cause="CreateContainer")
            container.stamp(actor, "StopContainer")
            container.stop()
            container.start()
            touched[tenant.id] = tenant
            batch.append(container)
            n += 1
        batch.extend(touched.values())
        recordings = app.save(*batch)  # type: ignore[arg-type]
        written += len(recordings)
        now = time.monotonic()
        if report and now - last_report > 2:
            print(f"  filling: {written:,}/{events:,} events "
                  f"({written / (now - started):,.0f}/s)", flush=True)
            last_report = now
    return written


def open_bench_app(url: str) -> Wharf:
    app = open_app(url, pool_size=4, keys=MemoryDataKeys())  # (benchmarks seal no secret)
    app.seed()
    return app


def fill_containers(url: str, tenants: int, per_tenant: int, desired: str,
                    prefix: str) -> list[str]:
    """`tenants` tenants of `per_tenant` containers each, saved directly (one save a
    tenant). Returns the tenants' ids."""
    app = open_bench_app(url)
    plan = app.repository.get(PlanCatalog.ID).latest("unlimited")
    op = Actor.operator("bench").label
    ids = []
    for t in range(tenants):
        tenant = Tenant(id=Tenant.id_for(f"{prefix}-{t}"), name=f"{prefix}-{t}",
                        plan_name="unlimited", plan_version=1, owner=f"o@{prefix}{t}.io",
                        actor=op, cause="bench")
        batch: list[Any] = []
        for c in range(per_tenant):
            container_id = uuid.uuid4()
            tenant.reserve_container(plan, f"c{c}", container_id,
                                     Resources(containers=1, cpu_millis=100, memory_mib=64), [])
            batch.append(Container(id=container_id, tenant_id=tenant.id, name=f"c{c}",
                                   spec=SPEC, cpu_millis=100, memory_mib=64, desired=desired,
                                   actor=op, cause="bench"))
        app.save(tenant, *batch)
        ids.append(str(tenant.id))
    app.close()
    return ids
