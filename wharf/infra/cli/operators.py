"""The operators' commands on plans, tenants and hosts: each runs one command on the
store directly (as the operator named by --as) or reads the read side."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.answers import PlanAdded
from wharf.domain.errors import InvalidInput
from wharf.domain.host import check_address
from wharf.domain.plans import PlanCatalog
from wharf.domain.tenant import check_email
from wharf.infra import passwords
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
    p.add_argument("--own-hosts", type=int, default=0,
                   help="hosts a tenant may join to its own pool (default: none)")
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

    p = sub.add_parser(
        "password", help="set a dashboard password: a tenant member's, or an operator's",
        description="Sets the password EMAIL signs in to the dashboard with: as a member of "
                    "--tenant, or without it as an operator. Reads it from a prompt, or "
                    "from standard input when that is not a terminal.")
    p.add_argument("email")
    p.add_argument("--tenant", default=None, help="the tenant's name or id (omit: operator)")
    p.add_argument("--remove", action="store_true",
                   help="remove the password instead: EMAIL can no longer sign in with one")
    p.set_defaults(run=cmd_password)

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
    p.add_argument("--tls", metavar="DIR", default=None,
                   help="mutual TLS: DIR holds ca.pem, cert.pem and key.pem (as `host join` "
                        "writes them); needed for a TCP endpoint off this machine")
    p.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                   help="a label placement constraints match (host.labels.KEY == VALUE)")
    p.set_defaults(run=cmd_host_register)
    p = host.add_parser(
        "join", help="make the certificates a new machine's engine needs, and say what to "
                     "run there",
        description="Makes a CA for the new host, its engine's server certificate for "
                    "ADDRESS and Wharf's client certificate, writes them under DIR, and "
                    "prints the dockerd command to run on the machine and the `wharf host "
                    "register` that joins it.")
    p.add_argument("address", help="the machine's IP address or DNS name, as Wharf reaches it")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="a new directory: DIR/engine goes to the machine, DIR/wharf stays")
    p.add_argument("--port", type=int, default=2376)
    p.set_defaults(run=cmd_host_join)
    p = host.add_parser("label", help="set a host's labels (all of them)")
    p.add_argument("host", help="host id")
    p.add_argument("labels", nargs="*", metavar="KEY=VALUE")
    p.set_defaults(run=cmd_host_label)
    p = host.add_parser("list", help="hosts with address, engine, labels, capacity and state")
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
                     "own_hosts": plan.limit("own_hosts") if plan.limit("own_hosts")
                     is not None else "unlimited",
                     "fee/hour": plan.prices["fee_per_hour"], "description": plan.description})
    table(rows, ["name", "version", "containers", "cpu_millis", "memory_mib", "volume_gib",
                 "own_hosts", "fee/hour", "description"])
    return 0


def cmd_plan_add(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        outcome = wiring.app.handle(m.AddPlan(
            actor=operator(args), name=args.name,
            limits={"containers": args.containers, "cpu_millis": args.cpu_millis,
                    "memory_mib": args.memory_mib, "volume_gib": args.volume_gib,
                    "concurrent_builds": args.concurrent_builds,
                    "own_hosts": args.own_hosts},
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


def cmd_password(settings: Settings, args: argparse.Namespace) -> int:
    hashed = ""  # (--remove: none)
    if not args.remove:
        if sys.stdin.isatty():
            password = getpass.getpass("new password: ")
            if getpass.getpass("again: ") != password:
                raise InvalidInput("password", "the two differ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        hashed = passwords.hash_here(password)
    tenant = tenant_id(args.tenant) if args.tenant else None
    with build(settings) as wiring:
        wiring.app.handle(m.SetPassword(actor=operator(args), tenant_id=tenant,
                                        email=args.email, password_hash=hashed,
                                        from_shell=True))
    where = f"tenant {args.tenant}" if args.tenant else "an operator"
    if args.remove:
        print(f"password removed: {check_email(args.email)} can no longer sign in as {where}")
    else:
        print(f"password set: {check_email(args.email)} signs in to the dashboard as {where}")
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


def _labels(given: list[str]) -> dict[str, str]:
    labels = {}
    for text in given:
        key, sep, value = text.partition("=")
        if not sep:
            raise InvalidInput("label", f"{text[:40]!r} is not KEY=VALUE")
        labels[key] = value
    return labels


def cmd_host_register(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.host_tls import read_client_dir
    from wharf.infra.scheduling import engine_capacity

    labels = _labels(args.label)
    credentials = read_client_dir(Path(args.tls)) if args.tls else None
    cpu, memory, version = args.cpu_millis, args.memory_mib, ""
    if cpu is None or memory is None or credentials is not None:
        capacity = engine_capacity(args.endpoint, credentials)
        cpu = capacity.cpu_millis if cpu is None else cpu
        memory = capacity.memory_mib if memory is None else memory
        version = capacity.engine_version
    with build(settings) as wiring:
        outcome = wiring.app.handle(m.RegisterHost(
            actor=operator(args), endpoint=args.endpoint, name=args.name,
            cpu_millis=cpu, memory_mib=memory, overcommit=args.overcommit, pool=args.pool,
            labels=labels, tls_ca=credentials.ca if credentials else "",
            tls_cert=credentials.cert if credentials else "",
            tls_key=credentials.key if credentials else "", engine_version=version))
    print(f"host {outcome.id} registered (position {outcome.position})")
    if credentials is not None:
        print(f"its credentials are sealed in the log: {args.tls} may be deleted now")
    return 0


def cmd_host_join(settings: Settings, args: argparse.Namespace) -> int:
    import datetime as dt

    from wharf.infra.host_tls import CLIENT_FILES, join_kit, write_private

    check_address(args.address)
    if not 1 <= args.port <= 65535:
        raise InvalidInput("port", "from 1 to 65535")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInput("out", f"{out} is not empty")
    kit = join_kit(args.address, dt.datetime.now(dt.UTC))
    for name, text in kit.engine_files().items():
        write_private(out / "engine" / name, text)
    client = (kit.client.ca, kit.client.cert, kit.client.key)
    for name, text in zip(CLIENT_FILES, client, strict=True):
        write_private(out / "wharf" / name, text)
    engine = out / "engine"
    registry = ""
    if settings.registry and settings.registry_remote:
        from wharf.infra.host_tls import registry_tls
        from wharf.infra.registry import registry_dir

        ca, _, _ = registry_tls(registry_dir(settings.home) / "tls", settings.registry_remote,
                                dt.datetime.now(dt.UTC))
        write_private(engine / "registry-ca.crt", ca.read_text())
        registry = f"""
   Put {engine}/registry-ca.crt there as
   /etc/docker/certs.d/{settings.registry_remote}/ca.crt: the engine pulls Wharf's
   registry at {settings.registry_remote} over TLS and trusts that CA for it only.
