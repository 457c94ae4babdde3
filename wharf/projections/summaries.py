"""One line per event for people: the audit trail and `wharf events`.

Secret material never appears: ciphertexts and token hashes are not shown, and a
container's environment shows its variable names only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wharf.domain.application import Application
from wharf.domain.container import Container
from wharf.domain.credential import Credential, Invitation
from wharf.domain.host import Host
from wharf.domain.mirror import Mirror
from wharf.domain.pipeline import Build, Pipeline
from wharf.domain.plans import PlanCatalog
from wharf.domain.records import ClientRequest, QuotaRejection
from wharf.domain.repository import Repository
from wharf.domain.secret import Secret
from wharf.domain.service import Service
from wharf.domain.tenant import Tenant
from wharf.domain.token import Token
from wharf.domain.volume import Volume

HIDDEN = {"ciphertext", "secret_hash", "password_hash", "code_hash", "value", "outcome",
          "originator_topic", "digest"}
BASE = {"originator_id", "originator_version", "timestamp", "actor", "cause", "correlation",
        "causation"}

def _spec(spec: dict[str, Any]) -> str:
    """An image and the names (never the values) of its variables and secrets."""
    env = ", ".join(sorted(spec.get("env") or {})) or "none"
    secrets = ", ".join(s["name"] for s in spec.get("secrets") or []) or "none"
    return f"{spec['image']} (env: {env}; secrets: {secrets})"


def _container_created(e: Any) -> str:
    return f"container {e.name} created from {_spec(e.spec)}, desired {e.desired}"


def _scaled(e: Any) -> str:
    figures = ", ".join(f"{k} {v:g}" for k, v in sorted(e.figures.items()))
    return (f"scaled {e.previous} -> {e.replicas}: {e.reason}"
            + (f" ({figures})" if figures else ""))


_LINES: dict[type[Any], Callable[[Any], str]] = {
    PlanCatalog.Created: lambda e: "plan catalogue created",
    PlanCatalog.PlanAdded: lambda e: f"plan {e.plan['name']} v{e.plan['version']} added",
    Tenant.Registered: lambda e: f"tenant {e.name} registered on plan {e.plan_name} "
                                 f"v{e.plan_version}, owner {e.owner}",
    Tenant.MemberAdded: lambda e: f"member {e.email} added as {e.role}",
    Tenant.MemberRemoved: lambda e: f"member {e.email} removed",
    Tenant.RoleChanged: lambda e: f"member {e.email} is now {e.role}",
    Tenant.PlanChanged: lambda e: f"plan changed to {e.plan_name} v{e.plan_version}",
    Tenant.Suspended: lambda e: "tenant suspended",
    Tenant.Resumed: lambda e: "tenant resumed",
    Tenant.Closed: lambda e: f"tenant closed; workloads purged after {e.purge_after}",
    Tenant.Purged: lambda e: "tenant purged",
    Tenant.ContainerReserved: lambda e: f"reserved container {e.name}: "
                                        f"{e.resources['cpu_millis']}m CPU, "
                                        f"{e.resources['memory_mib']} MiB",
    Tenant.ContainerReleased: lambda e: f"released container {e.name}",
    Tenant.VolumeReserved: lambda e: f"reserved volume {e.name}: {e.size_gib} GiB",
    Tenant.VolumeResized: lambda e: f"volume {e.name} grown to {e.size_gib} GiB",
    Tenant.VolumeReleased: lambda e: f"released volume {e.name}",
    Token.Issued: lambda e: f"token {e.name or str(e.originator_id)[:8]} issued to "
                            f"{e.member} ({e.scope})",
    Token.Revoked: lambda e: "token revoked",
    Credential.Set: lambda e: (f"password set for {e.email}" if e.password_hash else
                               f"{e.email} may set a password from an invitation"),
    Credential.Changed: lambda e: "password changed" if e.password_hash else "password removed",
    Credential.Invited: lambda e: "an invitation may set the password",
    Invitation.Sent: lambda e: f"invitation sent to {e.email}, valid until {e.expires_at}",
    Invitation.Accepted: lambda e: "invitation accepted: password set",
    Secret.Created: lambda e: f"secret {e.name} set",
    Secret.Set: lambda e: "secret value replaced",
    Secret.Deleted: lambda e: "secret deleted",
    Mirror.Created: lambda e: f"mirror {e.name} of {e.upstream} created",
    Mirror.Served: lambda e: f"mirror serves on {e.address}",
    Mirror.Observed: lambda e: f"mirror {e.state}" + (f": {e.detail}" if e.detail else ""),
    Mirror.Deleted: lambda e: "mirror deleted",
    Pipeline.Created: lambda e: f"pipeline {e.name} created: {e.git_url} {e.branch} -> "
                                f"{e.repository}:{e.tag_pattern}",
    Pipeline.BuildCounted: lambda e: f"build {e.build_id} asked for",
    Pipeline.Deleted: lambda e: "pipeline deleted",
    Build.Requested: lambda e: f"build {e.number} requested ({e.trigger}) of {e.branch}"
                               + (f" at {e.commit[:12]}" if e.commit else ""),
    Build.Started: lambda e: f"build started at {e.commit[:12]} on {e.host}: {e.image}",
    Build.Succeeded: lambda e: f"build pushed {e.manifest}" + (f"; {e.deploy}" if e.deploy
                                                               else ""),
    Build.Failed: lambda e: f"build failed: {e.reason}",
    Repository.Created: lambda e: f"image repository {e.name} created",
    Repository.Described: lambda e: "description and guide changed",
    Repository.Pushed: lambda e: f"tag {e.tag} pushed: {e.manifest} ({e.size} bytes)",
    Repository.Removed: lambda e: (f"image {e.manifest} deleted, " if e.manifest else "") +
                                  f"tags {', '.join(e.tags)} gone",
    Container.Created: lambda e: _container_created(e),
    Container.StartRequested: lambda e: "start requested",
    Container.StopRequested: lambda e: "stop requested"
                                       + (" (tenant suspended)" if e.by_suspension else ""),
    Container.DeleteRequested: lambda e: "delete requested",
    Container.Placed: lambda e: f"placed on host {e.host_id}",
    Container.Started: lambda e: f"started (run of start #{e.generation})"
                                 + (f", ports {e.ports}" if e.ports else ""),
    Container.Exited: lambda e: f"exited with code {e.exit_code}"
                                + (" (out of memory)" if e.oom_killed else ""),
    Container.Restarted: lambda e: f"restart #{e.attempt} after the exit at "
                                   f"{e.after_finished_at}",
    # (the tenant reads its audit trail: its own terms, never other hosts' figures)
    Container.Unschedulable: lambda e: "no host takes it: " + "; ".join(e.summary),
    Container.Paused: lambda e: "found paused (frozen behind Wharf's back)",
    Container.Unpaused: lambda e: "running again after a pause",
    Container.Removed: lambda e: "removed",
    Container.Failed: lambda e: f"the engine refused it: {e.reason}",
    Container.Pulling: lambda e: f"its host pulls {e.progress}" if e.progress else "pulled",
    Container.DiskOverLimit: lambda e: f"writable layer {e.used_mib} MiB, over the plan's "
                                       f"{e.limit_mib} MiB",
    Container.DiskWithinLimit: lambda e: f"writable layer back to {e.used_mib} MiB",
    Container.DiskLimitEnforced: lambda e: "stopped: "
        + (f"volume {e.volume} over its size" if e.volume else "over its disk limit")
        + f" since {e.since}",
    Volume.DiskOverLimit: lambda e: f"files {e.used_mib} MiB, over its {e.limit_mib} MiB",
    Volume.DiskWithinLimit: lambda e: f"files back to {e.used_mib} MiB",
    Volume.Created: lambda e: f"volume {e.name} created, {e.size_gib} GiB",
    Service.Created: lambda e: f"{e.category} service {e.name} created from "
                               f"{_spec(e.spec)}, desired {e.desired}",
    Service.Scaled: _scaled,
    Service.Reconfigured: lambda e: f"version {e.config_version}: {_spec(e.spec)}",
    Service.Rolled: lambda e: f"version {e.config_version} rolling out: {len(e.pairs)} "
                              f"new replica(s) replacing as many",
    Service.Replaced: lambda e: f"version {e.config_version} rolling out stop-first: "
                                f"replica(s) in slot(s) {', '.join(sorted(e.slots))} "
                                "replaced",
    Service.UpdatePolicySet: lambda e: "update policy: " + ", ".join(
        f"{k} {v}" for k, v in sorted(e.policy.items())),
    Service.RolledBack: lambda e: f"rolled back from version {e.from_version} to "
                                  f"{e.to_version}: {e.reason}",
    Application.Deployed: lambda e: f"deploy {e.deploy}: services "
                                    f"{', '.join(e.services) or 'none'}; entry "
                                    f"{e.entry or 'none'}",
    Volume.Resized: lambda e: f"resized to {e.size_gib} GiB",
    Volume.Deleted: lambda e: "volume deleted",
    Volume.Placed: lambda e: f"bound to host {e.host_id}",
    Volume.BackupRequested: lambda e: f"backup {e.backup_id} requested",
    Volume.BackedUp: lambda e: f"backup {e.backup_id} done: {e.size_bytes} bytes, "
                               f"sha256 {e.sha256[:12]}",
    Volume.RestoreRequested: lambda e: f"to be restored from backup {e.backup_id} of "
                                       f"volume {e.source_volume_id}",
    Volume.Restored: lambda e: f"restored from backup {e.backup_id} on host {e.host_id}",
    Host.Registered: lambda e: f"host {e.name} ({e.endpoint}) registered: "
                               f"{e.cpu_millis}m CPU, {e.memory_mib} MiB, x{e.overcommit}, "
                               f"pool {e.pool}",
    Host.Drained: lambda e: "host draining",
    Host.Activated: lambda e: "host active again",
    Host.Removed: lambda e: "host removed",
    Host.Rejoined: lambda e: "host registered again",
    Host.Lost: lambda e: f"host lost: its engine silent since {e.silent_since}",
    Host.Recovered: lambda e: f"host answers again ({e.state})",
    QuotaRejection.Recorded: lambda e: f"{e.command} rejected: {e.resource} limit {e.limit}, "
                                       f"used {e.used}, requested {e.requested}",
    ClientRequest.Answered: lambda e: f"answer to {e.command} kept for retries",
}


def event_type(event: Any) -> str:
    return type(event).__qualname__


def summarize(event: Any) -> str:
    line = _LINES.get(type(event))
    if line is not None:
        return line(event)
    shown = {k: v for k, v in vars(event).items() if k not in HIDDEN | BASE}
    return f"{event_type(event)} {shown}"
