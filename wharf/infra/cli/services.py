"""`wharf service ...`: a tenant's services, through the GraphQL API (WHARF_URL and
WHARF_TOKEN, like `wharf logs`)."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from wharf.infra.cli.output import ask_api, mutate, usage
from wharf.infra.settings import Settings

FIELDS = "id name category image desired replicas running endpoints { containerPort address }"
ERRORS = """... on InvalidInput { field message } ... on QuotaExceeded { resource limit used
  requested } ... on NotFound { message } ... on Conflict { message }
  ... on Forbidden { message }"""
CREATE = f"""mutation($input: CreateServiceInput!) {{ createService(input: $input) {{
  __typename ... on ServicePayload {{ service {{ {FIELDS} }} }} {ERRORS} }} }}"""
SCALE = f"""mutation($id: ID!, $n: Int!) {{ scaleService(input: {{id: $id, replicas: $n}}) {{
  __typename ... on ServicePayload {{ service {{ {FIELDS} }} }} {ERRORS} }} }}"""
BY_ID = """mutation($id: ID!) {{ {verb}(input: {{id: $id}}) {{
  __typename ... on ServicePayload {{ service {{ {fields} }} }} {errors} }} }}"""
ROLLBACK = f"""mutation($id: ID!, $v: Int) {{ rollbackService(input: {{id: $id,
  toVersion: $v}}) {{ __typename ... on ServicePayload {{ service {{ {FIELDS} }} }}
  {ERRORS} }} }}"""
LIST = f"""query($tenant: String) {{ services(first: 100, tenant: $tenant) {{
  edges {{ node {{ {FIELDS} }} }} }} }}"""
LOGS = """query($id: ID!, $tail: Int!) { serviceLogs(id: $id, tail: $tail) {
  time replica text } }"""


def add_commands(sub: Any) -> None:
    service = sub.add_parser(
        "service", help="a tenant's services (replicas behind a balancer), through the API",
        description="Services: many containers of one image kept at a count, each HTTP port "
                    "that asks for it balanced by Wharf's Caddy on a loopback listener. "
                    "Through the GraphQL API (WHARF_URL, WHARF_TOKEN).")
    verbs = service.add_subparsers(title="verbs", metavar="VERB")
    create = verbs.add_parser("create", help="make a service and start its replicas")
    create.add_argument("name")
    create.add_argument("--image", required=True)
    create.add_argument("--replicas", type=int, default=1)
    create.add_argument("--category", default="app", choices=("app", "data", "tool", "disk"))
    create.add_argument("--port", type=int, action="append", default=[],
                        help="a container port each replica publishes on 127.0.0.1")
    create.add_argument("--balance", type=int, action="append", default=[],
                        help="a container port (HTTP) to balance over the replicas")
    create.add_argument("--command", help="the command, split as a shell would")
    create.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    create.add_argument("--cpu-millis", type=int)
    create.add_argument("--memory-mib", type=int)
    create.add_argument("--volume", action="append", default=[], metavar="NAME:/PATH[:ro]",
                        help="mount a volume (data and disk services: one per replica, "
                             "NAME.<slot>)")
    create.add_argument("--parallelism", type=int, default=1,
                        help="replicas an update replaces at a time")
    create.add_argument("--order", default="start-first",
                        choices=("start-first", "stop-first"),
                        help="how an update replaces each replica (data and disk "
                             "services: always stop-first)")
    create.add_argument("--tenant", help="operators: the tenant's id")
    create.set_defaults(run=cmd_create)
    listing = verbs.add_parser("ls", help="list services")
    listing.add_argument("--tenant", help="operators: the tenant's id")
    listing.set_defaults(run=cmd_list)
    scale = verbs.add_parser("scale", help="keep a service at N replicas")
    scale.add_argument("id")
    scale.add_argument("replicas", type=int)
    scale.set_defaults(run=cmd_scale)
    for verb, text in (("start", "start every replica"), ("stop", "stop every replica"),
                       ("rm", "delete the service and its replicas")):
        made = verbs.add_parser(verb, help=text)
        made.add_argument("id")
        made.set_defaults(run=cmd_by_id, verb=verb)
    rollback = verbs.add_parser("rollback", help="back to an earlier version's whole "
                                "configuration (default: the last one every replica ran)")
    rollback.add_argument("id")
    rollback.add_argument("--to-version", type=int)
    rollback.set_defaults(run=cmd_rollback)
    logs = verbs.add_parser("logs", help="its replicas' output, merged by time")
    logs.add_argument("id")
    logs.add_argument("-n", "--tail", type=int, default=100)
    logs.set_defaults(run=cmd_logs)
    service.set_defaults(run=lambda settings, args: usage(service))



def _show(service: dict[str, Any]) -> None:
    endpoints = ", ".join(f"{e['containerPort']} -> {e['address'] or 'opening'}"
                          for e in service["endpoints"]) or "-"
    print(f"{service['id']}  {service['name']:<20} {service['running']}/{service['replicas']} "
          f"running  {service['desired']:<8} {service['image']}  balanced: {endpoints}")


def _call(settings: Settings, document: str, variables: dict[str, Any], field: str) -> int:
    return mutate(settings, document, variables, field, "ServicePayload", _show)


def _pairs(given: list[str], flag: str, sep: str, shape: str, keys: tuple[str, str]
           ) -> list[dict[str, str]] | None:
    """`--env A=1` or `--volume data:/data` as the API's inputs; None (said) if bad."""
    found = []
    for pair in given:
        left, separator, right = pair.partition(sep)
        if not separator:
            print(f"error: {flag} {pair}: {shape}", file=sys.stderr)
            return None
        found.append({keys[0]: left, keys[1]: right})
    return found