"""
    print(f"""1. Copy {engine}/ to the new machine as /etc/docker/wharf/ (mode 0600: it holds
   the engine's private key) and start its engine with mutual TLS:

   dockerd --tlsverify --tlscacert /etc/docker/wharf/ca.pem \\
           --tlscert /etc/docker/wharf/server-cert.pem --tlskey /etc/docker/wharf/server-key.pem \\
           -H unix:///var/run/docker.sock -H tcp://{args.address}:{args.port}

   (or in /etc/docker/daemon.json: "tlsverify": true, "tlscacert", "tlscert", "tlskey"
   and "hosts" with the same values). Only a client with a certificate of this host's
   own CA, which only Wharf holds, can then drive that engine.
{registry}
2. Join it to a pool (public, or a tenant's name) with the labels it carries:

   wharf host register tcp://{args.address}:{args.port} --tls {out / "wharf"} \\
         --pool public --label zone=...

   Wharf asks the engine over mutual TLS for its capacity and version, seals the
   credentials in the log, and places containers there from then on.""")
    return 0


def cmd_host_label(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        outcome = wiring.app.handle(m.LabelHost(actor=operator(args), host_id=UUID(args.host),
                                                labels=_labels(args.labels)))
    print(f"host {args.host}: labels set (position {outcome.position})")
    return 0


def cmd_host_list(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        wiring.projector.catch_up()
        rows = [{**vars(h), "address": h.address,
                 "labels": ",".join(f"{k}={v}" for k, v in h.labels.items()),
                 "tls": "mutual" if h.fingerprint else "-",
                 "free_cpu_millis": h.free_cpu_millis,
                 "free_memory_mib": h.free_memory_mib} for h in host_reads.hosts(wiring.view)]
    table(rows, ["name", "id", "address", "pool", "state", "engine_version", "labels", "tls",
                 "cpu_millis", "memory_mib", "overcommit", "reserved_cpu_millis",
                 "reserved_memory_mib", "free_cpu_millis", "free_memory_mib", "containers"])
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
