"""`wharf`: the command line. Split by what each part serves: processes.py runs Wharf's
processes, operators.py the operators' commands on plans, tenants and hosts,
event_log.py the commands that read the log (events, history, replay, store copy),
through_api.py, services.py and applications.py those that go through the GraphQL API,
output.py what they print.

Every command reads its settings from the environment (see `wharf --help`).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import Sequence

import docker.errors
import psycopg

from wharf.domain.errors import DomainError
from wharf.infra.cli import (
    applications,
    billing,
    event_log,
    exports,
    operators,
    processes,
    runtime,
    services,
    through_api,
)
from wharf.infra.settings import Settings

DESCRIPTION = """\
Wharf: an event-sourced container cloud.

Every change is an event in one append-only log (SQLite in WHARF_HOME by default,
PostgreSQL when WHARF_DATABASE_URL=postgresql://...). Read models are projections of that
log and can be rebuilt from it at any time.
"""

EXAMPLES = """\
examples:
  wharf up
  wharf tenant create acme --plan free --owner owner@acme.io
  wharf logs -f CONTAINER_ID
  wharf service create web --image busybox --replicas 3 --balance 8080 --command 'httpd -f -p 8080'
  wharf service scale SERVICE_ID 5
  wharf app deploy -f compose.yaml shop
  wharf events --tenant acme --follow
  wharf history 6f1c2b9e-4b1a-5a8e-9d3c-2f0e8b7a6c51
  wharf replay --until 2026-11-26T14:05:00 --into sqlite:///tmp/then.db
  wharf replay --verify
  wharf store copy --to postgresql://postgres@127.0.0.1:5432/wharf
"""


def environment() -> str:
    """The settings' section of --help, from the settings themselves."""
    lines = []
    for name, text in Settings.described():
        lines += textwrap.wrap(text, width=88, initial_indent=f"  {name:<30} ",
                               subsequent_indent=" " * 33)
    return "environment:\n" + "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(
        prog="wharf", description=DESCRIPTION + "\n" + environment(), epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    made.add_argument("--as", dest="operator", default=None,
                      help="operator name recorded as the actor (default: your user name)")
    sub = made.add_subparsers(title="commands", metavar="COMMAND")
    for part in (processes, through_api, services, applications, operators, runtime,
                 billing, exports, event_log):
        part.add_commands(sub)
    return made


def main(argv: Sequence[str] | None = None) -> int:
    args_parser = parser()
    args = args_parser.parse_args(argv)
    os.umask(0o077)  # every file Wharf makes (store, logs, backups, keys) is its owner's only
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "run", None):
        args_parser.print_help()
        return 2
    # SIGTERM unwinds like Ctrl-C: every `with` closes what it opened, `wharf up` stops
    # its scheduler after its pass (uvicorn, which catches it while serving, raises it
    # again once the server has stopped).
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        settings = Settings.from_env()
        result: int = args.run(settings, args)
        return result
    except (DomainError, ValueError, OSError, sqlite3.Error, psycopg.Error,
            docker.errors.DockerException) as error:
        # (what a user can put right: a setting, a path, a database or engine not there)
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Terminated:
        return 0  # a stop asked for, and made
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


class Terminated(BaseException):
    """SIGTERM arrived (a BaseException, as KeyboardInterrupt is: no `except Exception`
    on the way out may swallow it)."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated()
