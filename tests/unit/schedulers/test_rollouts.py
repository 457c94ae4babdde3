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
                                checked=True, replicas=replicas)
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
