"""The autoscaler: a leader timer job that reads each autoscaled service's replicas from
the metrics store and asks for a scale when its policy says so (domain/service.py:
`autoscale_decision`). Each decision is a `Scaled` event whose reason and figures say
what it saw, so `wharf history SERVICE_ID` explains every scale."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.ports import Clock
from wharf.domain.errors import DomainError
from wharf.domain.service import autoscale_decision
from wharf.projections.reads import Reader
from wharf.projections.reads import services as service_reads

log = logging.getLogger(__name__)

MIB = 1024 * 1024
AUTOSCALER = Actor.system("autoscaler")


class RecentMetrics(Protocol):
    def recent(self, targets: Sequence[str], since: datetime
               ) -> dict[str, tuple[float, int]]: ...


def autoscale(app: Wharf, view: Reader, metrics: RecentMetrics, clock: Clock,
              window: timedelta) -> int:
    """One evaluation of every policy over the samples of the last `window`; returns how
    many services it scaled."""
    now = clock.now()
    scaled = 0
    for service in service_reads.autoscaled(view):
        policy = service.autoscale
        assert policy is not None
        replicas = service_reads.running_replicas(view, service.id)
        seen = metrics.recent(replicas, now - window)
        cpu = memory = None
        if seen:
            cpu = sum(c for c, _ in seen.values()) / len(seen) / (service.cpu_millis / 1000)
            memory = 100 * sum(b for _, b in seen.values()) / len(seen) / (
                service.memory_mib * MIB)
        since = (now - datetime.fromisoformat(service.scaled_at)).total_seconds() \
            if service.scaled_at else float("inf")
        decided = autoscale_decision(policy, service.replicas, cpu, memory, since)
        if decided is None:
            continue
        target, reason = decided
        figures = {"replicas": float(service.replicas), "measured": float(len(seen))}
        if cpu is not None:
            figures["cpu_percent"] = round(cpu, 1)
        if memory is not None:
            figures["memory_percent"] = round(memory, 1)
        try:
            app.handle(m.AutoscaleService(actor=AUTOSCALER, service_id=UUID(service.id),
                                          replicas=target, expected=service.replicas,
                                          reason=reason, figures=figures))
            scaled += 1
            log.info("autoscaled service %s from %s to %s: %s", service.id,
                     service.replicas, target, reason)
        except DomainError as error:  # a plan's limit, a tenant suspended meanwhile
            log.warning("autoscaling service %s to %s refused: %s", service.id, target,
                        error)
        except Exception:  # one service's trouble must not stop every other's scaling
            log.exception("autoscaling service %s failed", service.id)
    return scaled
