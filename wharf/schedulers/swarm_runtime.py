"""The Swarm runtime: Wharf's workloads run by a Docker Swarm cluster (WHARF_RUNTIME=swarm).

The direct runtime (`scheduler.py`) places every container itself and drives each
host's engine; here the cluster's manager does both, and Wharf keeps its log the same:

- a Wharf service is one cluster service per version of its configuration, of as many
  replicas as it holds at that version; a container is a cluster service of one replica
  (none while it is stopped). Rolling updates and their rollbacks are Wharf's own
  (`rollouts.py`, as on the direct runtime): a new version's service grows as the old
  one's shrinks, each step in the log; Swarm's own `update_config` would replace tasks
  without telling which replica became which;
- what the cluster decided comes back as the events the direct runtime records, each
  once: the node a task landed on as `PlaceContainer(move)` (a node is the registered
  host with its address), a task's run and its end as `RecordRun` (a run is known by
  the task's creation time), a task the cluster could not run as `RecordFailure`, a
  task no node may take as `MarkUnschedulable`;
- the replica in slot N is the task in slot N; when the cluster keeps other slots than
  Wharf after a scale down, a replica without its slot's task takes a task no replica
  has, lowest slot first;
- nodes carry the pool and labels of their hosts (`wharf.pool`), so a tenant's dedicated
  hosts and placement constraints hold there too; a node with no host runs nothing; a
  node the manager marks down is its host lost (`MarkHostLost`), found again when ready.

The manager's event stream carries no task events: the loop reads the task list after
each service or node event, every `interval` seconds, and every SETTLE seconds while a
task is on its way somewhere.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.application import Wharf
from wharf.commands.ports import Clock
from wharf.domain.errors import DomainError
from wharf.projections.reads import Reader
from wharf.projections.reads import containers as container_reads
from wharf.projections.reads import hosts as host_reads
from wharf.projections.reads import services as service_reads
from wharf.projections.reads.containers import ContainerRow, WantedRow
from wharf.projections.reads.hosts import HostRow
from wharf.projections.reads.services import Route, Upstream
from wharf.schedulers.cluster import (
    GATEWAY_PORT,
    LABEL_SERVICE,
    POOL_LABEL,
    Cluster,
    ClusterService,
    ClusterTask,
)
from wharf.schedulers.leading import Leading
from wharf.schedulers.logs import LogCollector, LogSource
from wharf.schedulers.ports import (
    LABEL_CONTAINER,
    LABEL_INSTALLATION,
    LABEL_MANAGED,
    LABEL_NETWORK,
    LABEL_TENANT,
    EngineError,
    Ingress,
)
from wharf.schedulers.read_side import FollowsReadSide
from wharf.schedulers.rollouts import RolloutsController
from wharf.schedulers.routes import (
    GATEWAY_KEY,
    GATEWAY_ROUTE,
    RoutesController,
    gateway_apps,
    server_name,
)
from wharf.schedulers.scheduler import WAKE_COALESCE, PassResult

log = logging.getLogger(__name__)

SETTLE = 0.2  # seconds between readings of the task list while a task is on its way
REAPPLY = 60.0  # seconds after which a service is compared with the manager's again
MAX_ENV_BYTES = 256 * 1024  # a service's environment, secrets included, on a swarm
PUBLIC = "public"
ON_THE_WAY = ("new", "pending", "assigned", "accepted", "ready", "preparing", "starting")


def slot_of(row: ContainerRow) -> int:
    """The replica's slot (`web.3` is slot 3); a lone container's one task is slot 1."""
    if row.service_id is None:
        return 1
    _, _, slot = row.name.rpartition(".")
    return int(slot) if slot.isdigit() else 0


@dataclass
class Group:
    """The containers one cluster service runs: a service's replicas, or one container."""

    name: str
    object_id: str
    rows: list[WantedRow] = field(default_factory=list)

    @property
    def running(self) -> list[ContainerRow]:
        return [w.container for w in self.rows if w.container.desired == "running"]


