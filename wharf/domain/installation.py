"""The installation: one per store. Its label marks every Docker object this Wharf makes,
so that Wharfs sharing an engine (tests, a second stack) never take each other's objects
for strangers."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id


class Installation(WharfAggregate):
    ID: UUID = derive_id("installation", "wharf")

    class Created(WharfAggregate.Created):
        label: str

    @event(Created)
    def __init__(self, id: UUID, label: str, actor: str, cause: str) -> None:
        self.label = label
