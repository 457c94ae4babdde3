"""Commands per second through the command layer versus raw eventsourcing saves of the
same events, on SQLite and PostgreSQL (goal: ratio >= 70 %)."""

from __future__ import annotations

import statistics
import time
import uuid

from bench.common import SPEC, open_bench_app, scratch_store, tenants_in_memory
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.container import Container
from wharf.domain.plans import PlanCatalog, Resources

TENANTS = 20


def through_commands(url: str, count: int) -> float:
    app = open_bench_app(url)
    tenants = tenants_in_memory(app, TENANTS)
    owners = [Actor.member(t.members and next(iter(t.members)), t.id) for t in tenants]
    # Warm up: the first command of each tenant fills the aggregate cache.
    for i, tenant in enumerate(tenants):
        app.handle(m.CreateContainer(actor=owners[i], tenant_id=tenant.id, name="warm",
                                     spec={"image": "busybox"}))
    started = time.perf_counter()
    for i in range(count):
        t = i % TENANTS
        app.handle(m.CreateContainer(actor=owners[t], tenant_id=tenants[t].id, name=f"c{i}",
                                     spec={"image": "busybox"}))
    elapsed = time.perf_counter() - started
    app.close()
    return count / elapsed


def raw_saves(url: str, count: int) -> float:
    """The same two events per create, decided in memory and saved with app.save()."""
    app = open_bench_app(url)
    tenants = tenants_in_memory(app, TENANTS)
    plan = app.repository.get(PlanCatalog.ID).latest("unlimited")
    started = time.perf_counter()
    for i in range(count):
        tenant = tenants[i % TENANTS]
        container_id = uuid.uuid4()
        tenant.reserve_container(plan, f"c{i}", container_id,
                                 Resources(containers=1, cpu_millis=100, memory_mib=64), [])
        container = Container(id=container_id, tenant_id=tenant.id, name=f"c{i}", spec=SPEC,
                              cpu_millis=100, memory_mib=64, desired="running",
                              actor="member:bench", cause="CreateContainer")
        app.save(tenant, container)
    elapsed = time.perf_counter() - started
    app.close()
    return count / elapsed


def run(count: int = 3000, rounds: int = 3) -> list[str]:
    """Alternates the two paths, each on a fresh store, and compares their medians."""
    lines = []
    for kind in ("sqlite", "postgres"):
        command_rates, raw_rates = [], []
        for _ in range(rounds):
            with scratch_store(kind) as url:
                command_rates.append(through_commands(url, count))
            with scratch_store(kind) as url:
                raw_rates.append(raw_saves(url, count))
        commands, raw = statistics.median(command_rates), statistics.median(raw_rates)
        lines.append(f"commands/s  {kind:<8} command layer {commands:8,.0f}/s   raw saves "
                     f"{raw:8,.0f}/s   ratio {commands / raw:6.1%}   (goal >= 70%, median "
                     f"of {rounds} alternating runs of {count})")
        print(lines[-1], flush=True)
    return lines


if __name__ == "__main__":
    run()
