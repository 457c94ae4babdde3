"""`wharf`: operator commands that open the store directly.

Every command reads WHARF_HOME / WHARF_DATABASE_URL (see `wharf --help`).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.errors import DomainError
from wharf.domain.plans import PlanCatalog
from wharf.domain.tenant import Tenant
from wharf.infra.bootstrap import Wiring, build
from wharf.infra.scheduling import build_scheduler, register_engines, stats_engines
from wharf.infra.settings import Settings
from wharf.projections.reads import audit as audit_reads
from wharf.projections.reads import hosts as host_reads
from wharf.projections.reads import tenants as tenant_reads
from wharf.projections.summaries import event_type, summarize
from wharf.schedulers.scheduler import Scheduler

log = logging.getLogger("wharf")

DESCRIPTION = """\
Wharf: an event-sourced container cloud.

Every change is an event in one append-only log (SQLite in WHARF_HOME by default,
PostgreSQL when WHARF_DATABASE_URL=postgresql://...). Read models are projections of that
log and can be rebuilt from it at any time.

environment:
  WHARF_HOME           data directory (default ./var)
  WHARF_DATABASE_URL   sqlite:///FILE (default: WHARF_HOME/wharf.db) or postgresql://...
  WHARF_LISTEN         API address (default 127.0.0.1:8080)
  WHARF_DEV            on: GraphiQL and introspection
  WHARF_DOCKER_HOSTS   engines `wharf up` registers (default unix:///var/run/docker.sock)
  WHARF_PLACEMENT      spread (default) or binpack
  WHARF_HOST_GRACE     seconds a silent engine has before its host is lost (default 30)
  WHARF_DISK_GRACE     seconds a container may stay over its disk limit (default 600)
  WHARF_SCHEDULER      off: `wharf up` runs no scheduler and no timers (API only)
"""


# An API process serves many requests at once, each wanting a connection to the log or
# the read side; other commands need few.

EXAMPLES = """\
examples:
  wharf tenant create acme --plan free --owner owner@acme.io
  wharf events --tenant acme --follow
  wharf history 6f1c2b9e-4b1a-5a8e-9d3c-2f0e8b7a6c51
  wharf replay --until 2026-11-26T14:05:00 --into sqlite:///tmp/then.db
  wharf replay --verify
  wharf store copy --to postgresql://postgres@127.0.0.1:5432/wharf
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    os.umask(0o077)  # every file Wharf makes (store, logs, backups, keys) is its owner's only
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    settings = Settings.from_env()
    try:
        result: int = args.run(settings, args)
        return result
    except DomainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wharf", description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    parser.add_argument("--as", dest="operator", default=None,
                        help="operator name recorded as the actor (default: your user name)")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    up = sub.add_parser("up", help="set up the store and run Wharf in one process",
                        description="Creates the store on first start, seeds the plans, "
                                    "issues the operator's token, and runs the GraphQL API, "
                                    "the projector and the timers until interrupted "
                                    "(WHARF_LISTEN, default 127.0.0.1:8080).")
    up.set_defaults(run=cmd_up)
    api = sub.add_parser("api", help="serve the GraphQL API (stateless; run many)")
    api.set_defaults(run=cmd_api)
    schema = sub.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(run=cmd_schema)

    sched = sub.add_parser(
        "scheduler", help="run containers on the Docker hosts as the log says (one leader)",
        description="Reconciles the desired state (the read side) with every host's Docker "
                    "engine: places, creates, starts, stops and removes containers, and "
                    "records what the engines report. One leader at a time; others wait. "
                    "WHARF_PLACEMENT=spread|binpack, WHARF_SCHEDULER_INTERVAL=seconds.")
    sched.add_argument("--once", action="store_true", help="one pass, print its actions, exit")
    sched.add_argument("--register-local", action="store_true",
                       help="register WHARF_DOCKER_HOSTS (default: the local engine) first")
    sched.set_defaults(run=cmd_scheduler)

    p = sub.add_parser(
        "logs", help="print a container's output, through the API (-f follows it)",
        description="Reads a container's logs through the GraphQL API (WHARF_URL, default "
                    "http://WHARF_LISTEN; WHARF_TOKEN, default the operator token in "
                    "WHARF_HOME). Logs stay readable after the container is removed, for "
                    "the plan's log retention.")
    p.add_argument("id", help="the container's id")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("-n", "--tail", type=int, default=100, help="lines to show (default 100)")
    p.add_argument("-t", "--timestamps", action="store_true", help="show each line's time")
    p.set_defaults(run=cmd_logs)

    proj = sub.add_parser("projector", help="keep every read model up to date with the log")
    proj.add_argument("--once", action="store_true", help="catch up, then exit")
    proj.add_argument("--batch-size", type=int, default=2000,
                      help="events per transaction (default 2000)")
    proj.set_defaults(run=cmd_projector)

    plan = sub.add_parser("plan", help="list and add plans").add_subparsers(metavar="ACTION")
    p = plan.add_parser("list", help="every plan's newest version")
    p.set_defaults(run=cmd_plan_list)
    p = plan.add_parser("add", help="add a plan, or a new version of an existing one")
    p.add_argument("name")
    for limit in ("containers", "cpu-millis", "memory-mib", "volume-gib", "concurrent-builds"):
        p.add_argument(f"--{limit}", type=int, default=None, help="limit (omit: unlimited)")
    for price in ("fee-per-hour", "cpu-second", "memory-gib-second", "volume-gib-hour",
                  "traffic-gib"):
        p.add_argument(f"--{price}", default="0", help="price in CNY (default 0)")
    p.add_argument("--default-cpu-millis", type=int, default=250)
    p.add_argument("--default-memory-mib", type=int, default=256)
    p.add_argument("--description", default="")
    p.add_argument("--self-service", action="store_true",
                   help="tenants' owners may switch to it themselves")
    p.set_defaults(run=cmd_plan_add)

    tenant = sub.add_parser("tenant", help="create and manage tenants").add_subparsers(
        metavar="ACTION")
    p = tenant.add_parser("create", help="register a tenant and print its owner's token")
    p.add_argument("name")
    p.add_argument("--plan", default="free")
    p.add_argument("--owner", required=True, help="the owner's e-mail address")
    p.set_defaults(run=cmd_tenant_create)
    p = tenant.add_parser("list", help="every tenant with its plan, status and usage")
    p.set_defaults(run=cmd_tenant_list)
    for action, doc in (("suspend", "stop every workload, keep the data"),
                        ("resume", "start again what the suspension stopped")):
        p = tenant.add_parser(action, help=doc)
        p.add_argument("tenant", help="name or id")
        p.set_defaults(run=cmd_tenant_action, action=action)
    p = tenant.add_parser("close", help="stop everything, destroy the data key, purge "
                                        "workloads and volumes after a grace period")
    p.add_argument("tenant", help="name or id")
    p.add_argument("--grace-hours", type=int, default=72)
    p.set_defaults(run=cmd_tenant_action, action="close")
    p = tenant.add_parser("purge-due", help="purge every closed tenant past its grace period")
    p.set_defaults(run=cmd_purge_due)

    host = sub.add_parser("host", help="register, drain and remove Docker hosts").add_subparsers(
        metavar="ACTION")
    p = host.add_parser("register", help="add a Docker endpoint to a pool")
    p.add_argument("endpoint", help="unix:///var/run/docker.sock or tcp://HOST:PORT")
    p.add_argument("--name", default="")
    p.add_argument("--cpu-millis", type=int, default=None,
                   help="capacity (default: what the engine reports)")
    p.add_argument("--memory-mib", type=int, default=None,
                   help="capacity (default: what the engine reports)")
    p.add_argument("--overcommit", default="1")
    p.add_argument("--pool", default="public", help="public, or a tenant's name")
    p.set_defaults(run=cmd_host_register)
    p = host.add_parser("list", help="hosts with capacity, reserved and free")
    p.set_defaults(run=cmd_host_list)
    for action in ("drain", "remove"):
        p = host.add_parser(action, help=f"{action} a host")
        p.add_argument("host", help="host id")
        p.set_defaults(run=cmd_host_action, action=action)

    p = sub.add_parser("events", help="print the log, one line per event")
    p.add_argument("--tenant", help="only this tenant's events (name or id)")
    p.add_argument("--after", type=int, default=0, help="start after this position")
    p.add_argument("--limit", type=int, default=None, help="stop after this many")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    p.set_defaults(run=cmd_events)

    p = sub.add_parser("history", help="every event of one object, with actor and cause")
    p.add_argument("id")
    p.set_defaults(run=cmd_history)

    p = sub.add_parser("replay", help="rebuild read models from the log",
                       description="Either rebuild every read model as of a position or a "
                                   "time into an empty database of the same kind (--into), "
                                   "or rebuild at the live position in a scratch database "
                                   "and compare table by table (--verify).")
    p.add_argument("--until", help="a log position or an ISO time (default: head)")
    p.add_argument("--into", help="target: a file, sqlite:///FILE or postgresql://.../DB")
    p.add_argument("--verify", action="store_true",
                   help="compare a fresh rebuild with the live read models; exit 1 on any "
                        "difference")
    p.set_defaults(run=cmd_replay)

    store = sub.add_parser("store", help="work on the store itself").add_subparsers(
        metavar="ACTION")
    p = store.add_parser("copy", help="copy the whole log and the data keys to another store")
    p.add_argument("--to", required=True,
                   help="a backup file, sqlite:///FILE or postgresql://.../DB")
    p.set_defaults(run=cmd_store_copy)
    return parser


# -- helpers -------------------------------------------------------------------------


def _operator(args: argparse.Namespace) -> Actor:
    return Actor.operator(args.operator or getpass.getuser())


def _tenant_id(ref: str) -> UUID:
    try:
        return UUID(ref)
    except ValueError:
        return Tenant.id_for(ref)


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [[str(r.get(c, "")) if r.get(c) is not None else "-" for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


class Progress:
    """A line on stderr, rewritten at most a few times a second."""

    def __init__(self, what: str, total: int | None = None) -> None:
        self.what = what
        self.total = total
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last < 0.25:
            return
        self.last = now
        total = total or self.total
        rate = done / max(now - self.started, 1e-9)
        of = f"/{total}" if total else ""
        print(f"\r{self.what}: {done}{of} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)

    def done(self, done: int) -> None:
        elapsed = time.monotonic() - self.started
        print(f"\r{self.what}: {done} in {elapsed:.1f}s", file=sys.stderr)


# -- commands ------------------------------------------------------------------------


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.serve import ensure_operator_token, listen_address, serve, token_file

    wiring = build(settings)
    print(f"Wharf store: {settings.database_url}")
    progress = Progress("catching up read models")
    wiring.projector.catch_up(progress=lambda p: progress(p))
    progress.done(wiring.projector.position)
    token = ensure_operator_token(wiring, settings)
    host, port = listen_address(settings)
    print(f"Wharf API: http://{host}:{port}/graphql")
    # The token itself is never printed: output ends up in logs and journals.
    made = "made on this first start, " if token is not None else ""
    print(f"operator token: {made}in {token_file(settings)} (readable by you only)")
    scheduler = None
    if settings.scheduler:
        engines = register_engines(wiring, settings.docker_hosts)
        print(f"Docker hosts: {', '.join(engines) or 'none answering (containers wait)'}")
        scheduler = build_scheduler(wiring, in_process=True)
        threading.Thread(target=_lead, args=(wiring, scheduler), name="scheduler",
                         daemon=True).start()
        print("Running the API, the projector, the scheduler and the timers. Ctrl-C stops.",
              flush=True)
    else:
        print("Running the API and the projector (WHARF_SCHEDULER=off: no containers are "
              "run, no timers). Ctrl-C stops.", flush=True)
    try:
        serve(wiring, settings, embedded=True)
    finally:
        if scheduler is not None:
            scheduler.close()
        wiring.close()
    return 0


def _lead(wiring: Wiring, scheduler: Scheduler) -> None:
    """Waits to lead, then reconciles and runs the timer jobs until stopped: timers run
    in the leader only, so that two schedulers never sample or purge twice."""
    from wharf.infra.leader import leadership
    from wharf.schedulers.timers import start_timers

    settings = wiring.settings
    with leadership(settings):
        engines = stats_engines(wiring)
        timers = start_timers(wiring.app, wiring.view, wiring.logs,
                              (engines, wiring.metrics), settings.metrics_every,
                              (engines, timedelta(seconds=settings.disk_grace)),
                              settings.disk_every, networks=engines)
        try:
            scheduler.run_forever(settings.scheduler_interval)
        finally:
            timers.shutdown(wait=True)
            engines.close()


def cmd_scheduler(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    if args.register_local:
        register_engines(wiring, settings.docker_hosts)
    scheduler = build_scheduler(wiring, in_process=False)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
    if args.once:
        result = scheduler.run_pass()
        for action in result.actions:
            print(f"{action.kind:16} {action.container_id} {action.host_id or ''}")
        print(f"{len(result.actions)} actions, {result.failed} failed")
        scheduler.close()
        wiring.close()
        return 1 if result.failed else 0
    print("scheduler: waiting to lead, then reconciling (Ctrl-C stops)", flush=True)
    try:
        _lead(wiring, scheduler)
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.close()
        wiring.close()
    return 0


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.serve import listen_address, serve

    wiring = build(settings)
    host, port = listen_address(settings)
    print(f"Wharf API: http://{host}:{port}/graphql (read side from `wharf projector`)",
          flush=True)
    try:
        serve(wiring, settings, embedded=False)
    finally:
        wiring.close()
    return 0


def cmd_schema(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.graphql.schema import build_schema

    print(build_schema(dev=True).as_str())
    return 0


LOGS = """query($id: ID!, $tail: Int!) { containerLogs(id: $id, tail: $tail) { time text } }"""
FOLLOW = """subscription($id: ID!, $since: String) { containerLog(id: $id, since: $since)
  { time text } }"""


def cmd_logs(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.client import ApiError, Client

    try:
        client = Client.from_env(settings)
        lines = client.query(LOGS, {"id": args.id, "tail": args.tail})["containerLogs"]
        if lines is None:
            print(f"error: no container {args.id}", file=sys.stderr)
            return 1
        def show(line: dict[str, str]) -> None:
            print(f"{line['time']} {line['text']}" if args.timestamps else line["text"],
                  flush=True)

        for line in lines:
            show(line)
        if args.follow:
            since = lines[-1]["time"] if lines else None
            for data in client.subscribe(FOLLOW, {"id": args.id, "since": since}):
                show(data["containerLog"])
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_projector(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    wiring.projector.batch_size = args.batch_size
    if args.once:
        progress = Progress("projected up to position")
        wiring.projector.catch_up(progress=lambda p: progress(p))
        progress.done(wiring.projector.position)
        wiring.close()
        return 0
    return _run_projector(wiring)


def _run_projector(wiring: Wiring) -> int:
    signal.signal(signal.SIGTERM, lambda *_: wiring.projector.stop())
    print(f"projector: following the log from position {wiring.projector.position}",
          flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        wiring.projector.run_forever()
    wiring.close()
    return 0


def cmd_plan_list(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    catalog: Any = wiring.app.repository.get(PlanCatalog.ID)
    rows = []
    for plan in catalog.all_latest():
        rows.append({"name": plan.name, "version": plan.version,
                     **{k: "unlimited" if v is None else v for k, v in plan.limits.items()},
                     "fee/hour": plan.prices["fee_per_hour"], "description": plan.description})
    _table(rows, ["name", "version", "containers", "cpu_millis", "memory_mib", "volume_gib",
                  "fee/hour", "description"])
    return 0


def cmd_plan_add(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    outcome = wiring.app.handle(m.AddPlan(
        actor=_operator(args), name=args.name,
        limits={"containers": args.containers, "cpu_millis": args.cpu_millis,
                "memory_mib": args.memory_mib, "volume_gib": args.volume_gib,
                "concurrent_builds": args.concurrent_builds},
        prices={"fee_per_hour": args.fee_per_hour, "cpu_second": args.cpu_second,
                "memory_gib_second": args.memory_gib_second,
                "volume_gib_hour": args.volume_gib_hour, "traffic_gib": args.traffic_gib},
        default_cpu_millis=args.default_cpu_millis,
        default_memory_mib=args.default_memory_mib, description=args.description,
        self_service=args.self_service,
    ))
    print(f"plan {outcome.data['name']} version {outcome.data['version']} added "
          f"(position {outcome.position})")
    return 0


def cmd_tenant_create(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    outcome = wiring.app.handle(m.CreateTenant(actor=_operator(args), name=args.name,
                                               plan=args.plan, owner=args.owner))
    print(f"tenant {args.name} created: id {outcome.id} (position {outcome.position})")
    print(f"owner token (shown once): {outcome.token}")
    return 0


def cmd_tenant_list(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    wiring.projector.catch_up()
    rows = [vars(row) for row in tenant_reads.all_tenants(wiring.view)]
    _table(rows, ["name", "id", "plan", "status", "containers", "cpu_millis", "memory_mib",
                  "volume_gib", "purge_after"])
    return 0


def cmd_tenant_action(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    tenant_id = _tenant_id(args.tenant)
    actor = _operator(args)
    command: m.Command
    if args.action == "suspend":
        command = m.SuspendTenant(actor=actor, tenant_id=tenant_id)
    elif args.action == "resume":
        command = m.ResumeTenant(actor=actor, tenant_id=tenant_id)
    else:
        command = m.CloseTenant(actor=actor, tenant_id=tenant_id, grace_hours=args.grace_hours)
    outcome = wiring.app.handle(command)
    print(f"tenant {args.tenant}: {args.action} done (position {outcome.position})")
    return 0


def cmd_purge_due(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.schedulers.purge import purge_due_tenants

    wiring = build(settings)
    wiring.projector.catch_up()
    purged = purge_due_tenants(wiring.app, wiring.view, wiring.app.clock)
    print(f"purged {len(purged)} tenant(s)")
    return 0


def cmd_host_register(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.scheduling import engine_capacity

    cpu, memory = args.cpu_millis, args.memory_mib
    if cpu is None or memory is None:
        capacity = engine_capacity(args.endpoint)
        cpu = capacity.cpu_millis if cpu is None else cpu
        memory = capacity.memory_mib if memory is None else memory
    wiring = build(settings)
    outcome = wiring.app.handle(m.RegisterHost(
        actor=_operator(args), endpoint=args.endpoint, name=args.name,
        cpu_millis=cpu, memory_mib=memory, overcommit=args.overcommit, pool=args.pool))
    print(f"host {outcome.id} registered (position {outcome.position})")
    return 0


def cmd_host_list(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    wiring.projector.catch_up()
    rows = [{**vars(h), "free_cpu_millis": h.free_cpu_millis,
             "free_memory_mib": h.free_memory_mib} for h in host_reads.hosts(wiring.view)]
    _table(rows, ["name", "id", "endpoint", "pool", "state", "cpu_millis", "memory_mib",
                  "overcommit", "reserved_cpu_millis", "reserved_memory_mib",
                  "free_cpu_millis", "free_memory_mib", "containers"])
    return 0


def cmd_host_action(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    host_id = UUID(args.host)
    actor = _operator(args)
    command: m.Command = (m.DrainHost(actor=actor, host_id=host_id) if args.action == "drain"
                          else m.RemoveHost(actor=actor, host_id=host_id))
    outcome = wiring.app.handle(command)
    print(f"host {host_id}: {args.action} done (position {outcome.position})")
    return 0


def _as_url(target: str) -> str:
    """A database URL, or a plain file path taken as a SQLite file."""
    if "://" in target:
        return target
    return f"sqlite:///{Path(target).resolve()}"


def _event_line(position: int, event: Any) -> str:
    return (f"{position:>8}  {event.timestamp.isoformat(timespec='seconds')}  "
            f"{event_type(event):<28} {str(event.originator_id)[:8]}  {event.actor:<24} "
            f"{event.cause:<24} {summarize(event)}")


def cmd_events(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    after = args.after
    printed = 0
    fetch: Callable[[int], list[tuple[int, str]]]
    if args.tenant:
        tenant_id = str(_tenant_id(args.tenant))

        def fetch(start: int) -> list[tuple[int, str]]:
            wiring.projector.catch_up()
            rows = audit_reads.after(wiring.view, tenant_id, start, 1000)
            return [(r.position, f"{r.position:>8}  {r.occurred_at[:19]}  "
                     f"{r.type:<28} {r.object_id[:8]}  {r.actor:<24} "
                     f"{r.cause:<24} {r.summary}") for r in rows]
    else:
        def fetch(start: int) -> list[tuple[int, str]]:
            notes = wiring.app.recorder.select_notifications(start, 1000,
                                                             inclusive_of_start=False)
            return [(n.id, _event_line(n.id, wiring.app.mapper.to_domain_event(n)))
                    for n in notes]
    while True:
        batch = fetch(after)
        for position, line in batch:
            print(line)
            printed += 1
            after = position
            if args.limit is not None and printed >= args.limit:
                return 0
        if not batch:
            if not args.follow:
                return 0
            time.sleep(0.5)


def cmd_history(settings: Settings, args: argparse.Namespace) -> int:
    wiring = build(settings)
    object_id = UUID(args.id)
    events = list(wiring.app.repository.event_store.get(object_id))
    if not events:
        print(f"error: no object {object_id}", file=sys.stderr)
        return 1
    print(f"{'VER':>4}  {'TIME':<25}  {'TYPE':<28} {'ACTOR':<24} {'CAUSE':<24} SUMMARY")
    for event in events:
        e: Any = event
        print(f"{e.originator_version:>4}  {e.timestamp.isoformat(timespec='seconds'):<25}  "
              f"{event_type(e):<28} {e.actor:<24} {e.cause:<24} {summarize(e)}")
    return 0


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra import replay

    wiring = build(settings)
    if args.verify:
        wiring.projector.catch_up()
        progress = Progress("rebuilding in a scratch database")
        position, diffs = replay.verify(wiring.app, wiring.view, settings.database_url,
                                        progress=lambda p: progress(p))
        progress.done(position)
        print(f"{'TABLE':<22} {'LIVE ROWS':>9} {'REBUILT':>9}  {'SHA-256 (live)':<20} RESULT")
        for d in diffs:
            print(f"{d.table:<22} {d.live_rows:>9} {d.rebuilt_rows:>9}  {d.live_hash[:16]:<20} "
                  f"{'same' if d.same else 'DIFFERENT (rebuilt ' + d.rebuilt_hash[:16] + ')'}")
        bad = [d.table for d in diffs if not d.same]
        if bad:
            print(f"replay --verify: {len(bad)} table(s) differ from a fold of the log "
                  f"at position {position}: {', '.join(bad)}")
            return 1
        print(f"replay --verify: every read model equals a fold of the log at {position}")
        return 0
    if not args.into:
        print("error: give --into TARGET (or --verify)", file=sys.stderr)
        return 2
    until, until_time = None, None
    if args.until:
        if args.until.isdigit():
            until = int(args.until)
        else:
            until_time = datetime.fromisoformat(args.until)
            if until_time.tzinfo is None:
                until_time = until_time.replace(tzinfo=UTC)
    into = _as_url(args.into)
    replay.ensure_target(into)
    progress = Progress("replaying")
    position = replay.rebuild(wiring.app, into, until=until, until_time=until_time,
                              progress=lambda p: progress(p),
                              source_url=settings.database_url)
    progress.done(position)
    print(f"read models as of position {position} are in {into}")
    return 0


def cmd_store_copy(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.copy import copy_store

    wiring = build(settings)
    progress = Progress("copying events")
    target = _as_url(args.to)
    copied, gaps = copy_store(wiring.app, target,
                              progress=lambda done, total: progress(done, total))
    progress.done(copied)
    if gaps:
        print(f"note: the source skipped {gaps} position(s); the copy numbers its log "
              "without gaps, so positions differ after the first gap (the order does not)")
    print(f"copied {copied} events and the data keys to {target}; "
          "run `wharf projector --once` there to build its read models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
