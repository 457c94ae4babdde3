"""Service: many containers of one image (its replicas), kept at a count, behind a
load-balanced endpoint for each HTTP port that asks for one.

Each replica is a Container the service owns (its `service_id`), so a replica keeps
everything a container has: placement with reasons, hardening, logs, metrics, restarts,
history. The service records which replicas it holds, slot by slot; the command that
scales it creates or deletes those containers in the same save, so the count, the
containers and the tenant's reservations never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from itertools import count, islice
from typing import Any, Literal, get_args
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate
from wharf.domain.container_spec import ContainerSpec
from wharf.domain.errors import Conflict, InvalidInput

Category = Literal["app", "data", "tool", "disk"]
CATEGORIES: tuple[Category, ...] = get_args(Category)
# Categories whose replicas each keep their own data: never autoscaled.
STATEFUL: tuple[Category, ...] = ("data", "disk")
Desired = Literal["running", "stopped", "deleted"]
MAX_REPLICAS = 200  # per service: bounded work for one scale
ORDERS = ("start-first", "stop-first")
FAILURE_ACTIONS = ("rollback", "pause", "continue")


def replica_name(service: str, slot: int) -> str:
    """A replica's container name: `web.3`. Object names hold no dot, so no container a
    tenant names can take a replica's name."""
    return f"{service}.{slot}"


def replica_volume(service: str, slot: int, volume: str) -> str:
    """The volume a replica of a `data` or `disk` service keeps as its own: `db.2.pgdata`
    for replica `db.2`'s mount naming `pgdata` (one per service, slot and mount; object
    names hold no dot, so no volume a tenant names can take it)."""
    return f"{service}.{slot}.{volume}"


def check_category(category: str) -> Category:
    for known in CATEGORIES:
        if category == known:
            return known
    raise InvalidInput("category", f"must be one of {', '.join(CATEGORIES)}")


def check_replicas(replicas: object, field: str = "replicas") -> int:
    if isinstance(replicas, bool) or not isinstance(replicas, int) \
            or not 0 <= replicas <= MAX_REPLICAS:
        raise InvalidInput(field, f"must be a whole number from 0 to {MAX_REPLICAS}")
    return replicas


def check_balanced(spec: ContainerSpec, balanced: Sequence[int]) -> list[int]:
    """The container ports to balance: each a TCP port of the spec (Caddy balances HTTP
    only). Replicas of one service share hosts, so none may ask for a fixed host port."""
    for i, port in enumerate(spec.ports):
        if port.host_port is not None:
            raise InvalidInput(f"ports[{i}].host_port", "replicas of a service cannot share "
                               "one host port; ask for a load-balanced endpoint instead")
    tcp = {p.container_port for p in spec.ports if p.protocol == "tcp" and p.publish}
    chosen: set[int] = set()
    for wanted in balanced:
        if wanted not in tcp:
            raise InvalidInput("ports", f"port {wanted} is balanced but not a published "
                                        "TCP port")
        chosen.add(wanted)
    return sorted(chosen)


@dataclass(frozen=True)
class AutoscalePolicy:
    """Keep between `min` and `max` replicas: one more while the replicas' average use of
    what they reserve is over a threshold, one fewer while every use is under half of its
    threshold; no decision within `cooldown_s` of the last scale."""

    min: int
    max: int
    cpu_percent: int | None  # of the CPU each replica reserves
    memory_percent: int | None  # of each replica's memory limit
    cooldown_s: int

    def to_data(self) -> dict[str, int | None]:
        return {"min": self.min, "max": self.max, "cpu_percent": self.cpu_percent,
                "memory_percent": self.memory_percent, "cooldown_s": self.cooldown_s}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AutoscalePolicy:
        return cls(**data)


