"""Purging closed tenants once their grace period is over."""

from __future__ import annotations

import logging
from uuid import UUID

from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.messages import PurgeTenant
from wharf.commands.ports import Clock
from wharf.projections.views import ReadModelStore

log = logging.getLogger(__name__)


def shred_closed_tenants_keys(app: Wharf, view: ReadModelStore) -> int:
    """Destroys the data key of every closed tenant (idempotent).

    Closing a tenant destroys its key right after the save; this level-triggered pass
    covers a process that died in between.
    """
    closed = view.query("SELECT id FROM rm_tenants WHERE status = 'closed'")
    for row in closed:
        app.keys.destroy(UUID(row["id"]))
    return len(closed)


def purge_due_tenants(app: Wharf, view: ReadModelStore, clock: Clock) -> list[UUID]:
    """Deletes the workloads and volumes of every closed tenant past its grace period."""
    shred_closed_tenants_keys(app, view)
    now = clock.now().isoformat()
    due = view.query(
        "SELECT id FROM rm_tenants WHERE status = 'closed' AND purged = 0 AND purge_after <= ?",
        (now,),
    )
    purged = []
    for row in due:
        tenant_id = UUID(row["id"])
        app.handle(PurgeTenant(actor=Actor.system("purge"), tenant_id=tenant_id,
                               request_id=f"purge:{tenant_id}"))
        log.info("purged tenant %s", tenant_id)
        purged.append(tenant_id)
    return purged
