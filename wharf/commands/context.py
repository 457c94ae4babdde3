"""What a handler sees: loading aggregates as the actor, the plan catalogue, the clock."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from wharf.commands.actors import Actor
from wharf.commands.answers import Answer, as_data
from wharf.commands.ports import Clock, DataKeys
from wharf.domain.base import WharfAggregate
from wharf.domain.errors import Forbidden, NotFound
from wharf.domain.plans import Plan, PlanCatalog
from wharf.domain.tenant import Tenant

if TYPE_CHECKING:
    from wharf.commands.application import Wharf

A = TypeVar("A", bound=WharfAggregate)
T = TypeVar("T")


@dataclass
class Outcome:
    """What a command answers: the object it made or touched, and the log position."""

    id: UUID | None = None
    token: str | None = field(default=None, repr=False)
    position: int = 0
    answer: Answer | None = None

    def answer_as(self, kind: type[T]) -> T:
        """The answer, which the caller knows to be a `kind` (a TypeError if not)."""
        if not isinstance(self.answer, kind):
            raise TypeError(f"the answer is {self.answer!r}, not a {kind.__name__}")
        return self.answer

    def as_data(self) -> dict[str, Any]:
        # The token is not kept: a retried IssueToken cannot show the secret again.
        return {"id": self.id, "data": as_data(self.answer)}


@dataclass
class Decision:
    """The aggregates to save together, and the answer to give once they are saved."""

    save: list[WharfAggregate]
    outcome: Outcome
    after_save: list[Any] = field(default_factory=list)


class Context:
    def __init__(
        self, app: Wharf, actor: Actor, cause: str, clock: Clock, keys: DataKeys,
        optimistic: bool = False, trace: tuple[str, str] = ("", ""),
        follows: UUID | None = None,
    ):
        self.app = app
        # Optimistic: decide on cached copies without asking the store for newer events.
        # Whatever this decision saves is checked by the store's version check anyway;
        # whatever it only read is checked by `stale()` before saving.
        self.optimistic = optimistic
        self.unchecked: dict[UUID, int] = {}
        self.actor = actor
        self.cause = cause
        self.clock = clock
        self.now = clock.now()  # the time of every event this decision records
        self.keys = keys
        self.tenant_id: UUID | None = None  # the tenant this decision is about, once loaded
        # Each aggregate once per decision: a second load (or a load of one made here)
        # is the same object, so no change is made on a copy the save then drops.
        self.loaded: dict[UUID, Any] = {}
        # (correlation, causation) of every event this decision records; `follows`: the
        # object whose last event's chain they carry on, once it is loaded.
        self.trace = trace
        self.follows = follows

    def new(self, aggregate_class: type[A], **kwargs: Any) -> A:
        kwargs.setdefault("id", uuid4())
        aggregate: A = aggregate_class.create(
            at=self.now, **kwargs, actor=self.actor.label, cause=self.cause,
            correlation=self.trace[0], causation=self.trace[1])
        aggregate.stamp(self.actor.label, self.cause, self.now, self.trace)
        self.loaded[aggregate.id] = aggregate
        return aggregate

    def load(self, aggregate_class: type[A], ident: UUID, kind: str) -> A:
        known = self.loaded.get(ident)
        if known is not None:
            if not isinstance(known, aggregate_class):
                raise NotFound(kind, ident)
            return known  # type: ignore[no-any-return]
        aggregate: Any = self._cached(ident) if self.optimistic else None
        if aggregate is not None:
            self.unchecked[ident] = aggregate.version
        else:
            try:
                aggregate = self.app.repository.get(ident)
            except AggregateNotFoundError:
                raise NotFound(kind, ident) from None
        if not isinstance(aggregate, aggregate_class):
            raise NotFound(kind, ident)
        if ident == self.follows and aggregate.traced[0]:
            self.trace = aggregate.traced
            for earlier in self.loaded.values():  # (loaded before it: the leadership)
                earlier.stamp(self.actor.label, self.cause, self.now, self.trace)
        aggregate.stamp(self.actor.label, self.cause, self.now, self.trace)
        self.loaded[ident] = aggregate
        return aggregate

    def _cached(self, ident: UUID) -> Any:
        cache = self.app.repository.cache
        if cache is None:
            return None
        try:
            cached = cache.get(ident)
        except KeyError:
            return None
        # A copy, as the repository makes: our decision must not touch the cached one.
        return copy.deepcopy(cached)

    def stale(self, saved: list[WharfAggregate]) -> bool:
        """True when an aggregate this decision read, and does not save, has moved on."""
        saving = {aggregate.id for aggregate in saved}
        return any(
            next(iter(self.app.events.get(ident, gt=version, limit=1)), None) is not None
            for ident, version in self.unchecked.items() if ident not in saving
        )

    def exists(self, ident: UUID) -> bool:
        """Whether the aggregate has any event (one read of one row; nothing rebuilt)."""
        if ident in self.loaded:
            return True
        return next(iter(self.app.events.get(ident, limit=1)), None) is not None

    def catalog(self) -> PlanCatalog:
        return self.load(PlanCatalog, PlanCatalog.ID, "plan catalogue")

    def plan_of(self, tenant: Tenant) -> Plan:
        """The tenant's plan. A plan version never changes once added, so it is memoised."""
        key = (tenant.plan_name, tenant.plan_version)
        plan = self.app.plan_versions.get(key)
        if plan is None:
            plan = self.app.plan_versions[key] = self.catalog().at_version(*key)
        return plan

    def require_operator(self) -> None:
        if not self.actor.is_operator:
            raise Forbidden("only operators may do this")

    def require_system(self) -> None:
        """Wharf's own jobs only: what Docker did is recorded by the scheduler alone."""
        if self.actor.kind != "system":
            raise Forbidden("only Wharf's scheduler records this")

    def require_leader(self, term: int) -> None:
        """The scheduler, in the current term. The leadership is loaded like any other
        aggregate, so a term taken meanwhile makes this decision stale (decided again)."""
        from wharf.domain.leadership import Leadership

        self.require_system()
        self.load(Leadership, Leadership.ID, "scheduler leadership").require(term)

    def tenant(self, tenant_id: UUID, allowed: tuple[str, ...]) -> Tenant:
        """The tenant, if the actor may act on it with one of the `allowed` roles.

        Another tenant looks exactly like one that does not exist.
        """
        if not self.actor.is_operator and self.actor.tenant_id != tenant_id:
            raise NotFound("tenant", tenant_id)
        tenant = self.load(Tenant, tenant_id, "tenant")
        if not self.actor.is_operator:
            tenant.require_role(self.actor.name, allowed)
        self.tenant_id = tenant.id
        return tenant

    def tenant_of_system(self, tenant_id: UUID) -> Tenant:
        """The tenant a system job acts for (no member, no role): loaded as `tenant`
        loads it, so a quota it hits is recorded against that tenant."""
        self.require_system()
        tenant = self.load(Tenant, tenant_id, "tenant")
        self.tenant_id = tenant.id
        return tenant

    def owned(self, aggregate_class: type[A], ident: UUID, kind: str) -> A:
        """An object of a tenant; NotFound when it belongs to another tenant."""
        aggregate = self.load(aggregate_class, ident, kind)
        tenant_id = getattr(aggregate, "tenant_id", None)
        if not self.actor.is_operator and tenant_id != self.actor.tenant_id:
            raise NotFound(kind, ident)
        return aggregate
