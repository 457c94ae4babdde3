"""`wharf app ...`: applications from Compose files, through the GraphQL API (WHARF_URL
and WHARF_TOKEN, like `wharf logs`). `deploy` sends the file's text with the contents of
the env files its services name and the `.env` beside it (what `${VAR}` reads), as
`docker compose` would read them; Wharf itself reads no file of the client's."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wharf.domain.compose import MAX_BYTES, env_file_variables, load
from wharf.domain.errors import InvalidInput
from wharf.infra.cli.output import ask_api, mutate, usage
from wharf.infra.settings import Settings

APP = "id name desired version entry hosts warnings services { name replicas running }"
ERRORS = """... on InvalidInput { field message } ... on QuotaExceeded { resource limit used
  requested } ... on NotFound { message } ... on Conflict { message }
  ... on Forbidden { message }"""
DEPLOY = f"""mutation($input: DeployApplicationInput!) {{ deployApplication(input: $input) {{
  __typename ... on ApplicationPayload {{ application {{ {APP} }} }} {ERRORS} }} }}"""
BY_ID = """mutation($id: ID!) {{ {verb}(input: {{id: $id}}) {{ __typename
  ... on ApplicationPayload {{ application {{ {app} }} }} {errors} }} }}"""
BIND = f"""mutation($app: ID!, $domain: String!, $service: String!) {{ bindDomain(input: {{
  application: $app, domain: $domain, service: $service}}) {{ __typename
  ... on ApplicationPayload {{ application {{ {APP} }} }} {ERRORS} }} }}"""
LIST = f"""query($tenant: String) {{ applications(first: 100, tenant: $tenant) {{
  edges {{ node {{ {APP} }} }} }} }}"""


def add_commands(sub: Any) -> None:
    app = sub.add_parser(
        "app", help="applications from Compose files, through the API",
        description="Applications: a Compose file (a documented subset) deployed as "
                    "services on a network of their own, reached on "
                    "<app>.<tenant>.WHARF_APPS_DOMAIN and on custom domains. Through the "
                    "GraphQL API (WHARF_URL, WHARF_TOKEN).")
    verbs = app.add_subparsers(title="verbs", metavar="VERB")
    deploy = verbs.add_parser("deploy", help="deploy (or update) an application from a file")
    deploy.add_argument("name")
    deploy.add_argument("-f", "--file", default="compose.yaml", type=Path,
                        help="the Compose file (default compose.yaml)")
    deploy.add_argument("--tenant", help="operators: the tenant's id")
    deploy.set_defaults(run=cmd_deploy)
    listing = verbs.add_parser("ls", help="list applications")
    listing.add_argument("--tenant", help="operators: the tenant's id")
    listing.set_defaults(run=cmd_list)
    for verb, text in (("start", "start every service"), ("stop", "stop every service"),
                       ("rm", "delete its services (its volumes stay)")):
        made = verbs.add_parser(verb, help=text)
        made.add_argument("id")
        made.set_defaults(run=cmd_by_id, verb=verb)
    bind = verbs.add_parser("bind", help="reach one of its services on a custom domain")
    bind.add_argument("id")
    bind.add_argument("domain")
    bind.add_argument("service", help="the service's name in the file")
    bind.set_defaults(run=cmd_bind)
    app.set_defaults(run=lambda settings, args: usage(app))



def _show(app: dict[str, Any]) -> None:
    services = ", ".join(f"{s['name']} {s['running']}/{s['replicas']}"
                         for s in app["services"])
    print(f"{app['id']}  {app['name']:<20} {app['desired']:<8} v{app['version']}  {services}")
    for host in app["hosts"][:1]:
        print(f"  http://{host}  (entry: {app['entry'] or 'none'})")
    for warning in app["warnings"]:
        print(f"  warning: {warning}")


def _call(settings: Settings, document: str, variables: dict[str, Any], field: str) -> int:
    return mutate(settings, document, variables, field, "ApplicationPayload", _show)


def _env_files(document: Any, base: Path) -> list[dict[str, str]]:
    """The env files the file's services name, read beside the file."""
    names: list[str] = []
    services = document.get("services") if isinstance(document, dict) else None
    for service in (services or {}).values() if isinstance(services, dict) else ():
        named = service.get("env_file") if isinstance(service, dict) else None
        for item in [named] if isinstance(named, str | dict) else named or []:
            path = item.get("path") if isinstance(item, dict) else item
            if isinstance(path, str) and path not in names and (base / path).is_file():
                names.append(path)
    return [{"path": name, "content": (base / name).read_text()} for name in names]


def cmd_deploy(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"error: no Compose file at {path}", file=sys.stderr)
        return 1
    if path.stat().st_size > MAX_BYTES:
        print(f"error: {path} is over {MAX_BYTES // 1024} KiB", file=sys.stderr)
        return 1
    text = path.read_text()
    try:
        document = load(text)  # (with the same limits the API keeps)
        dotenv = path.parent / ".env"
        variables = env_file_variables(dotenv.read_text(), ".env") if dotenv.is_file() else {}
    except InvalidInput as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return _call(settings, DEPLOY, {"input": {
        "name": args.name, "compose": text, "tenant": args.tenant,
        "envFiles": _env_files(document, path.parent),
        "variables": [{"name": k, "value": v} for k, v in variables.items()]}},
        "deployApplication")


def cmd_by_id(settings: Settings, args: argparse.Namespace) -> int:
    verb = {"start": "startApplication", "stop": "stopApplication",
            "rm": "deleteApplication"}[args.verb]
    return _call(settings, BY_ID.format(verb=verb, app=APP, errors=ERRORS), {"id": args.id},
                 verb)


def cmd_bind(settings: Settings, args: argparse.Namespace) -> int:
    return _call(settings, BIND, {"app": args.id, "domain": args.domain,
                                  "service": args.service}, "bindDomain")


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    data = ask_api(settings, LIST, {"tenant": args.tenant})
    if data is None:
        return 1
    for edge in data["applications"]["edges"]:
        _show(edge["node"])
    return 0