class SwarmRuntime(FollowsReadSide):
    """Runs what the read side wants on a cluster, and records what the cluster did."""

    def __init__(self, app: Wharf, view: Reader, cluster_for: Callable[[str, str], Cluster],
                 manager: str, clock: Clock, wait_for: Callable[[int, float], None],
                 ingress: Ingress | None = None, collector: LogCollector | None = None,
                 task_output: Callable[[str, str, str, str], LogSource] | None = None
                 ) -> None:
        self.app = app
        self.view = view
        self.clock = clock
        self.manager = manager  # the manager's host: its name or id
        self._cluster_for = cluster_for  # (host id, endpoint)
        self._cluster: Cluster | None = None
        self._wait_for = wait_for
        self.leading = Leading(app)
        # Rolling updates are Wharf's, as on the direct runtime: each version of a
        # service is a cluster service of its own, scaled as replicas are rolled.
        self.rollouts = RolloutsController(app, view, self.leading)
        # The ingress reaches replicas through the gateway on their overlay networks:
        # each route's one upstream, with the route's name and the gateway's key (new at
        # each start: this process configures both ends).
        self.routes = RoutesController(view, self.leading, ingress,
                                       apps_domain=app.apps_domain, through=self._through) \
            if ingress is not None else None
        # Each running task's output is copied into Wharf's log store, read from its
        # node's engine by the task container's own id: (host id, endpoint, container
        # id, docker id) -> that engine.
        self.collector = collector
        self._task_output = task_output
        self._gateway_key = secrets.token_urlsafe(24)
        self._gateway: tuple[str, int] | None = None  # where its port is published
        self._gateway_apps: dict[str, Any] | None = None  # what it was given last
        self._gateway_container = ""  # the container it was given to
        self._served: set[str] = set()  # routes with a replica behind the gateway
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._networks: dict[str, str] = {}  # name -> id
        self._applied: dict[str, tuple[ClusterService, float]] = {}  # name -> what, when
        self._refused: set[str] = set()  # services the manager refused as applied last
        self._said: set[str] = set()  # warnings given once

    # -- one pass -------------------------------------------------------------------

    def run_pass(self, wait: bool = True, busy: set[str] | None = None) -> PassResult:
        if self.leading.term is None:
            self.leading.take()
        result = PassResult()
        if not self.leading.still_leads():
            # Another runtime leads now (or `wharf runtime switch` took the workloads
            # down): acting on the cluster would bring back what it removed.
            log.error("scheduler term %s is over: this Swarm runtime stops", self.leading.term)
            self.stop()
            return result
        cluster = self.cluster()
        if cluster is None:
            return result
        hosts = [h for h in host_reads.hosts(self.view) if h.state != "removed"]
        node_hosts, result.position = self._label_nodes(cluster, hosts)
        groups = self._groups()
        pools = {h.pool for h in hosts if h.state == "active"}
        existing = set(cluster.services())
        waiting = service_reads.waiting_on(self.view)
        for group in groups.values():
            try:
                self._run(cluster, group, pools, existing, waiting)
            except (EngineError, DomainError) as error:
                result.failed += 1
                self._networks.clear()  # (an overlay removed by hand is made again)
                log.warning("cluster service %s not applied: %s", group.name, error)
        for name in existing - set(groups):
            log.info("removing cluster service %s: Wharf wants nothing of it", name)
            try:
                cluster.remove_service(name)
            except EngineError as error:  # (the next pass tries again)
                result.failed += 1
                log.warning("cluster service %s not removed: %s", name, error)
            self._applied.pop(name, None)
        tasks = cluster.tasks()
        by_object: dict[str, list[ClusterTask]] = defaultdict(list)
        for task in tasks:
            by_object[task.service].append(task)
        for group in groups.values():
            result.position = max(result.position, self._observe(
                cluster, group, by_object.get(group.object_id, []), node_hosts, existing))
        if self.routes is not None:
            try:
                result.position = max(result.position, self._route(cluster, tasks))
            except (EngineError, DomainError) as error:
                result.failed += 1
                self._networks.clear()
                log.warning("routes through the swarm gateway not applied: %s", error)
        for action in self.rollouts.plan(self.clock.now()):
            ok, position = self.rollouts.carry_out(action)
            result.failed += 0 if ok else 1
            result.position = max(result.position, position)
        if any((t.state in ON_THE_WAY and t.desired == "running")
               or (t.running and t.desired != "running") for t in tasks):
            result.wake_at = self.clock.now()  # (read again in SETTLE seconds)
        return result

    def cluster(self) -> Cluster | None:
        """The manager's API, made once its host is registered."""
        if self._cluster is None:
            host = host_reads.named(self.view, self.manager)
            if host is None:
                self._say(f"no host named {self.manager} (WHARF_SWARM_MANAGER) is "
                          "registered: nothing runs until it is")
                return None
            self._cluster = self._cluster_for(host.id, host.endpoint)
        return self._cluster

    def _label_nodes(self, cluster: Cluster, hosts: list[HostRow]
                     ) -> tuple[dict[str, HostRow], int]:
        """Each node the host with its address is, its pool and labels on it; a node the
        manager marks down is its host lost (and found again when it is ready). Returns
        the nodes' hosts and the newest position written."""
        by_address = {h.address: h for h in hosts}
        found, written = {}, 0
        for node in cluster.nodes():
            host = by_address.get(node.address)
            if host is None:
                self._say(f"swarm node {node.address} is no registered host: it runs "
                          "nothing of Wharf's until it is")
                continue
            found[node.id] = host
            # (the pool last: no host label may say it; check_labels refuses wharf.*)
            wanted = {**host.labels,
                      POOL_LABEL: host.pool if host.state == "active" else ""}
            if any(node.labels.get(k) != v for k, v in wanted.items()):
                cluster.label_node(node.id, wanted)
            if node.state == "down" and host.state in ("active", "draining"):
                log.warning("host %s lost: its swarm node is down", host.name)
                written = max(written, self.leading.record(
                    m.MarkHostLost, host_id=UUID(host.id),
                    silent_since=self.clock.now().isoformat()).position)
            elif node.state == "ready" and host.state == "lost":
                log.warning("host %s is back: its swarm node is ready", host.name)
                written = max(written, self.leading.record(
                    m.MarkHostRecovered, host_id=UUID(host.id)).position)
        return found, written

    def _groups(self) -> dict[str, Group]:
        """The cluster services Wharf wants: one per version of each service (its
        replicas of that configuration), and one per lone container."""
        groups: dict[str, Group] = {}
        for wanted in container_reads.wanted(self.view):
            row = wanted.container
            if row.service_id is not None:
                object_id = f"{row.service_id}.v{row.config_version}"
                name = f"wharf-svc-{row.service_id}-v{row.config_version}"
            else:
                object_id, name = row.id, f"wharf-ctr-{row.id}"
            groups.setdefault(name, Group(name, object_id)).rows.append(wanted)
        return groups

    def _run(self, cluster: Cluster, group: Group, pools: set[str], existing: set[str],
             waiting: dict[str, str]) -> None:
        """Makes the cluster service as the group wants it (or scales it to none while
        its containers stop or go; removes it once none runs). An application's service
        is made only once the services it depends on run (and pass their checks, when
        it says so), as on the direct runtime."""
        first = group.rows[0]
        running = group.running
        if not running:
            if group.name in existing:
                self._scale(cluster, group.name, 0)
            return
        why = waiting.get(first.container.service_id or "")
        if why is not None and group.name not in existing:
            for row in running:
                self.leading.record(m.MarkUnschedulable, container_id=UUID(row.id),
                                    reasons={"*": why}, summary=[why])
            return
        refused = refusal(running[0])
        if refused is not None:
            self._fail(running, refused)
            return
        service = None
        if first.container.service_id is not None:
            service = service_reads.service(self.view, first.container.service_id)
        row = running[0]
        spec = row.spec  # (a replica's: its service's configuration at its version)
        env = dict(spec.env)
        for ref in spec.secrets:
            env[ref.env] = self.app.reveal_secret(UUID(row.tenant_id), ref.name)
        size = sum(len(k) + len(v) + 2 for k, v in env.items())
        if size > MAX_ENV_BYTES:  # (Swarm refuses a spec past its raft message's size)
            self._fail(running, f"its environment with its secrets is {size // 1024} KiB; "
                       f"a swarm service's holds at most {MAX_ENV_BYTES // 1024} KiB")
            return
        network_of = (service.application_id if service is not None else None) \
            or row.tenant_id
        labels = {LABEL_MANAGED: "1", LABEL_INSTALLATION: cluster.installation,
                  LABEL_TENANT: row.tenant_id, LABEL_SERVICE: group.object_id}
        if service is None:
            labels[LABEL_CONTAINER] = row.id
        wanted = ClusterService(
            name=group.name, alias=service.alias if service is not None else row.name,
            labels=labels, image=spec.image, command=spec.command,
            entrypoint=spec.entrypoint, env=env, cpu_millis=row.cpu_millis,
            memory_mib=row.memory_mib, replicas=len(running),
            network=self._network(cluster, network_of),
            pool=first.tenant if first.tenant in pools else PUBLIC,
            constraints=tuple(spec.constraints), restart_policy=spec.restart_policy,
            health_check=spec.health_check)
        applied = self._applied.get(group.name)
        if applied is not None and applied[0] == wanted and \
                time.monotonic() - applied[1] < REAPPLY and (
                    group.name in existing or group.name in self._refused):
            return  # (as applied; or refused, and asked again only after REAPPLY)
        try:
            if cluster.apply(wanted):
                log.info("cluster service %s applied (%s replicas)", group.name,
                         wanted.replicas)
            self._refused.discard(group.name)
        except EngineError as error:
            # The manager refused it: the tenant sees why, and the same spec is not
            # sent again on every pass.
            self._applied[group.name] = (wanted, time.monotonic())
            self._refused.add(group.name)
            self._fail(running, f"the swarm refused it: {str(error)[:300]}")
            raise
        self._applied[group.name] = (wanted, time.monotonic())

    def _fail(self, rows: list[ContainerRow], reason: str) -> None:
        """The containers' failure, as the tenant reads it (once per reason)."""
        for row in rows:
            self.leading.record(m.RecordFailure, container_id=UUID(row.id), reason=reason)

    def _scale(self, cluster: Cluster, name: str, replicas: int) -> None:
        applied = self._applied.get(name)
        if applied is not None and applied[0].replicas == replicas:
            return
        cluster.scale(name, replicas)
        if applied is not None:
            self._applied[name] = (replace(applied[0], replicas=replicas), time.monotonic())

    def _network(self, cluster: Cluster, owner: str) -> str:
        name = f"wharf-ovl-{owner}"
        if name not in self._networks:
            self._networks[name] = cluster.ensure_network(name, {LABEL_NETWORK: owner})
        return self._networks[name]

    # -- the ingress ----------------------------------------------------------------

    def _route(self, cluster: Cluster, tasks: list[ClusterTask]) -> int:
        """The gateway joined to every balanced service's network and routing to its
        running tasks there; then Wharf's ingress, through the gateway."""
        assert self.routes is not None
        routes = service_reads.routes(self.view, self.app.apps_domain)
        written = 0
        if routes:
            networks = {}
            for route in routes:
                service = service_reads.service(self.view, route.service_id)
                owner = (service.application_id if service is not None else None) \
                    or route.tenant_id
                networks[route.service_id] = self._network(cluster, owner)
            address, port, made = cluster.ensure_gateway(set(networks.values()))
            if made != self._gateway_container:  # (new: it holds no configuration)
                self._gateway_apps, self._gateway_container = None, made
            self._gateway = (address, port)
            upstreams = {server_name(r): [
                f"{ip}:{r.container_port}" for t in tasks
                if t.service.split(".v")[0] == r.service_id and t.running
                and t.desired == "running"
                and (ip := t.address_on(networks[r.service_id])) is not None]
                for r in routes}
            apps = gateway_apps(upstreams, self._gateway_key, GATEWAY_PORT)
            if apps != self._gateway_apps:
                cluster.configure_gateway(apps)
                self._gateway_apps = apps
            self._served = {name for name, dials in upstreams.items() if dials}
        for action in self.routes.plan():
            _, position = self.routes.carry_out(action)
            written = max(written, position)
        return written

    def _through(self, routes: list[Route]) -> list[Route]:
        if self._gateway is None:
            return [replace(r, upstreams=()) for r in routes]
        address, port = self._gateway
        gate = Upstream(replica_id="gateway", name="gateway", host_port=port,
                        address=address)
        return [replace(r, upstreams=(gate,) if server_name(r) in self._served else (),
                        via=((GATEWAY_ROUTE, server_name(r)),
                             (GATEWAY_KEY, self._gateway_key)))
                for r in routes]

    # -- what the cluster did ---------------------------------------------------------

    def _observe(self, cluster: Cluster, group: Group, tasks: list[ClusterTask],
                 node_hosts: dict[str, HostRow], existing: set[str]) -> int:
        """Records what the group's tasks say of its containers; the newest position."""
        written = 0
        claimed = claim(group, tasks)
        taken = {t.id for t in claimed.values()}
        by_created = {t.created: t for t in tasks}
        for wanted in group.rows:
            row = wanted.container
            try:
                written = max(written, self._record(row, claimed.get(row.id), by_created,
                                                    node_hosts, taken))
            except (DomainError, ValueError) as error:  # (deleted meanwhile, a new
                log.info("container %s: %s", row.id, error)  # term, an odd timestamp)
        if not group.running and not any(t.running or t.desired == "running"
                                         for t in tasks) \
                and all(w.container.desired == "deleted" for w in group.rows) \
                and group.name in existing:
            try:
                cluster.remove_service(group.name)
            except EngineError as error:  # (the next pass tries again)
                log.warning("cluster service %s not removed: %s", group.name, error)
            self._applied.pop(group.name, None)
        return written

    def _record(self, row: ContainerRow, task: ClusterTask | None,
                by_created: dict[str, ClusterTask], node_hosts: dict[str, HostRow],
                taken: set[str]) -> int:
        written = 0

        def record(kind: type[m.SchedulerCommand], **fields: Any) -> None:
            nonlocal written
            written = max(written, self.leading.record(kind, **fields).position)

        ident = UUID(row.id)

        def ended(run: ClusterTask) -> None:
            record(m.RecordRun, container_id=ident, generation=row.generation,
                   started_at=run.created, finished_at=run.since, running=False,
                   exit_code=run.exit_code or 0)

        # The end of the run the log holds, once its task has ended.
        last = by_created.get(row.started_at or "")
        if last is not None and last.ended and row.observed in ("running", "paused"):
            ended(last)
        if task is not None and row.desired == "running":
            # Runs that ended between two readings (a task that exits at once is
            # replaced by the next before a pass sees it run): each recorded once.
            for earlier in missed_runs(task, by_created.values(), row.started_at or ""):
                ended(earlier)
        if last is None and row.started_at and row.observed in ("running", "paused"):
            # The task of the run the log holds is listed no more (the manager never
            # forgets a running task: its service was removed behind Wharf's back).
            record(m.RecordRemoved, container_id=ident)
        if task is None:
            # (a deleted replica whose last task another replica now is: gone too)
            if row.desired == "deleted" and row.observed != "removed" and (
                    last is None or not last.running or last.id in taken):
                record(m.RecordRemoved, container_id=ident)
            return written
        if row.desired == "deleted" and not task.running:
            if row.observed != "removed":  # (its run's end recorded above)
                record(m.RecordRemoved, container_id=ident)
            return written
        host = node_hosts.get(task.node_id)
        if host is not None and host.id != row.host_id and row.desired != "deleted":
            record(m.PlaceContainer, container_id=ident, host_id=UUID(host.id), move=True)
        if task.state == "pending" and task.error and row.desired == "running":
            record(m.MarkUnschedulable, container_id=ident, reasons={"swarm": task.error},
                   summary=["no host that may take it is available now"])
        if task.running and host is not None and self.collector is not None \
                and self._task_output is not None:
            self.collector.follow(row.id, self._task_output(
                host.id, host.endpoint, row.id, task.container_id))
        ran = task.running or (task.state in ("complete", "failed", "shutdown")
                               and bool(task.container_id))
        if ran and task.created != row.started_at:  # (a new run; its end, if it ended)
            # (a task with a health check runs only once it passes: Swarm holds it in
            # `starting` until then)
            record(m.RecordRun, container_id=ident, generation=row.generation,
                   started_at=task.created,
                   finished_at=task.since if task.ended else "", running=task.running,
                   exit_code=task.exit_code or 0,
                   health="healthy" if task.running and row.spec.health_check else "")
        if task.state in ("rejected", "failed") and task.exit_code is None and task.error \
                and row.desired != "deleted":
            record(m.RecordFailure, container_id=ident, reason=task.error)
        return written

    # -- the loop -------------------------------------------------------------------

    def nudge(self, *_: Any) -> None:
        self._wake.set()

    def _follow_events(self) -> None:
        """Wakes the loop at each service or node event of the manager."""
        while not self._stop.is_set():
            cluster = self._cluster
            if cluster is None:
                self._stop.wait(1.0)
                continue
            try:
                for _ in cluster.cluster_events():
                    self._wake.set()
                    if self._stop.is_set():
                        return
            except Exception as error:  # the manager restarting: listen again
                log.info("swarm events: %s", error)
            self._stop.wait(1.0)

    def run_forever(self, interval: float = 5.0) -> None:
        self._wait_for_head()
        self.leading.take()
        threading.Thread(target=self._follow_events, name="swarm-events",
                         daemon=True).start()
        while not self._stop.is_set():
            self._wake.clear()
            try:
                result = self.run_pass()
                if result.position:
                    self.wait_for(result.position)
            except TimeoutError:
                continue
            except Exception:
                log.exception("swarm pass failed; retrying")
                self._stop.wait(1.0)
                continue
            timeout = SETTLE if result.wake_at is not None else interval
            if self._wake.wait(timeout):
                self._stop.wait(WAKE_COALESCE)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        self.stop()
        if self._cluster is not None:
            self._cluster.close()

    def _say(self, warning: str) -> None:
        if warning not in self._said:
            self._said.add(warning)
            log.warning(warning)


