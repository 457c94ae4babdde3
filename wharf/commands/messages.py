"""Commands: imperative dataclasses. Each carries its actor and an optional request id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from wharf.commands.actors import Actor


@dataclass(frozen=True, kw_only=True)
class Command:
    actor: Actor
    request_id: str | None = None
    # The chain of work this command belongs to, and what led to it (an event's id, for
    # the scheduler's). Unset: a command starts a chain of its own, named by its own id;
    # a system command about one object carries on that object's last event's chain.
    correlation_id: str | None = None
    causation_id: str | None = None


# -- plans and tenants (operators) ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddPlan(Command):
    name: str
    limits: dict[str, int | None]
    prices: dict[str, str]
    default_cpu_millis: int = 250
    default_memory_mib: int = 256
    bandwidth_mbps: int | None = None
    log_retention_hours: int = 24
    description: str = ""
    self_service: bool = False


@dataclass(frozen=True, kw_only=True)
class CreateTenant(Command):
    name: str
    plan: str
    owner: str


@dataclass(frozen=True, kw_only=True)
class SuspendTenant(Command):
    tenant_id: UUID


@dataclass(frozen=True, kw_only=True)
class ResumeTenant(Command):
    tenant_id: UUID


@dataclass(frozen=True, kw_only=True)
class CloseTenant(Command):
    tenant_id: UUID
    grace_hours: int = 72


@dataclass(frozen=True, kw_only=True)
class PurgeTenant(Command):
    tenant_id: UUID


@dataclass(frozen=True, kw_only=True)
class ChangePlan(Command):
    tenant_id: UUID
    plan: str


# -- members and tokens (owners) -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddMember(Command):
    tenant_id: UUID
    email: str
    role: str


@dataclass(frozen=True, kw_only=True)
class RemoveMember(Command):
    tenant_id: UUID
    email: str


@dataclass(frozen=True, kw_only=True)
class ChangeRole(Command):
    tenant_id: UUID
    email: str
    role: str


@dataclass(frozen=True, kw_only=True)
class IssueToken(Command):
    """A tenant token for `member`, or an operator token when tenant_id is None."""

    tenant_id: UUID | None
    member: str
    scope: str = "tenant"
    ttl_hours: int | None = 24 * 90
    name: str = ""
    session_of: int = 0  # a dashboard sign-in: the password version it checked


@dataclass(frozen=True, kw_only=True)
class RevokeToken(Command):
    token_id: UUID


@dataclass(frozen=True, kw_only=True)
class SetPassword(Command):
    """A member's password for one tenant (owners set their members'), or with no tenant
    an operator's (operators only). The API hashes it (infra/passwords.py): only the
    hash ever reaches a command."""

    tenant_id: UUID | None
    email: str
    password_hash: str  # "" removes the password (`wharf password --remove`)
    from_shell: bool = False  # `wharf password`: any operator's (the API: one's own)


@dataclass(frozen=True, kw_only=True)
class InviteMember(Command):
    """An invitation link for a member (added with `role` when not one yet)."""

    tenant_id: UUID
    email: str
    role: str | None = None  # a new member's (None: developer); a member's stays
    ttl_hours: int = 72


@dataclass(frozen=True, kw_only=True)
class AcceptInvitation(Command):
    """Whoever holds the invitation's code sets the invited member's password."""

    invitation_id: UUID
    code: str
    password_hash: str


# -- workloads (developers) ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateContainer(Command):
    tenant_id: UUID
    name: str
    spec: dict[str, Any]
    start: bool = True


@dataclass(frozen=True, kw_only=True)
class StartContainer(Command):
    container_id: UUID


@dataclass(frozen=True, kw_only=True)
class StopContainer(Command):
    container_id: UUID


@dataclass(frozen=True, kw_only=True)
class DeleteContainer(Command):
    container_id: UUID


@dataclass(frozen=True, kw_only=True)
class CreateService(Command):
    tenant_id: UUID
    name: str
    spec: dict[str, Any]
    replicas: int = 1
    category: str = "app"
    balanced: list[int] = field(default_factory=list)  # container ports to balance
    start: bool = True
    update_policy: dict[str, Any] | None = None  # UpdatePolicy's fields; None: defaults


@dataclass(frozen=True, kw_only=True)
class ScaleService(Command):
    service_id: UUID
    replicas: int


@dataclass(frozen=True, kw_only=True)
class SetAutoscalePolicy(Command):
    """Turns autoscaling on (or changes it); `enabled=False` turns it off."""

    service_id: UUID
    enabled: bool = True
    min: int = 1
    max: int = 1
    cpu_percent: int | None = None
    memory_percent: int | None = None
    cooldown_s: int = 60


@dataclass(frozen=True, kw_only=True)
class AutoscaleService(Command):
    """The autoscaler's decision (system): applied only if the service still has the
    `expected` count the decision saw."""

    service_id: UUID
    replicas: int
    expected: int
    reason: str
    figures: dict[str, float]


@dataclass(frozen=True, kw_only=True)
class UpdateService(Command):
    """A new configuration (the whole spec, as create takes it); its replicas are
    replaced by a rolling update."""

    service_id: UUID
    spec: dict[str, Any]
    balanced: list[int] = field(default_factory=list)
    update_policy: dict[str, Any] | None = None  # None: as it was


@dataclass(frozen=True, kw_only=True)
class RollbackService(Command):
    """Back to configuration `to_version` (None: the last one every replica ran)."""

    service_id: UUID
    to_version: int | None = None
    reason: str = "asked for"


@dataclass(frozen=True, kw_only=True)
class StartService(Command):
    service_id: UUID


@dataclass(frozen=True, kw_only=True)
class StopService(Command):
    service_id: UUID


@dataclass(frozen=True, kw_only=True)
class DeleteService(Command):
    service_id: UUID


@dataclass(frozen=True, kw_only=True)
class DeployApplication(Command):
    """Deploys a Compose file as the application `name` (made, or updated where the file
    changed)."""

    tenant_id: UUID
    name: str
    compose: str = field(repr=False)
    env_files: dict[str, str] = field(default_factory=dict, repr=False)  # path -> contents
    variables: dict[str, str] = field(default_factory=dict, repr=False)  # for ${VAR}


@dataclass(frozen=True, kw_only=True)
class StartApplication(Command):
    application_id: UUID


@dataclass(frozen=True, kw_only=True)
class StopApplication(Command):
    application_id: UUID


@dataclass(frozen=True, kw_only=True)
class DeleteApplication(Command):
    application_id: UUID


@dataclass(frozen=True, kw_only=True)
class BindDomain(Command):
    application_id: UUID
    domain: str
    service: str  # the Compose service it reaches


@dataclass(frozen=True, kw_only=True)
class UnbindDomain(Command):
    application_id: UUID
    domain: str


@dataclass(frozen=True, kw_only=True)
class CreateVolume(Command):
    tenant_id: UUID
    name: str
    size_gib: int


@dataclass(frozen=True, kw_only=True)
class ResizeVolume(Command):
    volume_id: UUID
    size_gib: int


@dataclass(frozen=True, kw_only=True)
class DeleteVolume(Command):
    volume_id: UUID


@dataclass(frozen=True, kw_only=True)
class BackupVolume(Command):
    volume_id: UUID


@dataclass(frozen=True, kw_only=True)
class RestoreVolume(Command):
    """Restores a backup of `volume_id` into a new volume called `name`."""

    volume_id: UUID
    backup_id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class SetSecret(Command):
    tenant_id: UUID
    name: str
    value: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class DeleteSecret(Command):
    tenant_id: UUID
    name: str


# -- image repositories ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateRepository(Command):
    """`name` is `<tenant's name>/...` (a member's) or `library/...` (an operator's)."""

    name: str
    description: str = ""
    guide: str = ""


@dataclass(frozen=True, kw_only=True)
class DescribeRepository(Command):
    repository_id: UUID
    description: str
    guide: str


@dataclass(frozen=True, kw_only=True)
class DeleteImage(Command):
    """Without `digest`: answers which image `tag` names and every tag naming it (nothing
    is recorded). With the `digest` that answer gave, once the registry deleted it:
    forgets those tags (those its notification has not made the log forget already)."""

    repository_id: UUID
    tag: str
    digest: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordPush(Command):
    """What the registry told of (or the reconcile found): `tag` of `name` is `digest`.
    Wharf's own (system) command."""

    name: str
    tag: str
    digest: str
    size: int
    pushed_at: str


