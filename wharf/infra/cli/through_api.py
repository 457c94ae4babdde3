"""The commands that go through the GraphQL API rather than the store: `logs`, and
`schema`, which prints what the API serves."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wharf.infra.settings import Settings

LOGS = """query($id: ID!, $tail: Int!) { containerLogs(id: $id, tail: $tail) { time text } }"""
FOLLOW = """subscription($id: ID!, $since: String) { containerLog(id: $id, since: $since)
  { time text } }"""


def add_commands(sub: Any) -> None:
    schema = sub.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(run=cmd_schema)
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


def cmd_schema(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.graphql.schema import build_schema

    print(build_schema(dev=True).as_str())
    return 0


def cmd_logs(settings: Settings, args: argparse.Namespace) -> int:
    from wharf.infra.client import ApiError, Client

    def show(line: dict[str, str]) -> None:
        print(f"{line['time']} {line['text']}" if args.timestamps else line["text"],
              flush=True)

    try:
        client = Client.from_env(settings)
        lines = client.query(LOGS, {"id": args.id, "tail": args.tail})["containerLogs"]
        if lines is None:
            print(f"error: no container {args.id}", file=sys.stderr)
            return 1
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
