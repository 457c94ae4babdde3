"""A rollout's steps, decided from the read side alone: replace a few at a time, retire
an old replica only once its successor is ready, roll back when a successor fails."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from wharf.projections.reads.services import ReplicaState, RolloutRow
from wharf.schedulers.rollouts import step

NOW = datetime(2026, 11, 29, 12, 0, 30, tzinfo=UTC)
LONG_AGO = "2026-11-29T12:00:00Z"
JUST_NOW = "2026-11-29T12:00:28Z"


def replica(ident: str, version: int, **fields: Any) -> ReplicaState:
    base: dict[str, Any] = dict(id=ident, name=f"web.{ident}", config_version=version,
                                observed="running", health="healthy", restarts=0,
                                failure=None, started_at=LONG_AGO, exit_code=None)
    return ReplicaState(**{**base, **fields})


def service(*replicas: ReplicaState, **fields: Any) -> RolloutRow:
    base: dict[str, Any] = dict(id="svc", name="web", version=2, good_version=1, retiring={},
                                parallelism=1, monitor_s=5, failure_action="rollback",
                                stop_first=False, delay_s=0, checked=True, replicas=replicas)
    return RolloutRow(**{**base, **fields})


def test_old_replicas_are_replaced_parallelism_at_a_time() -> None:
    old = [replica(f"o{i}", 1) for i in range(3)]
    action = step(service(*old), NOW)
    assert action is not None and (action.kind, action.replicas) == ("roll", ("o0",))
    action = step(service(*old, parallelism=2), NOW)
    assert action is not None and action.replicas == ("o0", "o1")


def test_an_old_replica_leaves_only_once_its_successor_is_ready() -> None:
    old, new = replica("o0", 1), replica("n0", 2, health="starting")
    assert step(service(old, new, retiring={"o0": "n0"}), NOW) is None  # not healthy yet
    new = replace(new, health="healthy", started_at=JUST_NOW)
    assert step(service(old, new, retiring={"o0": "n0"}), NOW) is None  # not monitored long
    new = replace(new, started_at=LONG_AGO)
    action = step(service(old, new, retiring={"o0": "n0"}), NOW)
    assert action is not None and (action.kind, action.replicas) == ("retire", ("o0",))
    unchecked = replace(new, health=None)
    action = step(service(old, unchecked, retiring={"o0": "n0"}, checked=False), NOW)
    assert action is not None and action.kind == "retire"


def test_a_failing_successor_rolls_the_service_back_unless_told_otherwise() -> None:
    old = replica("o0", 1)
    for failing in (replica("n0", 2, observed="exited", exit_code=3, restarts=1),
                    replica("n0", 2, health="unhealthy"),
                    replica("n0", 2, observed="pending", failure="no such image")):
        action = step(service(old, failing, retiring={"o0": "n0"}), NOW)
        assert action is not None and action.kind == "roll-back", failing
        assert "version 2 failed: replica web.n0" in action.reason
        assert step(service(old, failing, retiring={"o0": "n0"}, failure_action="pause"),
                    NOW) is None
    # A rollback's own version is not rolled back again: it waits for its replicas.
    failing = replica("n0", 2, observed="exited", restarts=1)
    assert step(service(old, failing, retiring={"o0": "n0"}, good_version=2), NOW) is None


def test_a_rollout_finishes_when_every_replica_runs_the_version() -> None:
    action = step(service(replica("n0", 2), replica("n1", 2)), NOW)
    assert action is not None and action.kind == "finish-rollout"
    assert step(service(replica("n0", 2), good_version=2), NOW) is None


def test_stop_first_replaces_in_place_and_waits_for_the_new_replica_to_count() -> None:
    old = [replica(f"o{i}", 1) for i in range(2)]
    action = step(service(*old, stop_first=True), NOW)
    assert action is not None and (action.kind, action.replicas) == ("roll", ("o0",))
    # o0 gone, n0 in its slot: the next waits while n0 is not ready ...
    starting = replica("n0", 2, observed="pending", started_at=None)
    assert step(service(starting, old[1], stop_first=True), NOW) is None
    assert step(service(replace(starting, observed="running", started_at=JUST_NOW),
                        old[1], stop_first=True), NOW) is None
    # ... and once it counts, o1 goes.
    action = step(service(replica("n0", 2), old[1], stop_first=True), NOW)
    assert action is not None and (action.kind, action.replicas) == ("roll", ("o1",))
    action = step(service(replica("n0", 2), replica("n1", 2), stop_first=True), NOW)
    assert action is not None and action.kind == "finish-rollout"


def test_stop_first_rolls_back_when_a_replica_of_the_new_version_fails() -> None:
    failing = replica("n0", 2, observed="exited", exit_code=1, restarts=2)
    action = step(service(failing, replica("o1", 1), stop_first=True), NOW)
    assert action is not None and action.kind == "roll-back"
    assert "replica web.n0: it exited (1)" in action.reason
    # Rolled back to version 1: the failing replica (now stale) is replaced first.
    action = step(service(replica("o1", 1), replace(failing, config_version=2),
                          version=1, good_version=1, stop_first=True), NOW)
    assert action is not None and (action.kind, action.replicas) == ("roll", ("n0",))


def test_the_delay_passes_between_batches() -> None:
    ready_at = replica("n0", 2, started_at=JUST_NOW)  # running 2 s, monitored 0 s
    old = replica("o1", 1)
    assert step(service(ready_at, old, monitor_s=0, delay_s=10), NOW) is None
    action = step(service(ready_at, old, monitor_s=0, delay_s=1), NOW)
    assert action is not None and action.replicas == ("o1",)
