"""The installation: one per store. Its label marks every Docker object this Wharf makes,
so that Wharfs sharing an engine (tests, a second stack) never take each other's objects
for strangers. It also records which runtime runs its workloads once an operator has
switched it (`wharf runtime switch`): from then on, Wharf starts only with that one."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import InvalidInput

Runtime = Literal["direct", "swarm"]
RUNTIMES = ("direct", "swarm")


class Installation(WharfAggregate):
    ID: UUID = derive_id("installation", "wharf")

    class Created(WharfAggregate.Created):
        label: str

    @event(Created)
    def __init__(self, id: UUID, label: str, actor: str, cause: str) -> None:
        self.label = label

    runtime = ""  # the runtime it was switched to last ("": never switched)

    def switch_runtime(self, runtime: str, moved: int) -> bool:
        """Records that its workloads now run on `runtime` (`moved` of them were taken
        down from the other); False when they already do."""
        if runtime not in RUNTIMES:
            raise InvalidInput("runtime", "must be direct or swarm")
        if runtime == self.runtime:  # (never switched: WHARF_RUNTIME chose, not the log)
            return False
        self._switched(runtime=runtime, moved=moved)
        return True

    class RuntimeSwitched(WharfAggregate.Event):
        runtime: str
        moved: int

    @event(RuntimeSwitched)
    def _switched(self, runtime: str, moved: int) -> None:
        self.runtime = runtime
