"""The base of every read model: an eventsourcing Projection writing through a view."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.projection import Projection

from wharf.projections.views import ReadModelStore


class ReadModel(Projection[ReadModelStore]):
    """A projection whose rows live in `tables`, created by `schema`.

    `tables` pairs each table with the ORDER BY that lists it completely, which
    `replay --verify` uses to compare two stores table by table.
    """

    schema: tuple[str, ...] = ()
    tables: tuple[tuple[str, str], ...] = ()
    # Raised when what the rows say changes while the tables keep their shape (a
    # summary worded anew): the read model is then rebuilt from the log, as when its
    # tables change (infra/store.py: ensure_read_schema).
    version = 1

    def end_batch(self) -> None:
        """Called after the last event of a batch, before the batch is committed."""

    def changed_tenants(self) -> set[str | None]:
        """The tenants whose rows the batches since the last call changed (None: some
        tenant it could not tell), for waking only their subscribers; forgotten once
        asked. Read models nobody subscribes to say nothing."""
        return set()

    def discard(self) -> None:
        """Forgets whatever a failed batch left half-staged."""


def ts(event: Any) -> str:
    stamp: datetime = event.timestamp
    return stamp.isoformat()


def uid(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
