"""Moving an installation's workloads from one runtime to the other (`wharf runtime switch`).

The plan comes first: every container that is not deleted, where it runs now and what
becomes of it (run by the other runtime, or kept down there with the reason). Switching
takes the scheduler's leadership (a new term: a Wharf still running is fenced out of the
log), takes every workload down where it runs (each engine's Wharf containers, or every
swarm service and the gateway), records each container removed, then records the
switch. From then on Wharf starts only with that runtime; the other one, started with the
new WHARF_RUNTIME, runs everything again from the log.

Before anything is taken down, every place a workload runs must answer: a silent host
would keep its containers running beside their new copies.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import docker.errors

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.infra import gateway
from wharf.infra.bootstrap import Wiring
from wharf.projections.reads import containers as container_reads
from wharf.projections.reads import hosts as host_reads
from wharf.schedulers.leading import Leading
from wharf.schedulers.ports import LABEL_INSTALLATION, Engine, EngineError
from wharf.schedulers.swarm_runtime import refusal

TASKS_GONE = 60.0  # seconds the cluster has to stop every task of removed services


class SwitchRefused(Exception):
    """The switch cannot be made now; nothing was changed."""


@dataclass(frozen=True)
class Move:
    container_id: str
    name: str
    tenant: str
    where: str  # where it runs now
    becomes: str  # what the switch does with it


def current(wiring: Wiring) -> str:
    return wiring.app.runtime() or wiring.settings.runtime


def plan(wiring: Wiring, to: str) -> list[Move]:
    hosts = {h.id: h.name for h in host_reads.hosts(wiring.view)}
    moves = []
    for wanted in container_reads.wanted(wiring.view):
        row = wanted.container
        if row.desired == "deleted":
            if row.observed not in ("removed", "created"):  # (its run is taken down too)
                moves.append(Move(row.id, row.name, wanted.tenant,
                                  hosts.get(row.host_id or "", "not placed"),
                                  "taken down (deleted)"))
            continue
        where = hosts.get(row.host_id or "", "not placed") if row.observed in (
            "running", "paused", "exited", "created") else row.observed
        refused = refusal(row) if to == "swarm" else None
        becomes = (f"kept down: {refused}" if refused is not None
                   else f"{row.desired} on {to}")
        moves.append(Move(row.id, row.name, wanted.tenant, where, becomes))
    return moves


def switch(wiring: Wiring, to: str, say: Callable[[str], None] = print) -> int:
    """Takes every workload down where it runs and records the switch; how many
    containers were taken down. SwitchRefused when a place they run does not answer."""
    was = current(wiring)
    if to == was:
        raise SwitchRefused(f"this installation already runs on {to}")
    leading = Leading(wiring.app)
    leading.take()  # (a scheduler still running is fenced out of the log from now on)
    taken = _from_swarm(wiring, say) if was == "swarm" else _from_engines(wiring, say)
    for wanted in container_reads.wanted(wiring.view):
        if wanted.container.observed != "removed":
            leading.record(m.RecordRemoved, container_id=UUID(wanted.container.id))
    wiring.app.handle(m.SwitchRuntime(actor=Actor.operator(), runtime=to, moved=taken))
    return taken


def _from_engines(wiring: Wiring, say: Callable[[str], None]) -> int:
    connect = wiring.connector()
    engines: list[tuple[str, Engine, list[str]]] = []
    try:
        for host in host_reads.hosts(wiring.view):
            if host.state == "removed":
                continue
            engine = connect(host.id, host.endpoint, 10)
            engines.append((host.name, engine, []))
            try:
                engines[-1][2].extend(o.container_id for o in engine.containers())
            except EngineError as error:
                if host.containers:
                    raise SwitchRefused(f"host {host.name} does not answer ({error}): its "
                                        "containers would run twice; nothing was "
                                        "switched") from error
        taken = 0
        for name, each, held in engines:
            for container_id in held:
                each.stop(container_id, 10)
                each.remove(container_id)
                taken += 1
            if held:
                say(f"host {name}: {len(held)} containers taken down")
        return taken
    finally:
        for _, each, _ in engines:
            each.close()


def _from_swarm(wiring: Wiring, say: Callable[[str], None]) -> int:
    manager = wiring.settings.swarm_manager
    host = host_reads.named(wiring.view, manager)
    if host is None:
        raise SwitchRefused(f"no registered host {manager!r} (WHARF_SWARM_MANAGER) to take "
                            "the workloads down from; nothing was switched")
    cluster = wiring.swarm_cluster(host.id, host.endpoint)
    try:
        try:
            services = cluster.services()
        except EngineError as error:
            raise SwitchRefused(f"the swarm manager does not answer ({error}); nothing "
                                "was switched") from error
        tasks = sum(1 for t in cluster.tasks() if t.running)
        with contextlib.suppress(docker.errors.NotFound):
            cluster.api.remove_container(gateway.container_name(cluster.installation),
                                         force=True)
        # The nodes stop the removed services' containers after the manager forgets
        # them: wait until no engine runs one (the next runtime must not meet them),
        # removing again any service made meanwhile.
        deadline = time.monotonic() + TASKS_GONE
        while True:
            for name in cluster.services():
                cluster.remove_service(name)
            if not cluster.services() and not _still_running(wiring):
                break
            if time.monotonic() > deadline:
                raise SwitchRefused(
                    f"containers of this Wharf still run on the swarm's nodes after "
                    f"{TASKS_GONE:g} s (is a Wharf still running?): the switch is not "
                    "recorded; stop every Wharf and switch again")
            time.sleep(0.5)
        say(f"swarm: {len(services)} services and {tasks} running tasks taken down")
        return tasks
    finally:
        cluster.close()


def _still_running(wiring: Wiring) -> bool:
    """Whether any registered host's engine still runs a container of this Wharf."""
    connect = wiring.connector()
    label = f"{LABEL_INSTALLATION}={wiring.app.installation}"
    for host in host_reads.hosts(wiring.view):
        if host.state == "removed":
            continue
        engine = connect(host.id, host.endpoint, 10)
        try:
            if engine.api.containers(filters={"label": label}):
                return True
        except (EngineError, docker.errors.APIError, OSError):
            continue  # (a silent node: the manager stops its tasks when it is back)
        finally:
            engine.close()
    return False
