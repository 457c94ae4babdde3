"""Pull-through mirrors and what their supervisor saw (never an upstream's password)."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.mirror import Mirror
from wharf.projections.base import ReadModel, ts, uid


class Mirrors(ReadModel):
    name = "mirrors"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_mirrors (id TEXT PRIMARY KEY, tenant_id TEXT, "
        "name TEXT NOT NULL, upstream TEXT NOT NULL, username TEXT NOT NULL, "
        "address TEXT NOT NULL, state TEXT NOT NULL, detail TEXT NOT NULL, "
        "deleted INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_mirrors_tenant ON rm_mirrors (tenant_id, name)",
    )
    tables = (("rm_mirrors", "id"),)

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: Mirror.Created, tracking: Tracking) -> None:
        self.view.stage("INSERT INTO rm_mirrors VALUES (?, ?, ?, ?, ?, '', 'starting', '', 0, "
                        "?, ?)", (str(event.originator_id), uid(event.tenant_id), event.name,
                                  event.upstream, event.username, ts(event), ts(event)))

    @process_event.register
    def _(self, event: Mirror.Served, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_mirrors SET address = ?, updated_at = ? WHERE id = ?",
                        (event.address, ts(event), str(event.originator_id)))

    @process_event.register
    def _(self, event: Mirror.Observed, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_mirrors SET state = ?, detail = ?, updated_at = ? "
                        "WHERE id = ?", (event.state, event.detail, ts(event),
                                         str(event.originator_id)))

    @process_event.register
    def _(self, event: Mirror.Deleted, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_mirrors SET deleted = 1, updated_at = ? WHERE id = ?",
                        (ts(event), str(event.originator_id)))
