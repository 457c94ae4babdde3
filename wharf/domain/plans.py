"""Plans: versioned data an operator can add to. Money is Decimal CNY."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import InvalidInput, NotFound

PLAN_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# container_disk_mib: a container's writable layer. overlay2 on ext4 enforces no size, so
# Wharf measures it and stops a container that stays over (schedulers/disk.py).
# own_hosts: hosts a tenant joins to its dedicated pool itself (none unless a plan says).
LIMIT_FIELDS = ("containers", "cpu_millis", "memory_mib", "volume_gib", "concurrent_builds",
                "container_disk_mib", "own_hosts")
NONE_UNLESS_SET = frozenset({"own_hosts"})  # plans made before the limit allow none
PRICE_FIELDS = ("fee_per_hour", "cpu_second", "memory_gib_second", "volume_gib_hour", "traffic_gib")


@dataclass(frozen=True)
class Plan:
    """One version of a plan. A limit of None means unlimited."""

    name: str
    version: int
    limits: dict[str, int | None]
    prices: dict[str, Decimal]
    default_cpu_millis: int = 250
    default_memory_mib: int = 256
    bandwidth_mbps: int | None = None
    log_retention_hours: int = 24
    description: str = ""
    # Tenants' owners may move to a self-service plan themselves; others only an operator
    # assigns (unlimited, negotiated plans).
    self_service: bool = False

    def limit(self, resource: str) -> int | None:
        if resource in NONE_UNLESS_SET and resource not in self.limits:
            return 0
        return self.limits.get(resource)

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["prices"] = {k: str(v) for k, v in self.prices.items()}
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Plan:
        return cls(**{**data, "prices": {k: Decimal(v) for k, v in data["prices"].items()}})


def validate_plan(
    name: str,
    limits: dict[str, int | None],
    prices: dict[str, str | Decimal],
    default_cpu_millis: int,
    default_memory_mib: int,
) -> dict[str, Decimal]:
    """Checks a new plan's data and returns its prices as Decimals."""
    if not PLAN_NAME.fullmatch(name):
        raise InvalidInput("name", "lower-case letters, digits and '-', starting with a letter")
    for key, value in limits.items():
        if key not in LIMIT_FIELDS:
            raise InvalidInput(f"limits.{key}", f"unknown limit; known: {', '.join(LIMIT_FIELDS)}")
        if value is not None and (not isinstance(value, int) or value < 0):
            raise InvalidInput(f"limits.{key}", "must be a non-negative integer or unlimited")
    parsed: dict[str, Decimal] = {}
    for key in PRICE_FIELDS:
        raw = prices.get(key, "0")
        try:
            amount = Decimal(str(raw))
        except InvalidOperation:
            raise InvalidInput(f"prices.{key}", "not a decimal number") from None
        if amount < 0 or not amount.is_finite():
            raise InvalidInput(f"prices.{key}", "must be zero or more")
        parsed[key] = amount
    for key in prices:
        if key not in PRICE_FIELDS:
            raise InvalidInput(f"prices.{key}", f"unknown price; known: {', '.join(PRICE_FIELDS)}")
    if default_cpu_millis <= 0:
        raise InvalidInput("default_cpu_millis", "must be positive")
    if default_memory_mib < 6:
        raise InvalidInput("default_memory_mib", "must be at least 6 MiB (Docker's minimum)")
    return parsed


def _zero_prices(**given: str) -> dict[str, Decimal]:
    return {key: Decimal(given.get(key, "0")) for key in PRICE_FIELDS}


