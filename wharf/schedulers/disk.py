"""Disk limits, measured: overlay2 on ext4 (and Docker's local volumes) enforce no size,
so a timer job measures every container's writable layer and every volume's files, records
crossing a limit either way, and stops a container that stays over it past a grace period.
A volume over its size stops the containers that mount it. A plain function of a clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.ports import Clock
from wharf.domain.errors import DomainError
from wharf.projections.reads import Reader
from wharf.projections.reads.containers import wanted_running
from wharf.projections.reads.hosts import in_states
from wharf.projections.reads.volumes import over_their_size

log = logging.getLogger(__name__)

MIB = 1024 * 1024
ACTOR = Actor.system("disk")


class DiskSource(Protocol):
    def disk_usage(self) -> tuple[dict[str, int], dict[str, int]]: ...


def enforce_disk_limits(
    app: Wharf, view: Reader, engine_for: Callable[[str, str], DiskSource],
    clock: Clock, grace: timedelta,
) -> list[str]:
    """Measures, records, enforces. Returns the ids of the containers it stopped."""
    now = clock.now()
    used_containers: dict[str, int] = {}
    used_volumes: dict[str, int] = {}
    for host in in_states(view, "active", "draining"):
        try:
            containers, volumes = engine_for(host.id, host.endpoint).disk_usage()
        except Exception as error:  # a silent engine: measured next time
            log.warning("disk usage of host %s: %s", host.id, error)
            continue
        used_containers.update(containers)
        used_volumes.update(volumes)

    def record(kind: str, object_id: str, used: int) -> None:
        try:
            app.handle(m.RecordDiskUsage(actor=ACTOR, kind=kind, object_id=UUID(object_id),
                                         used_mib=used // MIB, at=now.isoformat()))
        except DomainError as error:
            log.info("disk usage of %s %s not recorded: %s", kind, object_id, error)

    for container_id, used in used_containers.items():
        record("container", container_id, used)
    for volume_id, used in used_volumes.items():
        record("volume", volume_id, used)

    over_volumes = over_their_size(view)
    stopped = []
    for row in wanted_running(view):
        reasons: list[tuple[str, str | None]] = []
        if row.disk_over_since:
            reasons.append((row.disk_over_since, None))
        if over_volumes:
            for name in row.spec.volume_names:
                since = over_volumes.get((row.tenant_id, name))
                if since:
                    reasons.append((since, name))
        due = [(since, volume) for since, volume in reasons
               if datetime.fromisoformat(since) + grace <= now]
        if not due:
            continue
        since, volume = min(due, key=lambda reason: reason[0])
        try:
            outcome = app.handle(m.EnforceDiskLimit(actor=ACTOR, container_id=UUID(row.id),
                                                    volume=volume))
        except DomainError as error:
            log.info("disk limit of %s not enforced: %s", row.id, error)
            continue
        if outcome.position:
            stopped.append(row.id)
            log.warning("stopped container %s: %s over its limit since %s", row.id,
                        f"volume {volume}" if volume else "its writable layer", since)
    return stopped