@dataclass(frozen=True, kw_only=True)
class RecordImagesGone(Command):
    """The registry no longer holds `digest` (a delete it told of), or, with no digest,
    no longer lists `tags` (the reconcile). Wharf's own (system) command."""

    name: str
    digest: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CreateMirror(Command):
    """A pull-through mirror of `upstream`: a tenant's (`tenant_id`) or, with none, the
    platform's (operators)."""

    tenant_id: UUID | None
    name: str
    upstream: str
    username: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True, kw_only=True)
class DeleteMirror(Command):
    mirror_id: UUID


@dataclass(frozen=True, kw_only=True)
class RecordMirrorServed(Command):
    """Wharf's own: the address its supervisor first started the mirror on."""

    mirror_id: UUID
    address: str


@dataclass(frozen=True, kw_only=True)
class RecordMirrorState(Command):
    """Wharf's own: what its supervisor saw of the mirror's process."""

    mirror_id: UUID
    state: str
    detail: str = ""


# -- build pipelines ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreatePipeline(Command):
    tenant_id: UUID
    name: str
    git_url: str
    repository: str  # the tenant's image repository it pushes to
    branch: str = "main"
    dockerfile: str = "Dockerfile"
    tag_pattern: str = "{short}"
    service_id: UUID | None = None  # rolled to each new image
    timeout_s: int = 900