def check_policy(category: str, min: int, max: int, cpu_percent: int | None,
                 memory_percent: int | None, cooldown_s: int) -> AutoscalePolicy:
    if category in STATEFUL:
        raise InvalidInput("category", f"a {category} service keeps one volume per replica "
                                       "and is never autoscaled")
    check_replicas(min, "min")
    check_replicas(max, "max")
    if min > max:
        raise InvalidInput("max", "must be at least min")
    if cpu_percent is None and memory_percent is None:
        raise InvalidInput("cpu_percent", "give a CPU or a memory threshold (or both)")
    for name, value in (("cpu_percent", cpu_percent), ("memory_percent", memory_percent)):
        if value is not None and (isinstance(value, bool) or not 1 <= value <= 100):
            raise InvalidInput(name, "must be a whole number from 1 to 100")
    if isinstance(cooldown_s, bool) or not 1 <= cooldown_s <= 86400:
        raise InvalidInput("cooldown_s", "must be from 1 to 86400 seconds")
    return AutoscalePolicy(min, max, cpu_percent, memory_percent, cooldown_s)


def autoscale_decision(policy: AutoscalePolicy, replicas: int, cpu: float | None,
                       memory: float | None, since_scaled_s: float
                       ) -> tuple[int, str] | None:
    """The count to scale to and why, or None. `cpu` and `memory` are the replicas'
    average use in percent of what each reserves (None: not measured)."""
    if replicas < policy.min:
        return policy.min, f"below the minimum of {policy.min}"
    if replicas > policy.max:
        return policy.max, f"above the maximum of {policy.max}"
    if since_scaled_s < policy.cooldown_s:
        return None
    over = [f"{name} {use:.0f}% > {limit}%" for name, use, limit in
            (("cpu", cpu, policy.cpu_percent), ("memory", memory, policy.memory_percent))
            if use is not None and limit is not None and use > limit]
    if over and replicas < policy.max:
        return replicas + 1, "; ".join(over)
    calm = [(name, use, limit) for name, use, limit in
            (("cpu", cpu, policy.cpu_percent), ("memory", memory, policy.memory_percent))
            if limit is not None]
    if replicas > policy.min and all(use is not None and use < limit / 2
                                     for _, use, limit in calm):
        return replicas - 1, "; ".join(f"{name} {use:.0f}% < {limit / 2:g}%"
                                       for name, use, limit in calm)
    return None


@dataclass(frozen=True)
class UpdatePolicy:
    """How a new configuration replaces the replicas (Compose's deploy.update_config)."""

    parallelism: int = 1  # replicas replaced at a time
    monitor_s: int = 5  # how long a new replica must run (and pass its check) to count
    failure_action: str = "rollback"  # rollback, pause, continue
    order: str = "start-first"  # start-first: old replicas serve until the new are ready
    delay_s: int = 0  # wait between one batch counting and the next starting

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> UpdatePolicy:
        known = {f.name for f in fields(cls)}  # (older events lack the newer fields)
        return cls(**{k: v for k, v in data.items() if k in known})


