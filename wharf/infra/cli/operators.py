"""The operators' commands on plans, tenants and hosts: each runs one command on the
store directly (as the operator named by --as) or reads the read side."""

from __future__ import annotations

import argparse
from typing import Any
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.answers import PlanAdded
from wharf.domain.plans import PlanCatalog
from wharf.infra.bootstrap import build
from wharf.infra.cli.output import operator, table, tenant_id
from wharf.infra.settings import Settings
from wharf.projections.reads import hosts as host_reads
from wharf.projections.reads import tenants as tenant_reads


def add_commands(sub: Any) -> None:
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


def cmd_plan_list(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        catalog: Any = wiring.app.repository.get(PlanCatalog.ID)
    rows = []
    for plan in catalog.all_latest():
        rows.append({"name": plan.name, "version": plan.version,
                     **{k: "unlimited" if v is None else v for k, v in plan.limits.items()},
                     "fee/hour": plan.prices["fee_per_hour"], "description": plan.description})
    table(rows, ["name", "version", "containers", "cpu_millis", "memory_mib", "volume_gib",
                 "fee/hour", "description"])
    return 0


def cmd_plan_add(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        outcome = wiring.app.handle(m.AddPlan(
            actor=operator(args), name=args.name,
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
    added = outcome.answer_as(PlanAdded)
    print(f"plan {added.name} version {added.version} added (position {outcome.position})")
    return 0


def cmd_tenant_create(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        outcome = wiring.app.handle(m.CreateTenant(actor=operator(args), name=args.name,
                                                   plan=args.plan, owner=args.owner))
    print(f"tenant {args.name} created: id {outcome.id} (position {outcome.position})")
    print(f"owner token (shown once): {outcome.token}")
    return 0


def cmd_tenant_list(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        wiring.projector.catch_up()
        rows = [vars(row) for row in tenant_reads.all_tenants(wiring.view)]
    table(rows, ["name", "id", "plan", "status", "containers", "cpu_millis", "memory_mib",
                 "volume_gib", "purge_after"])
    return 0


def cmd_tenant_action(settings: Settings, args: argparse.Namespace) -> int:
    actor, tenant = operator(args), tenant_id(args.tenant)
    command: m.Command
    if args.action == "suspend":
        command = m.SuspendTenant(actor=actor, tenant_id=tenant)
    elif args.action == "resume":
        command = m.ResumeTenant(actor=actor, tenant_id=tenant)
    else:
        command = m.CloseTenant(actor=actor, tenant_id=tenant, grace_hours=args.grace_hours)
    with build(settings) as wiring:
        outcome = wiring.app.handle(command)
    print(f"tenant {args.tenant}: {args.action} done (position {outcome.position})")
    return 0


def cmd_purge_due(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.schedulers.purge import purge_due_tenants

    with build(settings) as wiring:
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
    with build(settings) as wiring:
        outcome = wiring.app.handle(m.RegisterHost(
            actor=operator(args), endpoint=args.endpoint, name=args.name,
            cpu_millis=cpu, memory_mib=memory, overcommit=args.overcommit, pool=args.pool))
    print(f"host {outcome.id} registered (position {outcome.position})")
    return 0


def cmd_host_list(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        wiring.projector.catch_up()
        rows = [{**vars(h), "free_cpu_millis": h.free_cpu_millis,
                 "free_memory_mib": h.free_memory_mib} for h in host_reads.hosts(wiring.view)]
    table(rows, ["name", "id", "endpoint", "pool", "state", "cpu_millis", "memory_mib",
                 "overcommit", "reserved_cpu_millis", "reserved_memory_mib",
                 "free_cpu_millis", "free_memory_mib", "containers"])
    return 0


def cmd_host_action(settings: Settings, args: argparse.Namespace) -> int:
    host_id = UUID(args.host)
    actor = operator(args)
    command: m.Command = (m.DrainHost(actor=actor, host_id=host_id) if args.action == "drain"
                          else m.RemoveHost(actor=actor, host_id=host_id))
    with build(settings) as wiring:
        outcome = wiring.app.handle(command)
    print(f"host {host_id}: {args.action} done (position {outcome.position})")
    return 0