@dataclass(frozen=True, kw_only=True)
class DeletePipeline(Command):
    pipeline_id: UUID


@dataclass(frozen=True, kw_only=True)
class RequestBuild(Command):
    """A member's (by hand: `trigger` manual) or a webhook's (Wharf's own, after checking
    its signature: push or generic; `delivery` its id, which builds once)."""

    pipeline_id: UUID
    trigger: str = "manual"
    delivery: str = ""
    commit: str = ""  # "" the branch's head, when the build starts


@dataclass(frozen=True, kw_only=True)
class StartBuild(Command):
    build_id: UUID
    commit: str
    host: str


@dataclass(frozen=True, kw_only=True)
class FinishBuild(Command):
    """The build pushed its image: `digest` is it. Rolls the pipeline's service to it."""

    build_id: UUID
    digest: str


@dataclass(frozen=True, kw_only=True)
class FailBuild(Command):
    build_id: UUID
    reason: str
    log_tail: str = ""


# -- hosts (operators) ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterHost(Command):
    """An operator adds a host to a pool (the public one or a tenant's), or a tenant's
    owner joins one to its own pool (`tenant_id`). `tls` is the credentials Wharf reaches
    the engine with, PEM text; its figures (capacity, version) are what the engine said
    when asked with them."""

    endpoint: str
    name: str
    cpu_millis: int
    memory_mib: int
    overcommit: str = "1"
    pool: str = "public"
    tenant_id: UUID | None = None
    labels: dict[str, str] = field(default_factory=dict)
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = field(default="", repr=False)  # never in a log line
    engine_version: str = ""


@dataclass(frozen=True, kw_only=True)
class LabelHost(Command):
    host_id: UUID
    labels: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class DrainHost(Command):
    host_id: UUID


@dataclass(frozen=True, kw_only=True)
class RemoveHost(Command):
    host_id: UUID
    tenant_id: UUID | None = None  # a tenant's owner removing a host it joined


# -- the scheduler (system actor) -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TakeLeadership(Command):
    holder: str


@dataclass(frozen=True, kw_only=True)
class SwitchRuntime(Command):
    """An operator's: the installation's workloads now run on `runtime`."""

    runtime: str
    moved: int = 0


@dataclass(frozen=True, kw_only=True)
class SchedulerCommand(Command):
    term: int  # the leader's term: a stale leader's writes are refused


