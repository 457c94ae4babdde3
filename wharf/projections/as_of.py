"""Time travel: an object as it was at a moment, folded from the log (not a read model).

The aggregate at the version it had then comes from eventsourcing's repository, which
starts from the newest snapshot at or before that version and applies only the events
after it (snapshots every SNAPSHOT_EVERY events: infra/store.py), so the cost of an
`asOf` read is bounded by the snapshot interval, however long the object's history. The
aggregate is then shown as the read model shows the object, as the same row type, so the
API answers `asOf` with the types it always does. Pure: the caller folds.
"""

from __future__ import annotations

from typing import Any

from wharf.domain.application import Application
from wharf.domain.container import Container
from wharf.domain.service import Service
from wharf.domain.volume import Volume
from wharf.projections.reads.applications import ApplicationRow
from wharf.projections.reads.containers import ContainerRow
from wharf.projections.reads.services import ServiceRow
from wharf.projections.reads.volumes import VolumeRow

Row = ContainerRow | VolumeRow | ServiceRow | ApplicationRow
KINDS: dict[str, type[Any]] = {"container": Container, "volume": Volume, "service": Service,
                               "application": Application}


def _or_none(text: str | None) -> str | None:
    return text or None


def _times(aggregate: Any) -> dict[str, str]:
    return {"created_at": aggregate.created_on.isoformat(),
            "updated_at": aggregate.modified_on.isoformat()}


def container_row(c: Container) -> ContainerRow:
    return ContainerRow(
        id=str(c.id), tenant_id=str(c.tenant_id), name=c.name, image=c.spec.image,
        spec=c.spec, cpu_millis=c.cpu_millis, memory_mib=c.memory_mib, desired=c.desired,
        observed=c.observed, host_id=None if c.host_id is None else str(c.host_id),
        exit_code=c.exit_code,
        # (snapshots taken before these were kept lack them)
        oom_killed=getattr(c, "oom_killed", None),
        generation=c.generation, run_generation=c.run_generation, restarts=c.restarts,
        started_at=_or_none(c.started_at), finished_at=_or_none(c.finished_at),
        ports=dict(getattr(c, "ports", {})), unschedulable=dict(c.unschedulable),
        unschedulable_summary=list(c.unschedulable_summary), failure=_or_none(c.failure),
        disk_over_since=_or_none(c.disk_over_since),
        service_id=None if c.service_id is None else str(c.service_id),
        health=_or_none(c.health), config_version=c.config_version,
        pulling=_or_none(c.__dict__.get("pulling", "")), **_times(c))


def volume_row(v: Volume) -> VolumeRow:
    state = "deleted" if v.deleted else "restoring" if v.restoring_from else "active"
    return VolumeRow(
        id=str(v.id), tenant_id=str(v.tenant_id), name=v.name, size_gib=v.size_gib,
        state=state, host_id=None if v.host_id is None else str(v.host_id),
        restoring_from=v.restoring_from, disk_over_since=_or_none(v.disk_over_since),
        **_times(v))


def service_row(s: Service) -> ServiceRow:
    return ServiceRow(
        id=str(s.id), tenant_id=str(s.tenant_id), name=s.name, category=s.category,  # type: ignore[arg-type]
        image=s.spec.image, spec=s.spec, balanced=list(s.balanced), cpu_millis=s.cpu_millis,
        memory_mib=s.memory_mib, desired=s.desired, replicas=s.count,
        endpoints=dict(s.endpoints), autoscale=s.autoscale,
        scaled_at=getattr(s, "scaled_at", None), scale_reason=getattr(s, "scale_reason", None),
        application_id=None if s.application_id is None else str(s.application_id),
        alias=s.alias, depends_on=dict(s.depends_on), version=s.config_version,
        good_version=s.good_version,
        retiring={str(old): str(new) for old, new in s.retiring.items()},
        update_policy=s.update, **_times(s))


def application_row(a: Application) -> ApplicationRow:
    return ApplicationRow(
        id=str(a.id), tenant_id=str(a.tenant_id), name=a.name, desired=a.desired,
        version=a.deploys, entry=a.entry if a.deploys else None,
        services={name: str(ident) for name, ident in a.services.items()},
        warnings=list(getattr(a, "warnings", [])), **_times(a))


def row_of(aggregate: Any) -> Row:
    """The read model's row for this aggregate's state."""
    if isinstance(aggregate, Container):
        return container_row(aggregate)
    if isinstance(aggregate, Volume):
        return volume_row(aggregate)
    if isinstance(aggregate, Service):
        return service_row(aggregate)
    if isinstance(aggregate, Application):
        return application_row(aggregate)
    raise TypeError(f"no row for {type(aggregate).__name__}")
