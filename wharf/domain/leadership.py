"""Leadership of the scheduler, as terms in the log: each new leader takes the next term,
and every write of the scheduler names its term. A leader that lost its lock without
knowing it (a stale leader) still writes with an old term, and the log refuses it."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import Conflict


class Leadership(WharfAggregate):
    ID: UUID = derive_id("leadership", "scheduler")

    class Created(WharfAggregate.Created):
        pass

    @event(Created)
    def __init__(self, id: UUID, actor: str, cause: str) -> None:
        self.term = 0
        self.holder = ""

    def take(self, holder: str) -> int:
        self._taken(term=self.term + 1, holder=holder)
        return self.term

    class Taken(WharfAggregate.Event):
        term: int
        holder: str

    @event(Taken)
    def _taken(self, term: int, holder: str) -> None:
        self.term = term
        self.holder = holder

    def require(self, term: int) -> None:
        if term != self.term:
            raise Conflict(f"scheduler term {term} is over: term {self.term} leads "
                           f"({self.holder})")
