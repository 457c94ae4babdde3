"""Log retention: a removed container's logs are kept for its tenant's plan's
`log_retention_hours`, then deleted. A timer job: a plain function of a clock."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from wharf.commands.application import Wharf
from wharf.commands.ports import Clock
from wharf.domain.plans import PlanCatalog
from wharf.projections.reads import Reader
from wharf.projections.reads.containers import removed_with_plans

log = logging.getLogger(__name__)


class KeptLogs(Protocol):
    def containers(self) -> list[str]: ...

    def purge(self, container_id: str) -> None: ...


def purge_expired_logs(app: Wharf, view: Reader, logs: KeptLogs, clock: Clock) -> int:
    """Deletes the logs of containers removed longer ago than their plan keeps them."""
    kept = set(logs.containers())
    if not kept:
        return 0
    catalog: Any = app.repository.get(PlanCatalog.ID)
    now = clock.now()
    purged = 0
    for row in removed_with_plans(view):
        if row.id not in kept:
            continue
        hours = catalog.at_version(row.plan, row.plan_version).log_retention_hours
        if datetime.fromisoformat(row.updated_at) + timedelta(hours=hours) <= now:
            logs.purge(row.id)
            purged += 1
    if purged:
        log.info("deleted the logs of %d removed containers past their retention", purged)
    return purged
