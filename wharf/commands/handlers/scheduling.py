"""The scheduler's commands: its decisions (placement, restarts) and what Docker did.

Each is idempotent on the aggregate itself, so a repeated pass, a repeated Docker event or
a restarted scheduler records nothing twice.
"""

from __future__ import annotations

from wharf.commands.answers import Placed, RestartDecided, TermTaken
from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import (
    EnforceDiskLimit,
    MarkHostLost,
    MarkHostRecovered,
    MarkUnschedulable,
    PlaceContainer,
    RecordBackup,
    RecordDiskUsage,
    RecordFailure,
    RecordPull,
    RecordRemoved,
    RecordRestore,
    RecordRun,
    RecycleContainer,
    RestartContainer,
    SwitchRuntime,
    TakeLeadership,
)
from wharf.domain.base import WharfAggregate
from wharf.domain.container import Container
from wharf.domain.errors import Conflict
from wharf.domain.host import Host
from wharf.domain.installation import Installation
from wharf.domain.leadership import Leadership
from wharf.domain.tenant import Tenant
from wharf.domain.volume import Volume


def _if_changed(aggregate: WharfAggregate, changed: bool,
                answer: RestartDecided | None = None) -> Decision:
    """Saves the aggregate only when the report changed it: a repeat records nothing."""
    return Decision([aggregate] if changed else [], Outcome(id=aggregate.id, answer=answer))


def place_container(ctx: Context, cmd: PlaceContainer) -> Decision:
    ctx.require_leader(cmd.term)
    container = ctx.load(Container, cmd.container_id, "container")
    if container.host_id is not None and not cmd.move:
        # A pass that acted on a read side without its own last decision (a restarted
        # scheduler, say) keeps that decision instead of making a second one.
        return Decision([], Outcome(id=container.id, answer=Placed(str(container.host_id))))
    host = ctx.load(Host, cmd.host_id, "host")
    if host.state != "active":
        raise Conflict(f"host {host.name} is {host.state}")
    # Its volumes live where it runs: the first container to mount one binds it there.
    tenant = ctx.load(Tenant, container.tenant_id, "tenant")
    volumes: list[WharfAggregate] = []
    for name in container.spec.volume_names:
        reserved = tenant.volumes.get(name)
        if reserved is None:
            raise Conflict(f"volume {name} does not exist")
        volume = ctx.load(Volume, reserved["id"], "volume")
        if volume.place(host.id):
            volumes.append(volume)
    changed = container.place(host.id)
    return Decision([container, *volumes] if changed else volumes,
                    Outcome(id=container.id, answer=Placed(str(host.id))))


def mark_unschedulable(ctx: Context, cmd: MarkUnschedulable) -> Decision:
    ctx.require_leader(cmd.term)
    container = ctx.load(Container, cmd.container_id, "container")
    return _if_changed(container, container.mark_unschedulable(cmd.reasons, cmd.summary))


def record_run(ctx: Context, cmd: RecordRun) -> Decision:
    ctx.require_leader(cmd.term)
    container = ctx.load(Container, cmd.container_id, "container")
    recorded = container.observe(cmd.generation, cmd.started_at, cmd.finished_at, cmd.running,
                                 cmd.exit_code, cmd.oom_killed, cmd.ports, cmd.paused,
                                 cmd.health)
    return _if_changed(container, bool(recorded))


def recycle_container(ctx: Context, cmd: RecycleContainer) -> Decision:
    ctx.require_leader(cmd.term)
    container = ctx.load(Container, cmd.container_id, "container")
    changed = container.recycle(cmd.run_started_at)
    due = container.recycled_run == cmd.run_started_at
    return _if_changed(container, changed, RestartDecided(container.restarts, due))


def restart_container(ctx: Context, cmd: RestartContainer) -> Decision:
    ctx.require_leader(cmd.term)
    container = ctx.load(Container, cmd.container_id, "container")
    changed = container.restart(cmd.after_finished_at)
    # Due also when an earlier pass recorded this restart but died before starting it.
    due = container.restarted_after == cmd.after_finished_at
    return _if_changed(container, changed, RestartDecided(container.restarts, due))


