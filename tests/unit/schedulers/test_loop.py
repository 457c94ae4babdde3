"""The scheduler's loop on engines held in memory (schedulers/memory_engine.py), with a
store on SQLite and clocks the test drives: placement, drift, refusals and backoff, the
busy set, host loss and recovery, restarts, fencing. The same behaviour is tested against
real Docker in tests/integration/docker; these run in seconds and can make an engine
misbehave at will."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from tests.conftest import DrivenClock, settings_for
from tests.integration.helpers import TenantHandle, create_container, make_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.errors import Conflict
from wharf.infra.bootstrap import Wiring, build
from wharf.schedulers import fleet
from wharf.schedulers.memory_engine import MemoryEngine
from wharf.schedulers.ports import Capacity
from wharf.schedulers.scheduler import Scheduler

A, B = "unix:///run/memory-a.sock", "unix:///run/memory-b.sock"
STRANGER = "00000000-0000-4000-8000-00000000dead"  # labelled by another Wharf


class Ticks:
    """A monotonic clock the test moves (the retries' clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    wiring: Wiring
    clock: DrivenClock
    ticks: Ticks
    engines: dict[str, MemoryEngine]
    scheduler: Scheduler
    tenant: TenantHandle

    def passes(self, count: int = 1) -> None:
        """Passes as the loop makes them: each reads a read side that holds every write
        made before it."""
        for _ in range(count):
            self.wiring.projector.catch_up()
            self.scheduler.run_pass()
        self.wiring.projector.catch_up()

    def row(self, container_id: UUID) -> dict[str, object]:
        [found] = self.wiring.view.query("SELECT * FROM rm_containers WHERE id = ?",
                                         (str(container_id),))
        return found

    def host_of(self, container_id: UUID) -> str:
        return next(e for e, engine in self.engines.items()
                    if engine.state(str(container_id)) is not None)

    def host_id(self, endpoint: str) -> str:
        [row] = self.wiring.view.query("SELECT id FROM rm_hosts WHERE endpoint = ?",
                                       (endpoint,))
        return str(row["id"])

    def new_scheduler(self) -> Scheduler:
        return Scheduler(self.wiring.app, self.wiring.view, lambda _, e: self.engines[e],
                         self.clock, lambda position, timeout: self.wiring.projector.catch_up(),
                         host_grace=30.0, monotonic=self.ticks)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = DrivenClock()
    wiring = build(settings_for(f"sqlite:///{tmp_path / 'wharf.db'}", tmp_path / "home"),
                   clock=clock)
    engines = {endpoint: MemoryEngine(endpoint, Capacity(2000, 4096), now=clock.now)
               for endpoint in (A, B)}
    for endpoint in engines:
        wiring.app.handle(m.RegisterHost(actor=Actor.operator("test"), endpoint=endpoint,
                                         name=endpoint[6:14], cpu_millis=2000,
                                         memory_mib=4096))
    tenant = make_tenant(wiring, plan="unlimited")
    wiring.projector.catch_up()
    ticks = Ticks()
    placeholder = World(wiring, clock, ticks, engines, None, tenant)  # type: ignore[arg-type]
    placeholder.scheduler = placeholder.new_scheduler()
    try:
        yield placeholder
    finally:
        placeholder.scheduler.close()
        wiring.close()


def test_a_new_container_is_placed_created_and_started_and_a_quiet_pass_does_nothing(
    world: World,
) -> None:
    cid = create_container(world.wiring, world.tenant, "web")
    world.passes(2)
    row = world.row(cid)
    assert row["observed"] == "running" and row["host_id"] is not None
    engine = world.engines[world.host_of(cid)]
    assert engine.state(str(cid)) == "running"
    before = sum(e.mutating_calls() for e in world.engines.values())
    world.passes(3)
    assert sum(e.mutating_calls() for e in world.engines.values()) == before


def test_replicas_of_load_spread_and_a_full_host_is_passed_over(world: World) -> None:
    ids = [create_container(world.wiring, world.tenant, f"c{i}", cpu_millis=800)
           for i in range(4)]
    world.passes(2)
    hosts = [world.host_of(cid) for cid in ids]
    assert sorted(hosts.count(e) for e in (A, B)) == [2, 2]
    fifth = create_container(world.wiring, world.tenant, "too-much", cpu_millis=800)
    world.passes()
    assert world.row(fifth)["observed"] == "pending"
    assert world.row(fifth)["unschedulable_summary"] == (
        '["no room for the 800m CPU it reserves"]')


def test_drift_behind_wharfs_back_is_repaired(world: World) -> None:
    lost, paused = (create_container(world.wiring, world.tenant, n) for n in ("lost", "frozen"))
    world.passes(2)
    world.engines[world.host_of(lost)].lose(str(lost))
    engine = world.engines[world.host_of(paused)]
    engine.pause(str(paused))
    world.engines[A].add_stranger(STRANGER)
    world.passes(3)
    assert world.engines[world.host_of(lost)].state(str(lost)) == "running"
    assert engine.state(str(paused)) == "running"
    assert world.engines[A].state(STRANGER) is None
    assert world.row(lost)["observed"] == "running"


def test_a_refused_create_backs_off_and_is_tried_again_later(world: World) -> None:
    for engine in world.engines.values():
        engine.refuse("create", "the engine is busy", times=1)
    cid = create_container(world.wiring, world.tenant, "web")
    world.passes()  # placed, and the create refused
    host = world.row(cid)["host_id"]
    engine = next(e for e in world.engines.values() if e.calls["create"])
    assert engine.calls["create"] == 1
    world.passes(3)  # backing off: not tried again before its time
    assert engine.calls["create"] == 1 and world.row(cid)["observed"] == "pending"
    world.ticks.now += 2.5  # past the first backoff (2 s)
    world.passes(2)
    assert engine.calls["create"] == 2 and world.row(cid)["observed"] == "running"
    assert world.row(cid)["host_id"] == host  # where it was placed


def test_a_refusal_the_tenant_can_act_on_is_shown_as_its_failure(world: World) -> None:
    for engine in world.engines.values():
        engine.refuse("create", "No such image: nope:1", transient=False)
    cid = create_container(world.wiring, world.tenant, "ghost")
    world.passes()
    assert world.row(cid)["failure"] == "No such image: nope:1"


def test_a_container_whose_action_runs_is_left_out_of_the_next_passes(world: World) -> None:
    cid = create_container(world.wiring, world.tenant, "slow")
    for engine in world.engines.values():
        engine.stall("create")
    world.wiring.projector.catch_up()
    first = world.scheduler.run_pass(wait=False)  # placed, its create stuck in the engine
    assert [a.kind for a in first.actions] == ["place"]
    second = world.scheduler.run_pass(wait=False)
    assert second.actions == []  # busy: not planned twice
    for engine in world.engines.values():
        engine.release()
    world.scheduler.queue.close()  # (the stuck action finishes)
    world.wiring.projector.catch_up()
    assert world.engines[world.host_of(cid)].calls["create"] == 1


def test_a_silent_host_is_lost_after_the_grace_and_its_containers_move(world: World) -> None:
    ids = [create_container(world.wiring, world.tenant, f"c{i}") for i in range(4)]
    world.passes(2)
    gone = world.host_of(ids[0])
    moving = [cid for cid in ids if world.host_of(cid) == gone]
    world.engines[gone].vanish()
    world.passes()
    [host] = world.wiring.view.query("SELECT state FROM rm_hosts WHERE endpoint = ?", (gone,))
    assert host["state"] == "active"  # silent, within its grace
    world.clock.advance(seconds=31)
    world.passes(3)
    [host] = world.wiring.view.query("SELECT state FROM rm_hosts WHERE endpoint = ?", (gone,))
    assert host["state"] == "lost"
    other = B if gone == A else A
    for cid in moving:
        assert world.row(cid)["host_id"] == world.host_id(other)
        assert world.engines[other].state(str(cid)) == "running"
    world.engines[gone].come_back()
    world.passes(2)
    [host] = world.wiring.view.query("SELECT state FROM rm_hosts WHERE endpoint = ?", (gone,))
    assert host["state"] == "active"
    assert all(world.engines[gone].state(str(cid)) is None for cid in moving)  # stale copies


def test_an_exit_is_restarted_per_its_policy_after_its_backoff(world: World) -> None:
    cid = create_container(world.wiring, world.tenant, "flaky", restart_policy="on-failure")
    world.passes(2)
    engine = world.engines[world.host_of(cid)]
    engine.kill(str(cid), exit_code=1)
    world.passes()  # the exit recorded; its restart due in 0.5 s
    assert world.row(cid)["observed"] == "exited" and world.row(cid)["exit_code"] == 1
    world.passes()
    assert engine.state(str(cid)) == "exited"  # not before its time
    world.clock.advance(seconds=1)
    world.passes(2)
    row = world.row(cid)
    assert row["observed"] == "running" and row["restarts"] == 1
    assert row["exit_code"] is None  # the new run has no exit yet


def test_a_stale_leader_is_fenced_off(world: World) -> None:
    cid = create_container(world.wiring, world.tenant, "web")
    world.scheduler.lead()
    successor = world.new_scheduler()
    successor.lead()  # a new term: the first scheduler's writes are refused
    with pytest.raises(Conflict, match="term 1 is over"):
        world.wiring.app.handle(world.scheduler._cmd(m.PlaceContainer, container_id=cid,
                                                     host_id=UUID(world.host_id(A))))
    successor.run_pass()
    world.wiring.projector.catch_up()
    successor.run_pass()
    world.wiring.projector.catch_up()
    assert world.row(cid)["observed"] == "running"
    successor.close()


def test_an_engine_event_wakes_the_loop(world: World) -> None:
    cid = create_container(world.wiring, world.tenant, "web")
    world.passes(2)
    engine = world.engines[world.host_of(cid)]
    woken = threading.Event()
    assert world.scheduler.fleet.wake == world.scheduler.nudge  # the fleet wakes the loop
    world.scheduler.fleet.wake = woken.set
    engine.kill(str(cid), exit_code=0)
    assert woken.wait(5)


def test_the_pass_that_removes_a_tenants_last_container_on_a_host_removes_its_network(
    world: World,
) -> None:
    first = create_container(world.wiring, world.tenant, "one", cpu_millis=1500)
    second = create_container(world.wiring, world.tenant, "two", cpu_millis=1500)
    world.passes(2)
    engines = {world.host_of(first), world.host_of(second)}
    assert engines == {A, B}  # one each: neither host has room for both
    engine = world.engines[world.host_of(first)]
    assert engine.networks == {str(world.tenant.id)}
    world.wiring.app.handle(m.DeleteContainer(actor=world.tenant.owner, container_id=first))
    world.passes()
    assert engine.state(str(first)) is None
    assert engine.networks == set()
    other = world.engines[world.host_of(second)]
    assert other.networks == {str(world.tenant.id)}  # its container is still there

    # A refusal leaves the network for the timer: the removal itself is done.
    world.wiring.app.handle(m.DeleteContainer(actor=world.tenant.owner, container_id=second))
    other.refuse("release_network")
    world.passes()
    assert other.state(str(second)) is None and other.networks == {str(world.tenant.id)}
    assert world.row(second)["observed"] == "removed"


def test_a_stop_is_heard_while_the_read_side_never_catches_up(world: World) -> None:
    """`wharf up` stops its consumers before its scheduler: a pass waiting for them
    must not wait out its whole deadline (30 s) before the process can end."""
    asked = threading.Event()

    def never(position: int, timeout: float) -> None:
        asked.set()
        threading.Event().wait(timeout)  # a read side that does not move
        raise TimeoutError(position)

    scheduler = Scheduler(world.wiring.app, world.wiring.view, lambda _, e: world.engines[e],
                          world.clock, never, host_grace=30.0, monotonic=world.ticks)
    runner = threading.Thread(target=scheduler.run_forever, daemon=True)
    runner.start()
    try:
        assert asked.wait(10)
        scheduler.stop()
        runner.join(5)
        assert not runner.is_alive()
    finally:
        scheduler.stop()
        runner.join(35)
        scheduler.close()


def test_a_host_that_holds_its_listing_holds_no_pass(world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine that answers a byte at a time (a per-read timeout never fires) counts as
    silent once LIST_DEADLINE is up: the pass goes on for every other host, and after
    the grace the held host is lost like a silent one."""
    monkeypatch.setattr(fleet, "LIST_DEADLINE", 0.2)
    ids = [create_container(world.wiring, world.tenant, f"c{i}") for i in range(4)]
    world.passes(2)
    held = world.host_of(ids[0])
    other = B if held == A else A
    moving = [cid for cid in ids if world.host_of(cid) == held]
    world.engines[held].stall("containers")
    try:
        began = time.monotonic()
        world.passes()
        assert time.monotonic() - began < 5
        world.clock.advance(seconds=31)
        world.passes(3)
        [host] = world.wiring.view.query("SELECT state FROM rm_hosts WHERE endpoint = ?",
                                         (held,))
        assert host["state"] == "lost"
        assert all(world.engines[other].state(str(cid)) == "running" for cid in moving)
    finally:
        world.engines[held].release()