# The plans every fresh store starts with. "S" is the seed's offer: 1 shared CPU, 1 GB memory,
# 10 GB disk, 10 Mbps for ¥58 a month, expressed per hour over a 30-day month (58 / 720).
SEED_PLANS: tuple[Plan, ...] = (
    Plan(
        "free", 1,
        {"containers": 2, "cpu_millis": 500, "memory_mib": 512, "volume_gib": 1,
         "concurrent_builds": 1, "container_disk_mib": 512},
        _zero_prices(), default_cpu_millis=250, default_memory_mib=128, bandwidth_mbps=1,
        description="Free: 2 containers, 0.5 CPU, 512 MiB, 1 GiB volumes", self_service=True,
    ),
    Plan(
        "s", 1,
        {"containers": 10, "cpu_millis": 1000, "memory_mib": 1024, "volume_gib": 10,
         "concurrent_builds": 1, "container_disk_mib": 2048},
        _zero_prices(fee_per_hour="0.0806", traffic_gib="0.8"),
        default_cpu_millis=250, default_memory_mib=256, bandwidth_mbps=10,
        description="S: 1 shared CPU, 1 GB memory, 10 GB disk, 10 Mbps, ¥58 a month",
        self_service=True,
    ),
    Plan(
        "m", 1,
        {"containers": 40, "cpu_millis": 4000, "memory_mib": 8192, "volume_gib": 80,
         "concurrent_builds": 2, "container_disk_mib": 8192, "own_hosts": 2},
        _zero_prices(fee_per_hour="0.2750", traffic_gib="0.8"),
        default_cpu_millis=500, default_memory_mib=512, bandwidth_mbps=50,
        description="M: 4 CPU, 8 GB memory, 80 GB disk, 50 Mbps, ¥198 a month",
        self_service=True,
    ),
    Plan(
        "payg", 1,
        {"containers": 100, "cpu_millis": 16000, "memory_mib": 32768, "volume_gib": 500,
         "concurrent_builds": 4, "container_disk_mib": 10240, "own_hosts": 10},
        _zero_prices(cpu_second="0.000012", memory_gib_second="0.000006",
                     volume_gib_hour="0.0007", traffic_gib="0.8"),
        default_cpu_millis=250, default_memory_mib=256,
        description="Pay as you go: reserved CPU and memory by the second", self_service=True,
    ),
    Plan(
        "unlimited", 1,
        dict.fromkeys(LIMIT_FIELDS),
        _zero_prices(), default_cpu_millis=100, default_memory_mib=64,
        description="For the platform's own use and for benchmarks",
    ),
)


class PlanCatalog(WharfAggregate):
    """The one catalogue of plans. Adding a plan with an existing name adds a version."""

    ID = derive_id("plan-catalog")

    class Created(WharfAggregate.Created):
        pass

    @event(Created)
    def __init__(self, id: UUID, actor: str, cause: str) -> None:
        self.plans: dict[str, list[dict[str, Any]]] = {}

    def latest(self, name: str) -> Plan:
        versions = self.plans.get(name)
        if not versions:
            raise NotFound("plan", name)
        return Plan.from_data(versions[-1])

    def at_version(self, name: str, version: int) -> Plan:
        versions = self.plans.get(name) or []
        if not 1 <= version <= len(versions):
            raise NotFound("plan", f"{name} v{version}")
        return Plan.from_data(versions[version - 1])

    def all_latest(self) -> list[Plan]:
        return [self.latest(name) for name in sorted(self.plans)]

    def add(self, plan: Plan) -> Plan:
        """Adds `plan` as the next version of its name and returns it as stored."""
        numbered = Plan(**{**plan.__dict__, "version": len(self.plans.get(plan.name, [])) + 1})
        self._added(plan=numbered.as_data())
        return numbered

    class PlanAdded(WharfAggregate.Event):
        plan: dict[str, Any]

    @event(PlanAdded)
    def _added(self, plan: dict[str, Any]) -> None:
        self.plans[plan["name"]] = [*self.plans.get(plan["name"], []), plan]


@dataclass(frozen=True)
class Resources:
    """What one workload reserves against its tenant's plan."""

    containers: int = 0
    cpu_millis: int = 0
    memory_mib: int = 0
    volume_gib: int = 0

    def items(self) -> list[tuple[str, int]]:
        return [(f, getattr(self, f)) for f in ("containers", "cpu_millis", "memory_mib",
                                                   "volume_gib")]

    def as_data(self) -> dict[str, int]:
        return dict(self.items())
