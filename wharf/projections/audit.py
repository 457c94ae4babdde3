"""The audit trail: every event of a tenant with time, actor, cause and one line."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.application import Application
from wharf.domain.container import Container
from wharf.domain.records import ClientRequest, QuotaRejection
from wharf.domain.secret import Secret
from wharf.domain.service import Service
from wharf.domain.tenant import Tenant
from wharf.domain.token import Token
from wharf.domain.volume import Volume
from wharf.projections.base import ReadModel, ts, uid
from wharf.projections.summaries import event_type, summarize
from wharf.projections.views import ReadModelStore

# Events that create an object owned by a tenant, and the kind of that object. (A custom
# Domain is not: one name moves between tenants, so its events are the operators'.)
_OWNED = {
    Container.Created: "container",
    Service.Created: "service",
    Application.Created: "application",
    Volume.Created: "volume",
    Secret.Created: "secret",
    Token.Issued: "token",
    QuotaRejection.Recorded: "quota-rejection",
}


MEMO_SIZE = 200_000


class AuditTrail(ReadModel):
    """rm_objects maps each object to its tenant so that later events find their tenant."""

    name = "audit"
    # 2: the tenant's own terms for unschedulable containers; pauses. 3: services and
    # applications are the tenant's.
    version = 3
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

    def __init__(self, view: ReadModelStore) -> None:
        super().__init__(view)
        # Which tenant and kind each object has never changes, so a bounded memo of it is
        # always right; a miss falls back to reading rm_objects inside the INSERT.
        self._owners: OrderedDict[str, tuple[str | None, str]] = OrderedDict()
        # Objects first, then audit rows: audit rows only read objects and objects never
        # change, so this order is as good as the log's and makes two long runs.
        self._objects: list[tuple[Any, ...]] = []
        self._rows: list[tuple[str, tuple[Any, ...]]] = []
        self._tenants: set[str | None] = set()

    def process_event(self, event: Any, tracking: Tracking) -> None:
        if isinstance(event, ClientRequest.Answered):
            return  # bookkeeping for retries, not an action
        object_id = str(event.originator_id)
        owner: tuple[str | None, str] | None = None
        if isinstance(event, Tenant.Registered):
            owner = (object_id, "tenant")
        elif type(event) in _OWNED:
            owner = (uid(event.tenant_id), _OWNED[type(event)])
        elif event.originator_version == 1:
            owner = (None, type(event).__qualname__.split(".")[0].lower())
        if owner is not None:
            name = getattr(event, "name", "") or getattr(event, "resource", "")
            self._objects.append((object_id, owner[0], owner[1], name))
            self._remember(object_id, owner)
        else:
            owner = self._owners.get(object_id)
        row = (event.originator_version, ts(event), event.actor, event.cause,
               event_type(event), summarize(event))
        self._tenants.add(owner[0] if owner is not None else None)
        if owner is not None:
            self._rows.append((
                "INSERT INTO rm_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (tracking.notification_id, owner[0], object_id, owner[1], *row)))
        else:
            self._rows.append((
                "INSERT INTO rm_audit SELECT ?, o.tenant_id, o.id, o.kind, ?, ?, ?, ?, ?, ? "
                "FROM rm_objects o WHERE o.id = ?",
                (tracking.notification_id, *row, object_id)))

    def end_batch(self) -> None:
        for params in self._objects:
            self.view.stage("INSERT INTO rm_objects VALUES (?, ?, ?, ?)", params)
        for sql, params in self._rows:
            self.view.stage(sql, params)
        self.discard()

    def discard(self) -> None:
        self._objects, self._rows = [], []

    def changed_tenants(self) -> set[str | None]:
        tenants, self._tenants = self._tenants, set()
        return tenants

    def _remember(self, object_id: str, owner: tuple[str | None, str]) -> None:
        self._owners[object_id] = owner
        if len(self._owners) > MEMO_SIZE:
            self._owners.popitem(last=False)


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
