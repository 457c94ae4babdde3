"""`wharf runtime ...`: which runtime runs this installation's workloads, and moving them
from one to the other with the plan shown first (infra/runtime_switch.py)."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from wharf.infra import runtime_switch
from wharf.infra.bootstrap import build
from wharf.infra.cli.output import table
from wharf.infra.leader import leadership
from wharf.infra.settings import Settings


def add_commands(sub: Any) -> None:
    runtime = sub.add_parser(
        "runtime", help="which runtime runs the workloads; move them to the other one"
    ).add_subparsers(metavar="ACTION")
    p = runtime.add_parser("show", help="the runtime in use and where each workload runs")
    p.set_defaults(run=cmd_show)
    p = runtime.add_parser(
        "switch", help="move every workload to the other runtime (the plan first)",
        description="Shows what moves: every container not deleted, where it runs, and what "
                    "the other runtime does with it. With --yes, stop `wharf up` first: "
                    "it takes every workload down where it runs (each host's engine, or "
                    "the swarm's services), records the switch, and from then on Wharf "
                    "starts only with WHARF_RUNTIME set to the new runtime.")
    p.add_argument("--to", required=True, choices=("direct", "swarm"))
    p.add_argument("--yes", action="store_true", help="switch (without it: the plan only)")
    p.set_defaults(run=cmd_switch)


def _plan(wiring: Any, to: str) -> None:
    moves = runtime_switch.plan(wiring, to)
    table([{"container": m.name, "tenant": m.tenant, "now": m.where, "then": m.becomes}
           for m in moves], ("container", "tenant", "now", "then"))
    print(f"{len(moves)} containers")


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        using = runtime_switch.current(wiring)
        print(f"runtime: {using}" + ("" if wiring.app.runtime() else " (never switched: "
                                      "WHARF_RUNTIME decides)"))
        _plan(wiring, using)
    return 0


def cmd_switch(settings: Settings, args: argparse.Namespace) -> int:
    with build(settings) as wiring:
        using = runtime_switch.current(wiring)
        if using == args.to:
            print(f"this installation already runs on {args.to}", file=sys.stderr)
            return 1
        print(f"plan: from {using} to {args.to}")
        _plan(wiring, args.to)
        if not args.yes:
            print("nothing changed: run again with --yes to switch (stop `wharf up` first)")
            return 0
        # Only while no Wharf leads the scheduler: a running one would make again what
        # the switch takes down.
        now = threading.Event()
        now.set()
        with leadership(settings, stop=now) as leads:
            if not leads:
                print("error: a Wharf is running (it leads the scheduler): stop `wharf up` "
                      "and `wharf scheduler` first; nothing was switched", file=sys.stderr)
                return 1
            try:
                taken = runtime_switch.switch(wiring, args.to, lambda line: print(
                    line, flush=True))
            except runtime_switch.SwitchRefused as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
        print(f"switched to {args.to}: {taken} containers taken down; start Wharf with "
              f"WHARF_RUNTIME={args.to}")
    return 0
