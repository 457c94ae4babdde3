"""The audit trail: every event of a tenant with time, actor, cause and one line."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.application import Application
from wharf.domain.container import Container
from wharf.domain.credential import Credential, Invitation
from wharf.domain.mirror import Mirror
from wharf.domain.pipeline import Build, Pipeline
from wharf.domain.records import ClientRequest, QuotaRejection
from wharf.domain.repository import Repository
from wharf.domain.secret import Secret
from wharf.domain.service import Service
from wharf.domain.tenant import Tenant
from wharf.domain.token import Token
from wharf.domain.volume import Volume
from wharf.projections.audit_chain import GENESIS, link
from wharf.projections.base import ReadModel, ts, uid
from wharf.projections.summaries import event_type, summarize
from wharf.projections.views import ReadModelStore, storable

# Events that create an object owned by a tenant, and the kind of that object. (A custom
# Domain is not: one name moves between tenants, so its events are the operators'.)
_OWNED = {
    Container.Created: "container",
    Service.Created: "service",
    Application.Created: "application",
    Volume.Created: "volume",
    Secret.Created: "secret",
    Repository.Created: "repository",
    Pipeline.Created: "pipeline",
    Mirror.Created: "mirror",  # (an operator's: the operators')
    Build.Requested: "build",  # (a public one's tenant is None: the operators')
    Token.Issued: "token",
    Credential.Set: "credential",
    Invitation.Sent: "invitation",
    QuotaRejection.Recorded: "quota-rejection",
}


MEMO_SIZE = 200_000


class AuditTrail(ReadModel):
    """rm_objects maps each object to its tenant so that later events find their tenant.
    Each tenant's entries are hash-chained (audit_chain.py; the operators' entries, with
    no tenant, chain under ""), and rm_audit_heads holds each chain's last link."""

    name = "audit"
    # 2: the tenant's own terms for unschedulable containers; pauses. 3: services and
    # applications are the tenant's. 4: the hash chain, and the index by object.
    version = 4
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_objects (id TEXT PRIMARY KEY, tenant_id TEXT, "
        "kind TEXT NOT NULL, name TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS rm_audit (position BIGINT PRIMARY KEY, tenant_id TEXT, "
        "object_id TEXT NOT NULL, kind TEXT NOT NULL, version INTEGER NOT NULL, "
        "occurred_at TEXT NOT NULL, actor TEXT NOT NULL, cause TEXT NOT NULL, "
        "type TEXT NOT NULL, summary TEXT NOT NULL, chain TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_audit_tenant ON rm_audit (tenant_id, position)",
        # (an object's versions by position and by time: what `asOf` reads fold to)
        "CREATE INDEX IF NOT EXISTS rm_audit_object ON rm_audit (object_id, position)",
        "CREATE INDEX IF NOT EXISTS rm_audit_object_time ON rm_audit (object_id, occurred_at)",
        "CREATE TABLE IF NOT EXISTS rm_audit_heads (tenant_id TEXT PRIMARY KEY, "
        "position BIGINT NOT NULL, chain TEXT NOT NULL, entries BIGINT NOT NULL)",
    )
    tables = (("rm_objects", "id"), ("rm_audit", "position"),
              ("rm_audit_heads", "tenant_id"))

    def __init__(self, view: ReadModelStore) -> None:
        super().__init__(view)
        # Which tenant and kind each object has never changes, so a bounded memo of it is
        # always right; a miss falls back to reading rm_objects inside the INSERT.
        self._owners: OrderedDict[str, tuple[str | None, str]] = OrderedDict()
        # Objects first, then audit rows: audit rows only read objects and objects never
        # change, so this order is as good as the log's and makes two long runs.
        self._objects: list[tuple[Any, ...]] = []
        self._rows: list[tuple[Any, ...]] = []
        self._tenants: set[str | None] = set()
        # Each chain's last link (position, chain, entries) as this batch leaves it; read
        # from rm_audit_heads on first use, forgotten when a batch is discarded.
        self._heads: dict[str, tuple[int, str, int]] = {}
        self._moved: set[str] = set()

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
            owner = self._owners.get(object_id) or self._owner(object_id)
            if owner is None:
                return  # an object the trail never saw made (none since the first log)
        tenant = owner[0]
        entry = tuple(storable(value) for value in (
            tracking.notification_id, tenant, object_id, owner[1], event.originator_version,
            ts(event), event.actor, event.cause, event_type(event), summarize(event)))
        key = tenant or ""
        _, previous, entries = self._head(key)
        chain = link(previous, entry)
        self._heads[key] = (tracking.notification_id, chain, entries + 1)
        self._moved.add(key)
        self._tenants.add(tenant)
        self._rows.append((*entry, chain))

    def end_batch(self) -> None:
        for params in self._objects:
            self.view.stage("INSERT INTO rm_objects VALUES (?, ?, ?, ?)", params)
        for params in self._rows:
            self.view.stage("INSERT INTO rm_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            params)
        for key in sorted(self._moved):
            self.view.stage(
                "INSERT INTO rm_audit_heads VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id) DO "
                "UPDATE SET position = excluded.position, chain = excluded.chain, "
                "entries = excluded.entries", (key, *self._heads[key]))
        self._objects, self._rows, self._moved = [], [], set()

    def discard(self) -> None:
        self._objects, self._rows, self._moved = [], [], set()
        self._heads = {}  # what the failed batch linked is not in the store

    def _head(self, key: str) -> tuple[int, str, int]:
        head = self._heads.get(key)
        if head is None:
            rows = self.view.query("SELECT position, chain, entries FROM rm_audit_heads "
                                   "WHERE tenant_id = ?", (key,))
            head = ((int(rows[0]["position"]), rows[0]["chain"], int(rows[0]["entries"]))
                    if rows else (0, GENESIS, 0))
            self._heads[key] = head
        return head

    def _owner(self, object_id: str) -> tuple[str | None, str] | None:
        """An object made in an earlier batch and forgotten by the memo."""
        rows = self.view.query("SELECT tenant_id, kind FROM rm_objects WHERE id = ?",
                               (object_id,))
        if not rows:
            return None
        owner = (rows[0]["tenant_id"], rows[0]["kind"])
        self._remember(object_id, owner)
        return owner

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