def cmd_create(settings: Settings, args: argparse.Namespace) -> int:
    env = _pairs(args.env, "--env", "=", "NAME=VALUE", ("name", "value"))
    volumes = _pairs(args.volume, "--volume", ":", "NAME:/PATH", ("volume", "path"))
    if env is None or volumes is None:
        return 2
    mounts: list[dict[str, Any]] = [  # (`data:/data:ro` or `:rw`, as docker run reads it)
        {**m, "path": m["path"][:-3], "readOnly": m["path"].endswith(":ro")}
        if m["path"].endswith((":ro", ":rw")) else m for m in volumes]
    ports = [{"containerPort": p} for p in args.port if p not in args.balance]
    ports += [{"containerPort": p, "loadBalanced": True} for p in args.balance]
    spec: dict[str, Any] = {"name": args.name, "image": args.image, "replicas": args.replicas,
                            "category": args.category, "ports": ports, "env": env,
                            "tenant": args.tenant, "cpuMillis": args.cpu_millis,
                            "memoryMib": args.memory_mib, "volumes": mounts,
                            "updatePolicy": {"parallelism": args.parallelism,
                                             "order": args.order}}
    if args.command:
        spec["command"] = shlex.split(args.command)
    return _call(settings, CREATE, {"input": spec}, "createService")


def cmd_scale(settings: Settings, args: argparse.Namespace) -> int:
    return _call(settings, SCALE, {"id": args.id, "n": args.replicas}, "scaleService")


def cmd_rollback(settings: Settings, args: argparse.Namespace) -> int:
    return _call(settings, ROLLBACK, {"id": args.id, "v": args.to_version}, "rollbackService")


def cmd_by_id(settings: Settings, args: argparse.Namespace) -> int:
    verb = {"start": "startService", "stop": "stopService", "rm": "deleteService"}[args.verb]
    document = BY_ID.format(verb=verb, fields=FIELDS, errors=ERRORS)
    return _call(settings, document, {"id": args.id}, verb)


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    data = ask_api(settings, LIST, {"tenant": args.tenant})
    if data is None:
        return 1
    for edge in data["services"]["edges"]:
        _show(edge["node"])
    return 0


def cmd_logs(settings: Settings, args: argparse.Namespace) -> int:
    lines = ask_api(settings, LOGS, {"id": args.id, "tail": args.tail})
    if lines is None:
        return 1
    if lines["serviceLogs"] is None:
        print(f"error: no service {args.id}", file=sys.stderr)
        return 1
    for line in lines["serviceLogs"]:
        print(f"{line['replica']:<12} {line['text']}", flush=True)
    return 0
