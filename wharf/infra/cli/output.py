"""What the commands print: tables, progress lines, and how they name operators and
tenants."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO
from uuid import UUID

from wharf.commands.actors import Actor
from wharf.domain.tenant import Tenant


def operator(args: argparse.Namespace) -> Actor:
    """The operator running the command (`--as`, or the user's login name)."""
    return Actor.operator(args.operator or getpass.getuser())


def tenant_id(ref: str) -> UUID:
    """A tenant given by id or by name."""
    try:
        return UUID(ref)
    except ValueError:
        return Tenant.id_for(ref)


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [[str(r.get(c, "")) if r.get(c) is not None else "-" for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


class Progress:
    """Progress of long work on stderr: one line rewritten in place on a terminal, and
    whole lines (at most one every few seconds) when stderr is a file or a pipe, so that
    a log reads line by line."""

    def __init__(self, what: str, total: int | None = None,
                 stream: TextIO | None = None) -> None:
        self.what = what
        self.total = total
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.every = 0.25 if self.live else 5.0
        self.started = time.monotonic()
        self.last = self.started

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        total = total or self.total
        rate = done / max(now - self.started, 1e-9)
        of = f"/{total}" if total else ""
        line = f"{self.what}: {done}{of} ({rate:,.0f}/s)"
        if self.live:
            print(f"\r{line}", end="", file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)

    def done(self, done: int) -> None:
        elapsed = time.monotonic() - self.started
        start = "\r\033[K" if self.live else ""  # (on a terminal: over the live line)
        print(f"{start}{self.what}: {done} in {elapsed:.1f}s", file=self.stream, flush=True)


def usage(parser: argparse.ArgumentParser) -> int:
    """A command group run without its verb: its help, and the exit code of a misuse."""
    parser.print_help()
    return 2


def ask_api(settings: Any, document: str, variables: dict[str, Any]) -> dict[str, Any] | None:
    """The answer's data through the API (WHARF_URL, WHARF_TOKEN); None, with the error
    printed, when it does not answer or refuses."""
    from wharf.infra.client import ApiError, Client

    try:
        return Client.from_env(settings).query(document, variables)
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def mutate(settings: Any, document: str, variables: dict[str, Any], field: str,
           payload: str, show: Any) -> int:
    """Runs a mutation through the API: `show` its object on success (the `payload`
    type), else print the typed error it answered with. Returns the exit code."""
    data = ask_api(settings, document, variables)
    if data is None:
        return 1
    result = data[field]
    if result["__typename"] == payload:
        show(next(v for k, v in result.items() if k != "__typename"))
        return 0
    details = {k: v for k, v in result.items() if k != "__typename"}
    print(f"error: {result['__typename']} {details}", file=sys.stderr)
    return 1
