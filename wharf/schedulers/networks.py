"""Tenant networks are made on demand, one per tenant on each host, when a container is
created (the driver does that); this timer job removes those no container needs any more:
the tenant has no container left in the read side and none on the host."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from wharf.projections.reads import Reader
from wharf.projections.reads.containers import live_tenant_ids
from wharf.projections.reads.hosts import in_states
from wharf.schedulers.ports import EngineError

log = logging.getLogger(__name__)


class NetworkSource(Protocol):
    def prune_networks(self, keep: set[str]) -> list[str]: ...


def prune_networks(view: Reader,
                   engine_for: Callable[[str, str], NetworkSource]) -> list[str]:
    """Every answering host's unneeded tenant networks, removed; returns their names."""
    keep = live_tenant_ids(view)
    removed: list[str] = []
    for host in in_states(view, "active", "draining", "lost"):
        try:
            removed += engine_for(host.id, host.endpoint).prune_networks(keep)
        except EngineError as error:
            log.info("networks of host %s stay for now: %s", host.id, error)
    if removed:
        log.info("removed %d tenant networks no container needs", len(removed))
    return removed
