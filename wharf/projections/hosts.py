"""Hosts with their capacity, what is reserved on them and what is free."""

from __future__ import annotations

import json
from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.container import Container
from wharf.domain.host import Host
from wharf.projections.base import ReadModel, ts


class Hosts(ReadModel):
    """Reserved capacity counts every placed container that is not deleted.

    Each Placed event says what the container reserves; rm_host_placements (this read
    model's own table) remembers it, so releasing needs nothing from another read model.
    """

    name = "hosts"
    version = 2  # (2: labels, engine version, credentials' fingerprint)
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_hosts (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "endpoint TEXT NOT NULL, pool TEXT NOT NULL, state TEXT NOT NULL, "
        "cpu_millis INTEGER NOT NULL, memory_mib INTEGER NOT NULL, overcommit TEXT NOT NULL, "
        "reserved_cpu_millis INTEGER NOT NULL DEFAULT 0, "
        "reserved_memory_mib INTEGER NOT NULL DEFAULT 0, containers INTEGER NOT NULL DEFAULT 0, "
        "joined_at TEXT NOT NULL, updated_at TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '{}', "
        "engine_version TEXT NOT NULL DEFAULT '', fingerprint TEXT NOT NULL DEFAULT '')",
        "CREATE TABLE IF NOT EXISTS rm_host_placements (container_id TEXT PRIMARY KEY, "
        "host_id TEXT, cpu_millis INTEGER NOT NULL, memory_mib INTEGER NOT NULL)",
    )
    tables = (("rm_hosts", "id"), ("rm_host_placements", "container_id"))

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: Host.Registered, tracking: Tracking) -> None:
        self.view.stage(
            "INSERT INTO rm_hosts (id, name, endpoint, pool, state, cpu_millis, memory_mib, "
            "overcommit, joined_at, updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)",
            (str(event.originator_id), event.name, event.endpoint, event.pool,
             event.cpu_millis, event.memory_mib, event.overcommit, ts(event), ts(event)),
        )

    @process_event.register
    def _(self, event: Host.Rejoined, tracking: Tracking) -> None:
        self._update(event, "state = 'active', cpu_millis = ?, memory_mib = ?, overcommit = ?, "
                     "pool = ?", event.cpu_millis, event.memory_mib, event.overcommit,
                     event.pool)

    @process_event.register
    def _(self, event: Host.Configured, tracking: Tracking) -> None:
        self._update(event, "labels = ?, engine_version = ?, fingerprint = ?",
                     json.dumps(event.labels), event.engine_version, event.fingerprint)

    @process_event.register
    def _(self, event: Host.Labelled, tracking: Tracking) -> None:
        self._update(event, "labels = ?", json.dumps(event.labels))

    @process_event.register
    def _(self, event: Host.Drained, tracking: Tracking) -> None:
        self._update(event, "state = 'draining'")

    @process_event.register
    def _(self, event: Host.Activated, tracking: Tracking) -> None:
        self._update(event, "state = 'active'")

    @process_event.register
    def _(self, event: Host.Removed, tracking: Tracking) -> None:
        self._update(event, "state = 'removed'")

    @process_event.register
    def _(self, event: Host.Lost, tracking: Tracking) -> None:
        self._update(event, "state = 'lost'")

    @process_event.register
    def _(self, event: Host.Recovered, tracking: Tracking) -> None:
        self._update(event, "state = ?", event.state)

    @process_event.register
    def _(self, event: Container.Placed, tracking: Tracking) -> None:
        container_id = str(event.originator_id)
        self._move(container_id, -1)  # placed elsewhere before: release it there
        self.view.stage(
            "INSERT INTO rm_host_placements VALUES (?, ?, ?, ?) ON CONFLICT (container_id) "
            "DO UPDATE SET host_id = excluded.host_id",
            (container_id, str(event.host_id), event.cpu_millis, event.memory_mib))
        self._move(container_id, +1)

    @process_event.register
    def _(self, event: Container.DeleteRequested, tracking: Tracking) -> None:
        container_id = str(event.originator_id)
        self._move(container_id, -1)
        self.view.stage("DELETE FROM rm_host_placements WHERE container_id = ?",
                        (container_id,))

    def _move(self, container_id: str, sign: int) -> None:
        """Adds (or takes away) a container's reservation on the host it is placed on."""
        op = "+" if sign > 0 else "-"
        self.view.stage(
            f"UPDATE rm_hosts SET "
            f"reserved_cpu_millis = reserved_cpu_millis {op} p.cpu_millis, "
            f"reserved_memory_mib = reserved_memory_mib {op} p.memory_mib, "
            f"containers = containers {op} 1 "
            "FROM rm_host_placements p WHERE p.container_id = ? AND rm_hosts.id = p.host_id",
            (container_id,),
        )

    def _update(self, event: Any, assignments: str, *params: Any) -> None:
        self.view.stage(
            f"UPDATE rm_hosts SET {assignments}, updated_at = ? WHERE id = ?",
            (*params, ts(event), str(event.originator_id)),
        )