def record_removed(ctx: Context, cmd: RecordRemoved) -> Decision:
    ctx.require_leader(cmd.term)
    container = ctx.load(Container, cmd.container_id, "container")
    return _if_changed(container, container.observe_removed())


def mark_host_lost(ctx: Context, cmd: MarkHostLost) -> Decision:
    ctx.require_leader(cmd.term)
    host = ctx.load(Host, cmd.host_id, "host")
    return _if_changed(host, host.lose(cmd.silent_since))


def mark_host_recovered(ctx: Context, cmd: MarkHostRecovered) -> Decision:
    ctx.require_leader(cmd.term)
    host = ctx.load(Host, cmd.host_id, "host")
    return _if_changed(host, host.recover())


def record_backup(ctx: Context, cmd: RecordBackup) -> Decision:
    ctx.require_leader(cmd.term)
    volume = ctx.load(Volume, cmd.volume_id, "volume")
    return _if_changed(volume, volume.record_backup(cmd.backup_id, cmd.size_bytes,
                                                    cmd.sha256))


def record_restore(ctx: Context, cmd: RecordRestore) -> Decision:
    ctx.require_leader(cmd.term)
    volume = ctx.load(Volume, cmd.volume_id, "volume")
    return _if_changed(volume, volume.record_restore(cmd.host_id))


def take_leadership(ctx: Context, cmd: TakeLeadership) -> Decision:
    ctx.require_system()
    if ctx.exists(Leadership.ID):
        leadership = ctx.load(Leadership, Leadership.ID, "leadership")
    else:
        leadership = ctx.new(Leadership, id=Leadership.ID)
    term = leadership.take(cmd.holder)
    return Decision([leadership], Outcome(id=leadership.id, answer=TermTaken(term)))


def record_failure(ctx: Context, cmd: RecordFailure) -> Decision:
    ctx.require_leader(cmd.term)
    container = ctx.load(Container, cmd.container_id, "container")
    return _if_changed(container, container.record_failure(cmd.reason[:1000]))


def record_pull(ctx: Context, cmd: RecordPull) -> Decision:
    ctx.require_leader(cmd.term)
    container = ctx.load(Container, cmd.container_id, "container")
    return _if_changed(container, container.record_pull(cmd.progress[:300]))


def record_disk_usage(ctx: Context, cmd: RecordDiskUsage) -> Decision:
    ctx.require_system()
    if cmd.kind == "volume":
        volume = ctx.load(Volume, cmd.object_id, "volume")
        return _if_changed(volume, volume.measure_disk(cmd.used_mib, cmd.at))
    container = ctx.load(Container, cmd.object_id, "container")
    limit = ctx.plan_of(ctx.load(Tenant, container.tenant_id, "tenant")).limit(
        "container_disk_mib")
    return _if_changed(container, limit is not None
                       and container.measure_disk(cmd.used_mib, limit, cmd.at))


def enforce_disk_limit(ctx: Context, cmd: EnforceDiskLimit) -> Decision:
    ctx.require_system()
    container = ctx.load(Container, cmd.container_id, "container")
    since = container.disk_over_since
    if cmd.volume is not None:
        reserved = ctx.load(Tenant, container.tenant_id, "tenant").volumes.get(cmd.volume)
        if reserved is None or cmd.volume not in container.spec.volume_names:
            raise Conflict(f"container {container.name} does not mount volume {cmd.volume}")
        since = ctx.load(Volume, reserved["id"], "volume").disk_over_since
    return _if_changed(container, container.enforce_disk_limit(since, cmd.volume))


def switch_runtime(ctx: Context, cmd: SwitchRuntime) -> Decision:
    ctx.require_operator()
    installation = ctx.load(Installation, Installation.ID, "installation")
    changed = installation.switch_runtime(cmd.runtime, cmd.moved)
    return _if_changed(installation, changed)