def check_update_policy(parallelism: int, monitor_s: int, failure_action: str, order: str,
                        delay_s: int) -> UpdatePolicy:
    for name, value, low, high in (("parallelism", parallelism, 1, MAX_REPLICAS),
                                   ("monitor_s", monitor_s, 0, 3600),
                                   ("delay_s", delay_s, 0, 3600)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(name, f"must be a whole number from {low} to {high}")
    if failure_action not in FAILURE_ACTIONS:
        raise InvalidInput("failure_action", f"must be one of {', '.join(FAILURE_ACTIONS)}")
    if order not in ORDERS:
        raise InvalidInput("order", f"must be one of {', '.join(ORDERS)}")
    return UpdatePolicy(parallelism, monitor_s, failure_action, order, delay_s)


@dataclass(frozen=True)
class Change:
    """What a scale decided: the replicas to make (slot, container id) and to delete."""

    added: tuple[tuple[int, UUID], ...]
    removed: tuple[tuple[int, UUID], ...]


class Service(WharfAggregate):
    class Created(WharfAggregate.Created):
        tenant_id: UUID
        name: str
        category: str
        spec: dict[str, Any]
        balanced: list[int]
        cpu_millis: int
        memory_mib: int
        desired: str
        application_id: UUID | None  # the application it is part of, if any
        alias: str  # the name its replicas answer to on their network
        depends_on: dict[str, str]  # in its application: service -> condition
        update: dict[str, Any]  # how a new configuration replaces its replicas

    @event(Created)
    def __init__(
        self, id: UUID, tenant_id: UUID, name: str, category: str, spec: dict[str, Any],
        balanced: list[int], cpu_millis: int, memory_mib: int, desired: str, actor: str,
        cause: str, application_id: UUID | None, alias: str, depends_on: dict[str, str],
        update: dict[str, Any],
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.application_id = application_id
        self.alias = alias
        self.depends_on = dict(depends_on)
        self.config_version = 1  # (`version` is the aggregate's own, in eventsourcing)
        self.category = category
        self.spec = ContainerSpec.from_data(spec)
        self.balanced = list(balanced)
        self.cpu_millis = cpu_millis
        self.memory_mib = memory_mib
        self.desired: Desired = "running" if desired == "running" else "stopped"
        self.replicas: dict[int, UUID] = {}  # slot -> the replica container's id
        self.next_slot = 1
        self.endpoints: dict[int, int] = {}  # balanced container port -> listener port
        self.autoscale: AutoscalePolicy | None = None
        self.update = UpdatePolicy.from_data(update)
        # Every configuration it has had, by version (what rollbackService restores), the
        # last one every replica ran (an automatic rollback's target), the version each
        # replica was made at, and the old replicas a rollout is replacing (old -> new).
        self.configs: dict[int, dict[str, Any]] = {1: self._config()}
        self.good_version = 1
        self.replica_versions: dict[UUID, int] = {}
        self.retiring: dict[UUID, UUID] = {}

    def _config(self) -> dict[str, Any]:
        return {"spec": self.spec.to_data(), "balanced": list(self.balanced),
                "cpu_millis": self.cpu_millis, "memory_mib": self.memory_mib,
                "depends_on": dict(self.depends_on)}

    def _apply_config(self, config: Mapping[str, Any]) -> None:
        self.spec = ContainerSpec.from_data(config["spec"])
        self.balanced = list(config["balanced"])
        self.cpu_millis = config["cpu_millis"]
        self.memory_mib = config["memory_mib"]
        self.depends_on = dict(config["depends_on"])
        self.endpoints = {p: e for p, e in self.endpoints.items() if p in self.balanced}

    @property
    def count(self) -> int:
        """Its replicas, those a rollout is about to retire left out."""
        return len(self.replicas) - len(self.retiring)

    @property
    def stateful(self) -> bool:
        """Each replica keeps a volume of its own for each mount, and the host it lives
        on: its slots are reused (slot 2 always mounts `db.2.pgdata`), and a new
        configuration replaces a replica in place, stop-first."""
        return self.category in STATEFUL

    @property
    def stop_first(self) -> bool:
        return self.stateful or self.update.order == "stop-first"

    def next_slots(self, n: int) -> list[int]:
        """The slots a scale by `n` fills: the lowest free ones for a stateful service
        (where its volumes wait), new ones otherwise."""
        if self.stateful:
            taken = set(self.replicas)
            return list(islice((slot for slot in count(1) if slot not in taken), n))
        return list(range(self.next_slot, self.next_slot + n))

    def replica_spec(self, slot: int) -> ContainerSpec:
        """The spec of the replica in `slot`: a stateful service's mounts name the
        replica's own volumes."""
        if not self.stateful:
            return self.spec
        return replace(self.spec, volumes=tuple(
            replace(mount, volume=replica_volume(self.name, slot, mount.volume))
            for mount in self.spec.volumes))

    def scale(self, replicas: int, new_ids: Sequence[UUID], reason: str,
              figures: Mapping[str, float] | None = None) -> Change:
        """Records a scale to `replicas`: new slots for the ids given, highest slots
        deleted first. A scale to the count it has records nothing."""
        self._require_not_deleted()
        want = check_replicas(replicas)
        have = sorted(slot for slot, ident in self.replicas.items()
                      if ident not in self.retiring)
        if want == len(have):
            return Change((), ())
        if want > len(have):
            slots = self.next_slots(want - len(have))
            added = tuple(zip(slots, new_ids, strict=True))
            removed: tuple[tuple[int, UUID], ...] = ()
        else:
            added = ()
            removed = tuple((slot, self.replicas[slot]) for slot in have[want:])
        self._scaled(replicas=want, previous=len(have), reason=reason,
                     figures=dict(figures or {}),
                     added={str(slot): str(ident) for slot, ident in added},
                     removed=[slot for slot, _ in removed])
        return Change(added, removed)

    class Scaled(WharfAggregate.Event):
        replicas: int
        previous: int
        reason: str  # "manual", or the autoscaler's reason
        figures: dict[str, float]  # what the decision saw (autoscaling)
        added: dict[str, str]  # slot -> the new replica container's id
        removed: list[int]  # slots deleted

    @event(Scaled)
    def _scaled(self, replicas: int, previous: int, reason: str, figures: dict[str, float],
                added: dict[str, str], removed: list[int]) -> None:
        gone = {self.replicas[slot] for slot in removed if slot in self.replicas}
        kept = {slot: ident for slot, ident in self.replicas.items() if slot not in removed}
        kept.update({int(slot): UUID(ident) for slot, ident in added.items()})
        self.replicas = kept
        self.replica_versions = {
            **{k: v for k, v in self.replica_versions.items() if k not in gone},
            **{UUID(ident): self.config_version for ident in added.values()}}
        # (a replica a rollout made, scaled away: the old one it was to replace stays)
        self.retiring = {old: new for old, new in self.retiring.items() if new not in gone}
        if added:
            self.next_slot = max(self.next_slot, max(int(s) for s in added) + 1)
        self.scale_reason = reason

    def _to_snapshot(self, state: dict[str, Any]) -> None:
        state.update(
            spec=self.spec.to_data(), update=self.update.to_data(),
            autoscale=None if self.autoscale is None else self.autoscale.to_data(),
            replicas=list(self.replicas.items()), endpoints=list(self.endpoints.items()),
            configs=list(self.configs.items()),
            replica_versions=list(self.replica_versions.items()),
            retiring=list(self.retiring.items()))

    def _from_snapshot(self) -> None:
        raw: Any = self.__dict__
        self.spec = ContainerSpec.from_data(raw["spec"])
        self.update = UpdatePolicy.from_data(raw["update"])
        self.autoscale = (None if raw["autoscale"] is None
                          else AutoscalePolicy.from_data(raw["autoscale"]))
        self.replicas = {int(slot): ident for slot, ident in raw["replicas"]}
        self.endpoints = {int(port): listener for port, listener in raw["endpoints"]}
        self.configs = {int(version): config for version, config in raw["configs"]}
        self.replica_versions = {ident: int(v) for ident, v in raw["replica_versions"]}
        self.retiring = {old: new for old, new in raw["retiring"]}

    def _applied(self, event: Any) -> None:
        if isinstance(event, Service.Scaled):
            self.scaled_at = event.timestamp.isoformat()  # (the last scale, with its reason)

    def reconfigure(self, spec: ContainerSpec, balanced: list[int], cpu_millis: int,
                    memory_mib: int, depends_on: Mapping[str, str]) -> bool:
        """A new version of its configuration (its replicas are replaced by the command
        that records it); one that changes nothing records nothing."""
        self._require_not_deleted()
        if (spec, balanced, cpu_millis, memory_mib, dict(depends_on)) == (
                self.spec, self.balanced, self.cpu_millis, self.memory_mib, self.depends_on):
            return False
        self._reconfigured(config_version=max(self.configs) + 1, spec=spec.to_data(),
                           balanced=list(balanced), cpu_millis=cpu_millis,
                           memory_mib=memory_mib, depends_on=dict(depends_on))
        return True

    class Reconfigured(WharfAggregate.Event):
        config_version: int
        spec: dict[str, Any]
        balanced: list[int]
        cpu_millis: int
        memory_mib: int
        depends_on: dict[str, str]

    @event(Reconfigured)
    def _reconfigured(self, config_version: int, spec: dict[str, Any], balanced: list[int],
                      cpu_millis: int, memory_mib: int, depends_on: dict[str, str]) -> None:
        self.config_version = config_version
        self._apply_config({"spec": spec, "balanced": balanced, "cpu_millis": cpu_millis,
                            "memory_mib": memory_mib, "depends_on": depends_on})
        self.configs = {**self.configs, config_version: self._config()}

    # -- rolling updates (each step decided by the scheduler, recorded before it acts) --

    def roll(self, old: Sequence[UUID], new_ids: Sequence[UUID]) -> Change:
        """A step of a rollout: a new replica (of the current configuration) for each of
        `old`. Start-first, the old ones stay in rotation until their successors are
        ready; stop-first, each is deleted and its successor made in its slot (the
        returned change's `removed`)."""
        self._require_not_deleted()
        stale = [ident for ident in old if ident in self.replicas.values()
                 and self.replica_versions.get(ident) != self.config_version
                 and ident not in self.retiring]
        if not stale:
            return Change((), ())
        if self.stop_first:
            slot_of = {ident: slot for slot, ident in self.replicas.items()}
            added = tuple((slot_of[o], n) for o, n in zip(stale, new_ids[:len(stale)],
                                                                   strict=True))
            self._replaced(config_version=self.config_version,
                           slots={str(slot): str(ident) for slot, ident in added},
                           old=[str(o) for o in stale])
            return Change(added, tuple((slot_of[o], o) for o in stale))
        slots = range(self.next_slot, self.next_slot + len(stale))
        added = tuple(zip(slots, new_ids[:len(stale)], strict=True))
        pairs = {str(o): str(n) for o, (_, n) in zip(stale, added, strict=True)}
        self._rolled(config_version=self.config_version, pairs=pairs,
                     added={str(slot): str(ident) for slot, ident in added},
                     retiring={**{str(o): str(n) for o, n in self.retiring.items()}, **pairs})
        return Change(added, ())

    class Rolled(WharfAggregate.Event):
        config_version: int
        pairs: dict[str, str]  # old replica -> the new one replacing it
        added: dict[str, str]  # slot -> new replica
        retiring: dict[str, str]  # every pair in progress after this step

    @event(Rolled)
    def _rolled(self, config_version: int, pairs: dict[str, str],
                added: dict[str, str], retiring: dict[str, str]) -> None:
        self.replicas = {**self.replicas,
                         **{int(slot): UUID(ident) for slot, ident in added.items()}}
        self.replica_versions = {**self.replica_versions,
                                 **{UUID(ident): config_version for ident in added.values()}}
        self.retiring = {**self.retiring,
                         **{UUID(old): UUID(new) for old, new in pairs.items()}}
        self.next_slot = max(self.next_slot, max(int(s) for s in added) + 1)

    class Replaced(WharfAggregate.Event):
        """A stop-first step: each old replica deleted and a new one made in its slot
        (with its volumes), in the same save."""

        config_version: int
        slots: dict[str, str]  # slot -> the new replica in it
        old: list[str]  # the replicas it deletes

    @event(Replaced)
    def _replaced(self, config_version: int, slots: dict[str, str], old: list[str]) -> None:
        gone = {UUID(ident) for ident in old}
        self.replicas = {**self.replicas,
                         **{int(slot): UUID(ident) for slot, ident in slots.items()}}
        self.replica_versions = {
            **{k: v for k, v in self.replica_versions.items() if k not in gone},
            **{UUID(ident): config_version for ident in slots.values()}}

    def retire(self, old: UUID) -> bool:
        """The old replica whose successor is ready leaves (its container is deleted by
        the command that records this)."""
        if old not in self.retiring:
            return False
        slot = next(s for s, ident in self.replicas.items() if ident == old)
        self._retired(replica=str(old), slot=slot, retiring={
            str(o): str(n) for o, n in self.retiring.items() if o != old})
        return True

    class Retired(WharfAggregate.Event):
        replica: str
        slot: int
        retiring: dict[str, str]  # the pairs still in progress

    @event(Retired)
    def _retired(self, replica: str, slot: int, retiring: dict[str, str]) -> None:
        gone = UUID(replica)
        self.replicas = {s: i for s, i in self.replicas.items() if s != slot}
        self.replica_versions = {k: v for k, v in self.replica_versions.items() if k != gone}
        self.retiring = {k: v for k, v in self.retiring.items() if k != gone}

    def finish_rollout(self) -> bool:
        """Every replica runs the current configuration: it is the one to come back to."""
        if self.retiring or self.good_version == self.config_version or any(
                self.replica_versions.get(i) != self.config_version
                for i in self.replicas.values()):
            return False
        self._rollout_finished(config_version=self.config_version)
        return True

    class RolloutFinished(WharfAggregate.Event):
        config_version: int

    @event(RolloutFinished)
    def _rollout_finished(self, config_version: int) -> None:
        self.good_version = config_version

    def roll_back(self, to_version: int | None, reason: str) -> list[UUID]:
        """Back to configuration `to_version` (None: the last one every replica ran). The
        replicas a rollout in progress made are dropped (returned: the command deletes
        them) and the old ones they were to replace stay; the rest follow by rollout."""
        self._require_not_deleted()
        target = self.good_version if to_version is None else to_version
        if target not in self.configs:
            raise InvalidInput("to_version", f"service {self.name} has versions "
                               f"1 to {max(self.configs)}")
        if target == self.config_version and not self.retiring:
            raise Conflict(f"service {self.name} runs version {target} already")
        dropped = list(self.retiring.values())
        self._rolled_back(from_version=self.config_version, to_version=target, reason=reason,
                          dropped=[str(i) for i in dropped], config=self.configs[target])
        return dropped

    class RolledBack(WharfAggregate.Event):
        from_version: int
        to_version: int
        reason: str
        dropped: list[str]  # the new replicas of the abandoned rollout
        config: dict[str, Any]  # the configuration restored (as version `to_version`)

    @event(RolledBack)
    def _rolled_back(self, from_version: int, to_version: int, reason: str,
                     dropped: list[str], config: dict[str, Any]) -> None:
        gone = {UUID(i) for i in dropped}
        self.config_version = to_version
        self._apply_config(self.configs[to_version])
        self.replicas = {s: i for s, i in self.replicas.items() if i not in gone}
        self.replica_versions = {k: v for k, v in self.replica_versions.items()
                                 if k not in gone}
        self.retiring = {}

    def set_update_policy(self, policy: UpdatePolicy) -> None:
        self._require_not_deleted()
        if policy != self.update:
            self._update_policy_set(policy=policy.to_data())

    class UpdatePolicySet(WharfAggregate.Event):
        policy: dict[str, Any]

    @event(UpdatePolicySet)
    def _update_policy_set(self, policy: dict[str, Any]) -> None:
        self.update = UpdatePolicy.from_data(policy)

    def set_autoscale(self, policy: AutoscalePolicy | None) -> None:
        self._require_not_deleted()
        if policy != self.autoscale:
            self._autoscale_set(policy=None if policy is None else policy.to_data())

    class AutoscalePolicySet(WharfAggregate.Event):
        policy: dict[str, int | None] | None  # None: autoscaling off

    @event(AutoscalePolicySet)
    def _autoscale_set(self, policy: dict[str, int | None] | None) -> None:
        self.autoscale = None if policy is None else AutoscalePolicy.from_data(policy)

    def start(self) -> None:
        self._require_not_deleted()
        if self.desired != "running":
            self._start_requested()

    class StartRequested(WharfAggregate.Event):
        pass

    @event(StartRequested)
    def _start_requested(self) -> None:
        self.desired = "running"

    def stop(self) -> None:
        self._require_not_deleted()
        if self.desired == "running":
            self._stop_requested()

    class StopRequested(WharfAggregate.Event):
        pass

    @event(StopRequested)
    def _stop_requested(self) -> None:
        self.desired = "stopped"

    def delete(self) -> None:
        self._require_not_deleted()
        self._delete_requested()

    class DeleteRequested(WharfAggregate.Event):
        pass

    @event(DeleteRequested)
    def _delete_requested(self) -> None:
        self.desired = "deleted"
        self.replicas = {}
        self.replica_versions = {}
        self.retiring = {}

    def assign_endpoint(self, container_port: int, listen_port: int) -> bool:
        """The scheduler's choice of a listener port for a balanced port; once."""
        if container_port not in self.balanced or self.desired == "deleted":
            return False
        if self.endpoints.get(container_port) == listen_port:
            return False
        endpoints = {str(port): listen for port, listen in self.endpoints.items()}
        endpoints[str(container_port)] = listen_port
        self._endpoint_assigned(container_port=container_port, listen_port=listen_port,
                                endpoints=endpoints)
        return True

    class EndpointAssigned(WharfAggregate.Event):
        container_port: int
        listen_port: int
        endpoints: dict[str, int]  # every balanced port's listener, this one included

    @event(EndpointAssigned)
    def _endpoint_assigned(self, container_port: int, listen_port: int,
                           endpoints: dict[str, int]) -> None:
        self.endpoints = {int(port): listen for port, listen in endpoints.items()}

    def _require_not_deleted(self) -> None:
        if self.desired == "deleted":
            raise Conflict(f"service {self.name} is deleted")
