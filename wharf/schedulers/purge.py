"""Purging closed tenants once their grace period is over."""

from __future__ import annotations

import logging
from uuid import UUID

from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.messages import PurgeTenant
from wharf.commands.ports import Clock
from wharf.projections.reads import Reader
from wharf.projections.reads.tenants import closed_tenant_ids, due_for_purge

log = logging.getLogger(__name__)


def shred_closed_tenants_keys(app: Wharf, view: Reader) -> int:
    """Destroys the data key of every closed tenant (idempotent).

    Closing a tenant destroys its key right after the save; this level-triggered pass
    covers a process that died in between.
    """
    closed = closed_tenant_ids(view)
    for tenant_id in closed:
        app.keys.destroy(UUID(tenant_id))
    return len(closed)


def purge_due_tenants(app: Wharf, view: Reader, clock: Clock) -> list[UUID]:
    """Deletes the workloads and volumes of every closed tenant past its grace period."""
    shred_closed_tenants_keys(app, view)
    purged = []
    for due in due_for_purge(view, clock.now().isoformat()):
        tenant_id = UUID(due)
        app.handle(PurgeTenant(actor=Actor.system("purge"), tenant_id=tenant_id,
                               request_id=f"purge:{tenant_id}"))
        log.info("purged tenant %s", tenant_id)
        purged.append(tenant_id)
    return purged