def claim(group: Group, tasks: list[ClusterTask]) -> dict[str, ClusterTask]:
    """Each container's task: its slot's newest task (the one meant to run, if any). A
    running replica whose slot has none meant to run takes a slot no running replica
    holds, lowest first; a container being stopped or deleted keeps its slot's task
    unless a running one took it."""
    newest: dict[int, ClusterTask] = {}
    for each in sorted(tasks, key=lambda t: (t.desired == "running", t.created)):
        newest[each.slot] = each
    rows = [w.container for w in group.rows]
    live = sorted((r for r in rows if r.desired == "running"), key=slot_of)
    held = {slot_of(r) for r in live}
    spare = sorted(slot for slot, each in newest.items()
                   if slot not in held and each.desired == "running")
    claimed: dict[str, ClusterTask] = {}
    for row in live:
        task: ClusterTask | None = newest.get(slot_of(row))
        if (task is None or task.desired != "running") and spare:
            task = newest[spare.pop(0)]
        if task is not None:
            claimed[row.id] = task
    taken = {t.id for t in claimed.values()}
    for row in rows:
        kept = newest.get(slot_of(row))
        if row.desired != "running" and kept is not None and kept.id not in taken:
            claimed[row.id] = kept
    return claimed


def missed_runs(task: ClusterTask, tasks: Iterable[ClusterTask], since: str
                ) -> list[ClusterTask]:
    """The ended runs of `task`'s slot made after the run the log holds (`since`), oldest
    first, `task` itself left out."""
    after = instant(since) if since else None
    return sorted((t for t in tasks if t.slot == task.slot and t is not task
                   and t.state in ("complete", "failed", "shutdown") and t.container_id
                   and (after is None or instant(t.created) > after)),
                  key=lambda t: instant(t.created))


def instant(stamp: str) -> datetime:
    """A manager's timestamp (RFC 3339, up to nanoseconds) as a datetime (to the
    microsecond): its text does not sort, as Go drops a fraction's trailing zeros."""
    head, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}+00:00")


def refusal(row: ContainerRow) -> str | None:
    """Why this back end cannot run the container as asked (None: it can)."""
    if row.spec.volumes:
        return "volumes are not run on the Swarm back end yet (WHARF_RUNTIME=swarm)"
    if row.service_id is None and any(p.host_port and p.publish for p in row.spec.ports):
        return ("published ports are not run on the Swarm back end yet "
                "(WHARF_RUNTIME=swarm): run it as a service behind the ingress")
    return None
