"""Tenant networks are made on demand, one per tenant on each host, when a container is
created (the driver does that); this timer job removes those no container needs any more:
the tenant has no container left in the read side and none on the host."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from wharf.projections.views import ReadModelStore
from wharf.schedulers.ports import EngineError

log = logging.getLogger(__name__)

LIVE_TENANTS_SQL = (
    "SELECT DISTINCT tenant_id FROM rm_containers "
    "WHERE NOT (desired = 'deleted' AND observed = 'removed')"
)
HOSTS_SQL = "SELECT id, endpoint FROM rm_hosts WHERE state IN ('active', 'draining', 'lost')"


class NetworkSource(Protocol):
    def prune_networks(self, keep: set[str]) -> list[str]: ...


def prune_networks(view: ReadModelStore,
                   engine_for: Callable[[str, str], NetworkSource]) -> list[str]:
    """Every answering host's unneeded tenant networks, removed; returns their names."""
    keep = {str(r["tenant_id"]) for r in view.query(LIVE_TENANTS_SQL)}
    removed: list[str] = []
    for host in view.query(HOSTS_SQL):
        try:
            removed += engine_for(host["id"], host["endpoint"]).prune_networks(keep)
        except EngineError as error:
            log.info("networks of host %s stay for now: %s", host["id"], error)
    if removed:
        log.info("removed %d tenant networks no container needs", len(removed))
    return removed
