"""The composition root: where every process's parts are made, and closed.

`build` makes the parts every process shares (the write side, the read side and its
consumers, the log files, the metrics store) as a `Wiring`, a context manager that closes
whatever was made from it; `backend`, `scheduler` and `timers` make the parts of the
processes that need them (the API, the scheduler, the leader's timer jobs), each closed
with the wiring. Tests build it the same way.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Self
from uuid import UUID

from wharf.commands.application import Wharf
from wharf.commands.ports import Clock, DataKeys
from wharf.infra.backend import InProcessReadSide, PolledReadSide, WharfBackend
from wharf.infra.keystore import DatabaseDataKeys, KeyEncryptionKey
from wharf.infra.logstore import LogStore
from wharf.infra.metrics_store import MetricsStore
from wharf.infra.settings import Settings
from wharf.infra.store import (
    eventsourcing_env,
    kind_of,
    open_read_models,
    probe,
    sqlite_path,
    with_schema_retry,
)
from wharf.projections.catalog import BILLING_MODELS, WORKLOAD_MODELS
from wharf.projections.consumers import Consumers, wait_for_position
from wharf.projections.views import ReadModelStore
from wharf.schedulers.autoscale import autoscale
from wharf.schedulers.billing import tick as billing_tick
from wharf.schedulers.disk import enforce_disk_limits
from wharf.schedulers.logs import LogCollector
from wharf.schedulers.metrics import sample_running
from wharf.schedulers.networks import prune_networks
from wharf.schedulers.purge import purge_due_tenants
from wharf.schedulers.retention import purge_expired_logs
from wharf.schedulers.scheduler import Scheduler
from wharf.schedulers.swarm_runtime import SwarmRuntime
from wharf.schedulers.timers import (
    BILLING_EVERY_SECONDS,
    LOG_RETENTION_EVERY_SECONDS,
    NETWORK_PRUNE_EVERY_SECONDS,
    PURGE_EVERY_SECONDS,
    Timer,
)

if TYPE_CHECKING:
    from wharf.infra.builder import Builder
    from wharf.infra.caddy import Caddy
    from wharf.infra.mirrors import MirrorSupervisor
    from wharf.infra.registry import RegistryProcess
    from wharf.infra.scheduling import Connector
    from wharf.infra.swarm import SwarmCluster


class RuntimeMismatch(Exception):
    """WHARF_RUNTIME is not the runtime the log says the workloads run on."""


@dataclass
class Wiring:
    settings: Settings
    app: Wharf
    view: ReadModelStore
    projector: Consumers  # every consumer of the log, each with its own position
    logs: LogStore
    metrics: MetricsStore
    _closing: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)
    registry_process: RegistryProcess | None = None  # the one this process runs, if any
    registry_remote_process: RegistryProcess | None = None  # its twin for hosts elsewhere
    api_url: str = ""  # where this process serves the API, once it does
    # Wharf's container id -> the engine's id of the container running it, where that is
    # not `wharf-<id>` (a swarm task's): every engine client of this process reads it.
    task_containers: dict[str, str] = field(default_factory=dict, repr=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes what was made from the wiring (newest first), then the stores."""
        try:
            self._closing.close()
        finally:
            self.projector.stop()
            self.app.close()
            self.view.datastore.close()  # type: ignore[attr-defined]

    def backend(self, embedded: bool) -> WharfBackend:
        """The API's backend: with the consumers in this process (`embedded`, as
        `wharf up` runs) or in another (`wharf api` beside `wharf projector`)."""
        read_side = (InProcessReadSide(self.projector, self.view) if embedded
                     else PolledReadSide(self.view))
        backend = WharfBackend(self.app, read_side, self.logs, self.metrics)
        backend.home = self.settings.home
        backend.build_logs = self.build_logs
        backend.runtime_setting = self.settings.runtime
        return backend

    @functools.cached_property
    def build_logs(self) -> LogStore:
        """Builds' logs, line by line as they run (WHARF_HOME/build-logs)."""
        return LogStore(self.settings.home / "build-logs")

    def builder(self) -> Builder:
        """The builder, building on the first Docker host (WHARF_DOCKER_HOSTS' first, or
        the local engine) and pushing to Wharf's registry."""
        from wharf.infra.builder import Builder, BuildHost
        from wharf.infra.registry import signer_of
        from wharf.infra.scheduling import LOCAL_ENGINE

        settings = self.settings
        host = BuildHost(settings.docker_hosts[0] if settings.docker_hosts else LOCAL_ENGINE,
                         settings.registry, signer_of(settings.home, self.app.clock))
        return Builder(self.app, self.view, self.build_logs, host, settings.home / "builds",
                       self.pull_token, private_git=settings.build_private_git)

    def registry(self, api_url: str) -> RegistryProcess:
        """Wharf's image registry, started now (answering to the API at `api_url`) and
        stopped with the wiring."""
        from wharf.infra.registry import RegistryProcess, signer_of

        signer = signer_of(self.settings.home, self.app.clock)
        process = RegistryProcess(self.settings.home, self.settings.registry, api_url, signer)
        self._closing.callback(process.stop)
        process.start()
        self.registry_process = process
        self.api_url = api_url
        if self.settings.registry_remote:  # its read-only twin over TLS, for hosts elsewhere
            from wharf.infra.host_tls import registry_tls

            _, cert, key = registry_tls(process.dir / "tls", self.settings.registry_remote,
                                        self.app.clock.now())
            remote = RegistryProcess(self.settings.home, self.settings.registry_remote,
                                     api_url, signer, directory=process.dir / "remote",
                                     tls=(cert, key), data=process.data)
            self._closing.callback(remote.stop)
            remote.start(read_only=True)
            self.registry_remote_process = remote
        return process

    def ingress(self) -> Caddy:
        """Wharf's Caddy, started now and stopped with the wiring."""
        from wharf.infra.caddy import Caddy

        caddy = Caddy(self.settings.home, self.settings.caddy_admin,
                      http_port=self.settings.http_port, https_port=self.settings.https_port)
        self._closing.callback(caddy.close)
        caddy.start()
        return caddy

    def scheduler(self, in_process: bool, ingress: bool | None = None) -> Scheduler:
        """The scheduler on real engines; it waits for the read models it plans from,
        woken by the consumers when they run `in_process`, polling them otherwise. With
        `ingress` (WHARF_INGRESS unless said), it runs Caddy and keeps its routes."""
        settings = self.settings
        balancer = self.ingress() if (settings.ingress if ingress is None else ingress) \
            else None
        wait = self._workloads_wait(in_process)
        scheduler = Scheduler(self.app, self.view, self.connector(), self.app.clock, wait,
                              strategy=settings.placement, host_grace=settings.host_grace,
                              backups=settings.home / "backups",
                              collector=LogCollector(self.logs), ingress=balancer,
                              pull_token=self.pull_token if settings.registry else None)
        if in_process:
            self.projector.listeners.append(lambda _: scheduler.nudge())
        self._closing.callback(scheduler.close)
        return scheduler

    def runtime(self, in_process: bool) -> Scheduler | SwarmRuntime:
        """What runs the workloads, as WHARF_RUNTIME says: Wharf's own scheduler on each
        host's engine, or a Docker Swarm cluster. Once an operator has switched the
        installation (`wharf runtime switch`), only that runtime may start:
        RuntimeMismatch otherwise (two runtimes would run every workload twice)."""
        recorded = self.app.runtime()
        if recorded and recorded != self.settings.runtime:
            raise RuntimeMismatch(
                f"this installation's workloads run on {recorded} (`wharf runtime "
                f"switch` recorded it): start Wharf with WHARF_RUNTIME={recorded}, or "
                f"move them with `wharf runtime switch --to {self.settings.runtime}`")
        if self.settings.runtime == "swarm":
            return self.swarm_runtime(in_process)
        return self.scheduler(in_process)

    def swarm_runtime(self, in_process: bool, ingress: bool | None = None) -> SwarmRuntime:
        """The Swarm runtime, reaching the manager (WHARF_SWARM_MANAGER, a registered
        host) with that host's credentials; with `ingress` (WHARF_INGRESS unless said),
        Caddy here reaching the replicas through a gateway on their overlay networks."""
        from wharf.infra.docker_driver import DockerEngine

        connector = self.connector()
        balancer = self.ingress() if (self.settings.ingress if ingress is None else ingress) \
            else None
        engines: dict[str, DockerEngine] = {}  # (one client per node, for its logs)

        def task_output(host_id: str, endpoint: str, container_id: str,
                        docker_id: str) -> DockerEngine:
            if host_id not in engines:
                engines[host_id] = connector(host_id, endpoint)
                self._closing.callback(engines[host_id].close)
            self.task_containers[container_id] = docker_id  # (the metrics' clients too)
            return engines[host_id]

        runtime = SwarmRuntime(self.app, self.view, self.swarm_cluster,
                               self.settings.swarm_manager,
                               self.app.clock, self._workloads_wait(in_process),
                               ingress=balancer, collector=LogCollector(self.logs),
                               task_output=task_output)
        if in_process:
            self.projector.listeners.append(lambda _: runtime.nudge())
        self._closing.callback(runtime.close)
        return runtime

    def swarm_cluster(self, host_id: str, endpoint: str) -> SwarmCluster:
        """The swarm manager's API at a registered host, with that host's credentials."""
        from wharf.infra.swarm import SwarmCluster

        return SwarmCluster(endpoint, self.app.installation,
                            tls=self.connector().tls(host_id))

    def _workloads_wait(self, in_process: bool) -> Callable[[int, float], None]:
        """How a runtime waits for the workloads' read models to hold a position: woken
        by the consumers when they run `in_process`, polling them otherwise."""
        if in_process:
            def wait(position: int, timeout: float) -> None:
                self.projector.wait(position, timeout, WORKLOAD_MODELS)
        else:
            def wait(position: int, timeout: float) -> None:
                wait_for_position(self.view, position, timeout, WORKLOAD_MODELS)
        return wait

    def connector(self) -> Connector:
        """Clients of hosts' engines, each with its host's credentials."""
        from wharf.infra.scheduling import Connector

        return Connector(self.app, self.settings.home, self.settings.registry,
                         self.settings.registry_remote, refs=self.task_containers)

    def pull_token(self, image: str, tenant_id: str) -> str | None:
        """A token letting a host pull `image` for the tenant, for five minutes (None:
        not an image of Wharf's registry that the tenant may run)."""
        from wharf.domain.registry import pull_grant
        from wharf.infra.mirrors import mirror_service
        from wharf.infra.registry import signer_of
        from wharf.infra.registry_tokens import Access

        signer = signer_of(self.settings.home, self.app.clock)
        name = pull_grant(image, UUID(tenant_id), self.settings.registry)
        if name is not None:
            return signer.issue(f"host-pull:{tenant_id}",
                                [Access("repository", name, ("pull",))], self.app.clock.now())
        mirror = mirror_grant(self.app, image, UUID(tenant_id))
        if mirror is None:
            return None
        return signer.issue(f"host-pull:{tenant_id}", [Access("repository", mirror[1],
                                                              ("pull",))],
                            self.app.clock.now(), audience=mirror_service(mirror[0]))

    def mirrors(self) -> MirrorSupervisor:
        """The supervisor of the pull-through mirrors' processes."""
        from wharf.infra.mirrors import MirrorSupervisor
        from wharf.infra.registry import signer_of

        return MirrorSupervisor(self.app, self.view, self.settings.home,
                                self.api_url or f"http://{self.settings.listen}",
                                signer_of(self.settings.home, self.app.clock))

    def timers(self) -> list[Timer]:
        """The leader's timer jobs, their engine clients closed with the wiring."""
        from wharf.infra.scheduling import StatsEngines

        engines = self._closing.enter_context(StatsEngines(self.app.installation,
                                                           self.connector()))
        settings, app, view = self.settings, self.app, self.view
        return [
            Timer("disk-limits", settings.disk_every, enforce_disk_limits,
                  (app, view, engines, app.clock, timedelta(seconds=settings.disk_grace))),
            Timer("sample-metrics", settings.metrics_every, sample_running,
                  (view, engines, self.metrics, app.clock)),
            # (Decided on the samples of the last two sampling periods, half a minute
            # at least, so one sample does not scale a service.)
            Timer("autoscale", settings.autoscale_every, autoscale,
                  (app, view, self.metrics, app.clock,
                   timedelta(seconds=max(2 * settings.metrics_every, 30)))),
            Timer("prune-networks", NETWORK_PRUNE_EVERY_SECONDS, prune_networks,
                  (view, engines)),
            Timer("purge-expired-logs", LOG_RETENTION_EVERY_SECONDS, purge_expired_logs,
                  (app, view, self.logs, app.clock)),
            Timer("purge-closed-tenants", PURGE_EVERY_SECONDS, purge_due_tenants,
                  (app, view, app.clock)),
            Timer("billing", BILLING_EVERY_SECONDS, billing_tick,
                  (app, view, app.clock.now, self.billing_caught_up, self.metrics.sent)),
            *self._registry_timers(),
        ]

    def _registry_timers(self) -> list[Timer]:
        if not self.settings.registry:
            return []
        from wharf.infra.registry import (
            RECONCILE_EVERY_SECONDS,
            RegistryClient,
            reconcile,
            signer_of,
        )

        client = RegistryClient(self.settings.registry,
                                signer_of(self.settings.home, self.app.clock), self.app.clock)
        return [Timer("registry-reconcile", RECONCILE_EVERY_SECONDS, reconcile,
                      (self.app, self.view, client, self.registry_process,
                       self.registry_remote_process))]

    def billing_caught_up(self) -> None:
        """Waits until the billing consumer has read the log as it is now (polling its
        position: it may run in another process)."""
        head = self.app.recorder.max_notification_id() or 0
        wait_for_position(self.view, head, 120.0, BILLING_MODELS)


