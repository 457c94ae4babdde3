"""The audit trail: every event of a tenant with time, actor, cause and one line."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.container import Container
from wharf.domain.records import ClientRequest, QuotaRejection
from wharf.domain.secret import Secret
from wharf.domain.tenant import Tenant
from wharf.domain.token import Token
from wharf.domain.volume import Volume
from wharf.projections.base import ReadModel, ts, uid
from wharf.projections.summaries import event_type, summarize

# Events that create an object owned by a tenant, and the kind of that object.
_OWNED = {
    Container.Created: "container",
    Volume.Created: "volume",
    Secret.Created: "secret",
    Token.Issued: "token",
    QuotaRejection.Recorded: "quota-rejection",
}


class AuditTrail(ReadModel):
    """rm_objects maps each object to its tenant so that later events find their tenant."""

    name = "audit"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_objects (id TEXT PRIMARY KEY, tenant_id TEXT, "
        "kind TEXT NOT NULL, name TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS rm_audit (position BIGINT PRIMARY KEY, tenant_id TEXT, "
        "object_id TEXT NOT NULL, kind TEXT NOT NULL, version INTEGER NOT NULL, "
        "occurred_at TEXT NOT NULL, actor TEXT NOT NULL, cause TEXT NOT NULL, "
        "type TEXT NOT NULL, summary TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_audit_tenant ON rm_audit (tenant_id, position)",
    )
    tables = (("rm_objects", "id"), ("rm_audit", "position"))

    def process_event(self, event: Any, tracking: Tracking) -> None:
        if isinstance(event, ClientRequest.Answered):
            return  # bookkeeping for retries, not an action
        object_id = str(event.originator_id)
        if isinstance(event, Tenant.Registered):
            self.view.stage("INSERT INTO rm_objects VALUES (?, ?, 'tenant', ?)",
                            (object_id, object_id, event.name))
        elif type(event) in _OWNED:
            self.view.stage(
                "INSERT INTO rm_objects VALUES (?, ?, ?, ?)",
                (object_id, uid(event.tenant_id), _OWNED[type(event)],
                 getattr(event, "name", "") or getattr(event, "resource", "")),
            )
        elif event.originator_version == 1:
            kind = type(event).__qualname__.split(".")[0].lower()
            self.view.stage("INSERT INTO rm_objects VALUES (?, NULL, ?, ?)",
                            (object_id, kind, getattr(event, "name", "")))
        self.view.stage(
            "INSERT INTO rm_audit SELECT ?, o.tenant_id, o.id, o.kind, ?, ?, ?, ?, ?, ? "
            "FROM rm_objects o WHERE o.id = ?",
            (tracking.notification_id, event.originator_version, ts(event), event.actor,
             event.cause, event_type(event), summarize(event), object_id),
        )


class QuotaRejections(ReadModel):
    name = "quota_rejections"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_quota_rejections (id TEXT PRIMARY KEY, "
        "tenant_id TEXT NOT NULL, command TEXT NOT NULL, resource TEXT NOT NULL, "
        "limit_value INTEGER NOT NULL, used INTEGER NOT NULL, requested INTEGER NOT NULL, "
        "actor TEXT NOT NULL, occurred_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_quota_rejections_tenant ON rm_quota_rejections "
        "(tenant_id, occurred_at)",
    )
    tables = (("rm_quota_rejections", "id"),)

    def process_event(self, event: Any, tracking: Tracking) -> None:
        if isinstance(event, QuotaRejection.Recorded):
            self.view.stage(
                "INSERT INTO rm_quota_rejections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (str(event.originator_id), str(event.tenant_id), event.command, event.resource,
                 event.limit, event.used, event.requested, event.actor, ts(event)),
            )