@dataclass(frozen=True, kw_only=True)
class RecordPull(SchedulerCommand):
    container_id: UUID
    progress: str  # "" when the pull is done


@dataclass(frozen=True, kw_only=True)
class PlaceContainer(SchedulerCommand):
    container_id: UUID
    host_id: UUID
    move: bool = False  # False: a container placed already stays where it is


@dataclass(frozen=True, kw_only=True)
class MarkUnschedulable(SchedulerCommand):
    container_id: UUID
    reasons: dict[str, str]  # by host name: for operators
    summary: list[str]  # the same in the tenant's terms, naming no host


@dataclass(frozen=True, kw_only=True)
class RecordRun(SchedulerCommand):
    """What Docker reported of a container's run (start, and exit if it has ended)."""

    container_id: UUID
    generation: int
    started_at: str
    finished_at: str
    running: bool
    exit_code: int = 0
    oom_killed: bool = False
    ports: dict[str, int] = field(default_factory=dict)
    paused: bool = False  # frozen (`docker pause`), running but doing nothing
    health: str = ""  # its health check's verdict: "", starting, healthy, unhealthy


@dataclass(frozen=True, kw_only=True)
class RecordFailure(SchedulerCommand):
    container_id: UUID
    reason: str


@dataclass(frozen=True, kw_only=True)
class RestartContainer(SchedulerCommand):
    container_id: UUID
    after_finished_at: str  # the exit this restart answers: a second pass changes nothing


@dataclass(frozen=True, kw_only=True)
class RecycleContainer(SchedulerCommand):
    container_id: UUID
    run_started_at: str  # the unhealthy run it replaces: a second pass changes nothing


@dataclass(frozen=True, kw_only=True)
class RecordRemoved(SchedulerCommand):
    container_id: UUID


@dataclass(frozen=True, kw_only=True)
class AssignEndpoint(SchedulerCommand):
    """The loopback port whose listener balances a service's container port."""

    service_id: UUID
    container_port: int
    listen_port: int


@dataclass(frozen=True, kw_only=True)
class RollReplicas(SchedulerCommand):
    """A rollout's step: successors of the current configuration for `old`."""

    service_id: UUID
    old: list[UUID]


@dataclass(frozen=True, kw_only=True)
class RetireReplica(SchedulerCommand):
    service_id: UUID
    old: UUID


@dataclass(frozen=True, kw_only=True)
class FinishRollout(SchedulerCommand):
    service_id: UUID


@dataclass(frozen=True, kw_only=True)
class MarkHostLost(SchedulerCommand):
    host_id: UUID
    silent_since: str


@dataclass(frozen=True, kw_only=True)
class MarkHostRecovered(SchedulerCommand):
    host_id: UUID


@dataclass(frozen=True, kw_only=True)
class RecordBackup(SchedulerCommand):
    volume_id: UUID
    backup_id: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class RecordRestore(SchedulerCommand):
    volume_id: UUID
    host_id: UUID


@dataclass(frozen=True, kw_only=True)
class RecordDiskUsage(Command):
    """A measurement of a container's writable layer or a volume's files (system)."""

    kind: str  # container or volume
    object_id: UUID
    used_mib: int
    at: str


@dataclass(frozen=True, kw_only=True)
class EnforceDiskLimit(Command):
    container_id: UUID
    volume: str | None = None  # the volume over its size, if that is the reason


# -- billing ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CloseHours(Command):
    """Closes tenant-hours with the bills the billing tick priced from the log (Wharf's own
    timer, or an operator's `wharf billing run`). A bill that exists already is left as
    it is: a second tick for an hour changes nothing."""

    bills: list[dict[str, Any]]  # each: tenant_id, hour (ISO), lines (Line.to_data)


@dataclass(frozen=True, kw_only=True)
class MeterTraffic(Command):
    """Records what tenants' containers sent in hours about to be billed (the billing
    tick); a tenant-hour metered already is left as it is."""

    records: list[dict[str, Any]]  # each: tenant_id, hour (ISO), sent {container: bytes}