def open_app(
    url: str, *, clock: Clock | None = None, keys: DataKeys | None = None, pool_size: int = 10
) -> Wharf:
    """The write side on `url`. Without `keys`, the store's own data keys, unwrapped by
    the key-encryption key the environment names (as `wharf` itself would find it)."""
    probe(url)
    if keys is None:
        settings = Settings.from_env()
        keys = DatabaseDataKeys(url, KeyEncryptionKey.load(settings.home, settings.master_key))
    data_keys = keys
    return with_schema_retry(lambda: Wharf(eventsourcing_env(url, pool_size), clock=clock,
                                           keys=data_keys))


def build(
    settings: Settings, *, clock: Clock | None = None, keys: DataKeys | None = None,
    pool_size: int | None = None,
) -> Wiring:
    """The write side, the read side and the projector, on `settings.database_url`.

    At most `pool_size` (default: WHARF_DB_POOL) connections each to the log and to the
    read side, opened as load needs them.
    """
    secure_home(settings)
    probe(settings.database_url)
    pool_size = pool_size or settings.db_pool
    if keys is None:
        keys = DatabaseDataKeys(settings.database_url,
                                KeyEncryptionKey.load(settings.home, settings.master_key))
    app = open_app(settings.database_url, clock=clock, keys=keys, pool_size=pool_size)
    app.apps_domain = settings.apps_domain
    app.timezone = settings.timezone
    app.registry = settings.registry
    app.seed()
    view = open_read_models(settings.database_url, pool_size)
    projector = Consumers(app, view)
    app.on_saved = projector.nudge
    return Wiring(settings, app, view, projector, LogStore(settings.home / "logs"),
                  MetricsStore(view))


