"""Tenants, their members, tokens and the plan catalogue."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.plans import PlanCatalog
from wharf.domain.tenant import Tenant
from wharf.domain.token import Token
from wharf.projections.base import ReadModel, as_json, ts, uid


class Tenants(ReadModel):
    name = "tenants"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_plans (name TEXT NOT NULL, version INTEGER NOT NULL, "
        "description TEXT NOT NULL, limits TEXT NOT NULL, prices TEXT NOT NULL, "
        "default_cpu_millis INTEGER NOT NULL, default_memory_mib INTEGER NOT NULL, "
        "bandwidth_mbps INTEGER, added_at TEXT NOT NULL, PRIMARY KEY (name, version))",
        "CREATE TABLE IF NOT EXISTS rm_tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "plan TEXT NOT NULL, plan_version INTEGER NOT NULL, status TEXT NOT NULL, "
        "containers INTEGER NOT NULL DEFAULT 0, cpu_millis INTEGER NOT NULL DEFAULT 0, "
        "memory_mib INTEGER NOT NULL DEFAULT 0, volume_gib INTEGER NOT NULL DEFAULT 0, "
        "purge_after TEXT, purged INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)",
        "CREATE UNIQUE INDEX IF NOT EXISTS rm_tenants_name ON rm_tenants (name)",
        "CREATE TABLE IF NOT EXISTS rm_members (tenant_id TEXT NOT NULL, email TEXT NOT NULL, "
        "role TEXT NOT NULL, since TEXT NOT NULL, PRIMARY KEY (tenant_id, email))",
        "CREATE TABLE IF NOT EXISTS rm_tokens (id TEXT PRIMARY KEY, tenant_id TEXT, "
        "member TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL, expires_at TEXT, "
        "revoked INTEGER NOT NULL DEFAULT 0, issued_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_tokens_tenant ON rm_tokens (tenant_id)",
    )
    tables = (
        ("rm_plans", "name, version"),
        ("rm_tenants", "id"),
        ("rm_members", "tenant_id, email"),
        ("rm_tokens", "id"),
    )

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: PlanCatalog.PlanAdded, tracking: Tracking) -> None:
        p = event.plan
        self.view.stage(
            "INSERT INTO rm_plans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (p["name"], p["version"], p["description"], as_json(p["limits"]),
             as_json(p["prices"]), p["default_cpu_millis"], p["default_memory_mib"],
             p["bandwidth_mbps"], ts(event)),
        )

    @process_event.register
    def _(self, event: Tenant.Registered, tracking: Tracking) -> None:
        tenant_id = str(event.originator_id)
        self.view.stage(
            "INSERT INTO rm_tenants (id, name, plan, plan_version, status, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?)",
            (tenant_id, event.name, event.plan_name, event.plan_version, ts(event), ts(event)),
        )
        self.view.stage("INSERT INTO rm_members VALUES (?, ?, 'owner', ?)",
                        (tenant_id, event.owner, ts(event)))

    @process_event.register
    def _(self, event: Tenant.PlanChanged, tracking: Tracking) -> None:
        self._update(event, "plan = ?, plan_version = ?", event.plan_name, event.plan_version)

    @process_event.register
    def _(self, event: Tenant.Suspended, tracking: Tracking) -> None:
        self._update(event, "status = 'suspended'")

    @process_event.register
    def _(self, event: Tenant.Resumed, tracking: Tracking) -> None:
        self._update(event, "status = 'active'")

    @process_event.register
    def _(self, event: Tenant.Closed, tracking: Tracking) -> None:
        self._update(event, "status = 'closed', purge_after = ?", event.purge_after)

    @process_event.register
    def _(self, event: Tenant.Purged, tracking: Tracking) -> None:
        self._update(event, "purged = 1")

    @process_event.register
    def _(self, event: Tenant.ContainerReserved, tracking: Tracking) -> None:
        r = event.resources
        self._update(event, "containers = containers + 1, cpu_millis = cpu_millis + ?, "
                     "memory_mib = memory_mib + ?", r["cpu_millis"], r["memory_mib"])

    @process_event.register
    def _(self, event: Tenant.ContainerReleased, tracking: Tracking) -> None:
        r = event.resources
        self._update(event, "containers = containers - 1, cpu_millis = cpu_millis - ?, "
                     "memory_mib = memory_mib - ?", r["cpu_millis"], r["memory_mib"])

    @process_event.register
    def _(self, event: Tenant.VolumeReserved, tracking: Tracking) -> None:
        self._update(event, "volume_gib = volume_gib + ?", event.size_gib)

    @process_event.register
    def _(self, event: Tenant.VolumeResized, tracking: Tracking) -> None:
        self._update(event, "volume_gib = volume_gib + ?", event.grown_gib)

    @process_event.register
    def _(self, event: Tenant.VolumeReleased, tracking: Tracking) -> None:
        self._update(event, "volume_gib = volume_gib - ?", event.size_gib)

    @process_event.register
    def _(self, event: Tenant.MemberAdded, tracking: Tracking) -> None:
        self.view.stage("INSERT INTO rm_members VALUES (?, ?, ?, ?)",
                        (str(event.originator_id), event.email, event.role, ts(event)))

    @process_event.register
    def _(self, event: Tenant.MemberRemoved, tracking: Tracking) -> None:
        self.view.stage("DELETE FROM rm_members WHERE tenant_id = ? AND email = ?",
                        (str(event.originator_id), event.email))

    @process_event.register
    def _(self, event: Tenant.RoleChanged, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_members SET role = ? WHERE tenant_id = ? AND email = ?",
                        (event.role, str(event.originator_id), event.email))

    @process_event.register
    def _(self, event: Token.Issued, tracking: Tracking) -> None:
        self.view.stage(
            "INSERT INTO rm_tokens (id, tenant_id, member, scope, name, expires_at, issued_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (str(event.originator_id), uid(event.tenant_id), event.member, event.scope,
             event.name, event.expires_at, ts(event)),
        )

    @process_event.register
    def _(self, event: Token.Revoked, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_tokens SET revoked = 1 WHERE id = ?",
                        (str(event.originator_id),))

    def _update(self, event: Any, assignments: str, *params: Any) -> None:
        self.view.stage(
            f"UPDATE rm_tenants SET {assignments}, updated_at = ? WHERE id = ?",
            (*params, ts(event), str(event.originator_id)),
        )
