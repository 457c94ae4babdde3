"""The rollouts controller: replaces a service's replicas with replicas of its current
configuration, `parallelism` at a time, and rolls back by itself when a new replica
fails (it exits, turns unhealthy or cannot be created) unless the service's update
policy says to pause or continue. Start-first (the default), the old replicas serve
until their successors are ready: running, healthy when the service has a check, for
`monitor_s` seconds. Stop-first (asked for, or a `data`/`disk` service, whose replicas
keep their volumes), each old replica is deleted and its successor made in its slot; the
next batch waits until the new ones are ready. Either way `delay_s` passes between
batches.

`step()` is the pure decision, one per service per pass; each step is recorded through
a command before it takes effect (`Rolled`, `Retired`, `RolledBack`, `RolloutFinished`),
and the containers controller does the rest, as for any replica.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.domain.errors import DomainError, InvalidInput, QuotaExceeded
from wharf.projections.reads import Reader
from wharf.projections.reads import services as service_reads
from wharf.projections.reads.services import ReplicaState, RolloutRow
from wharf.schedulers.actions import ActionKind
from wharf.schedulers.leading import Leading
from wharf.schedulers.reconcile import docker_time

log = logging.getLogger(__name__)
ROLLBACK_ACTOR = Actor.system("rollout")


@dataclass(frozen=True)
class RolloutAction:
    kind: ActionKind
    service_id: str
    replicas: tuple[str, ...] = ()  # ROLL: the old ones; RETIRE: the one
    reason: str = ""  # ROLLBACK
    version: int = 0  # ROLL: the version it rolls out
    roll_back_if_refused: bool = False  # ROLL: a version that cannot be made goes back

    @property
    def key(self) -> str:
        return f"rollout:{self.service_id}"


def _failed(replica: ReplicaState) -> str | None:
    if replica.failure:
        return replica.failure
    if replica.health == "unhealthy":
        return "its health check fails"
    if replica.restarts > 0 or replica.observed == "exited":
        return f"it exited ({replica.exit_code})" if replica.exit_code is not None \
            else "it exited"
    return None


def _ready(replica: ReplicaState, checked: bool, monitor_s: int, now: datetime) -> bool:
    if replica.observed != "running" or not replica.started_at:
        return False
    if checked and replica.health != "healthy":
        return False
    return docker_time(replica.started_at) + timedelta(seconds=monitor_s) <= now


def step(service: RolloutRow, now: datetime) -> RolloutAction | None:
    """The next step of a service's rollout, or None while it waits."""
    by_id = {r.id: r for r in service.replicas}
    fresh = [r for r in service.replicas if r.config_version == service.version]
    # On trial: start-first, the successors made beside the old replicas; stop-first,
    # every replica of the version (each took an old one's slot).
    trial = fresh if service.stop_first else \
        [by_id[new] for new in service.retiring.values() if new in by_id]
    for replica in trial:
        why = _failed(replica)
        if why is None:
            continue
        if service.failure_action == "rollback" and service.good_version != service.version:
            return RolloutAction(ActionKind.ROLL_BACK, service.id, reason=(
                f"version {service.version} failed: replica {replica.name}: {why}"))
        if service.failure_action == "pause":
            return None
    for old, new in service.retiring.items():
        successor = by_id.get(new)
        if successor is not None and _ready(successor, service.checked, service.monitor_s,
                                            now):
            return RolloutAction(ActionKind.RETIRE, service.id, (old,))
    if service.retiring:
        return None
    # The next batch once every replica of the version counts, and `delay_s` after.
    if any(not _ready(r, service.checked, service.monitor_s + service.delay_s, now)
           for r in fresh if _failed(r) is None):
        return None
    stale = sorted((r for r in service.replicas if r.config_version != service.version),
                   key=lambda r: _failed(r) is None)  # (a failing one first)
    if stale:
        return RolloutAction(
            ActionKind.ROLL, service.id, tuple(r.id for r in stale[:max(1, service.parallelism)]),
            version=service.version, roll_back_if_refused=service.failure_action == "rollback"
            and service.good_version != service.version)
    if service.good_version != service.version:
        return RolloutAction(ActionKind.FINISH_ROLLOUT, service.id)
    return None


class RolloutsController:
    def __init__(self, app: Wharf, reader: Reader, leading: Leading) -> None:
        self.app = app
        self.reader = reader
        self.leading = leading

    @property
    def kinds(self) -> frozenset[ActionKind]:
        return frozenset({ActionKind.ROLL, ActionKind.RETIRE, ActionKind.ROLL_BACK,
                          ActionKind.FINISH_ROLLOUT})

    def plan(self, now: datetime) -> list[RolloutAction]:
        actions = []
        for service in service_reads.rollouts(self.reader):
            try:
                action = step(service, now)
            except (ArithmeticError, ValueError):  # (one service's data never stops a pass)
                log.exception("rollout of service %s cannot be planned", service.id)
                continue
            if action is not None:
                actions.append(action)
        return actions

    def carry_out(self, action: RolloutAction) -> tuple[bool, int]:
        service_id = UUID(action.service_id)
        try:
            if action.kind is ActionKind.ROLL:
                outcome = self.leading.record(m.RollReplicas, service_id=service_id,
                                              old=[UUID(i) for i in action.replicas])
            elif action.kind is ActionKind.RETIRE:
                outcome = self.leading.record(m.RetireReplica, service_id=service_id,
                                              old=UUID(action.replicas[0]))
            elif action.kind is ActionKind.FINISH_ROLLOUT:
                outcome = self.leading.record(m.FinishRollout, service_id=service_id)
            else:
                log.warning("rolling service %s back: %s", action.service_id, action.reason)
                outcome = self.app.handle(m.RollbackService(
                    actor=ROLLBACK_ACTOR, service_id=service_id, reason=action.reason))
        except (InvalidInput, QuotaExceeded) as error:
            # A version whose replicas cannot be made (a volume gone, the plan's disk
            # full) is rolled back, with the reason in its history, rather than retried
            # for ever where only a log would say why.
            log.warning("%s of service %s: %s", action.kind, action.service_id, error)
            if action.kind is not ActionKind.ROLL or not action.roll_back_if_refused:
                return False, 0
            return self.carry_out(RolloutAction(
                ActionKind.ROLL_BACK, action.service_id,
                reason=f"version {action.version} cannot be rolled out: {error}"))
        except DomainError as error:  # deleted meanwhile, a new term: the next pass
            log.warning("%s of service %s: %s", action.kind, action.service_id, error)
            return False, 0
        return True, int(outcome.position)