def secure_home(settings: Settings) -> None:
    """WHARF_HOME and everything in it, and the SQLite store wherever it lives, readable
    by their owner only (an installation from before this rule is put right on start).
    New files are made so by the CLI's umask."""
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    paths = [home]
    for root, directories, files in os.walk(home):
        paths += [Path(root, name) for name in directories + files]
    if kind_of(settings.database_url) == "sqlite":
        database = sqlite_path(settings.database_url)
        paths += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                path.chmod(stat.S_IMODE(mode) & 0o700)


def mirror_grant(app: Wharf, image: str, tenant_id: UUID) -> tuple[str, str] | None:
    """(mirror id, path) when `image` is named under a pull-through mirror that the tenant
    may pull through; None otherwise."""
    from eventsourcing.application import AggregateNotFoundError

    from wharf.domain.mirror import MirrorDirectory
    from wharf.domain.registry import MIRRORED, loopback_address, mirror_allows, parse_image

    ref = parse_image(image)
    if not ref.registry or ref.by_id or not MIRRORED.fullmatch(ref.repository):
        return None
    try:
        directory: MirrorDirectory = app.repository.get(MirrorDirectory.ID)
    except AggregateNotFoundError:
        return None
    owner = directory.owner_of(loopback_address(ref.registry))
    if owner is None or not mirror_allows(owner[1], tenant_id):
        return None
    return owner[0], ref.repository
