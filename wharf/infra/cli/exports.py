"""`wharf export ...`: a tenant's audit trail and the bills of a month to stdout
(infra/exports.py), read from the store's read models (operators' commands, like
`replay`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wharf.infra import exports
from wharf.infra.bootstrap import build
from wharf.infra.cli.output import tenant_id
from wharf.infra.settings import Settings


def add_commands(sub: Any) -> None:
    export = sub.add_parser("export", help="the audit trail or a month's bills, to stdout")
    verbs = export.add_subparsers(metavar="WHAT")
    p = verbs.add_parser("audit", help="a tenant's audit trail between two times")
    p.add_argument("--tenant", required=True, help="name or id")
    p.add_argument("--since", default="1970-01-01T00:00:00+00:00", help="ISO time")
    p.add_argument("--until", default="9999-12-31T00:00:00+00:00", help="ISO time")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.set_defaults(run=cmd_audit)
    p = verbs.add_parser("bills", help="every tenant's bills of a month, a row per line")
    p.add_argument("--month", required=True, help="YYYY-MM, in WHARF_TIMEZONE")
    p.add_argument("--tenant", help="only this tenant's (name or id)")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.set_defaults(run=cmd_bills)


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    try:
        since, until = exports.utc(args.since), exports.utc(args.until)
    except ValueError:
        print("error: --since and --until are ISO times such as 2026-11-01T00:00Z",
              file=sys.stderr)
        return 2
    with build(settings) as wiring:
        wiring.projector.catch_up()
        rows = exports.audit_rows(wiring.view, str(tenant_id(args.tenant)), since, until)
        for chunk in exports.encode(rows, exports.AUDIT_FIELDS, args.format):
            sys.stdout.write(chunk)
    return 0


def cmd_bills(settings: Settings, args: argparse.Namespace) -> int:
    try:
        lo, hi = exports.month_span(args.month, settings.timezone)
    except ValueError:
        print(f"error: --month {args.month}: YYYY-MM", file=sys.stderr)
        return 2
    tenant = str(tenant_id(args.tenant)) if args.tenant else None
    with build(settings) as wiring:
        wiring.projector.catch_up()
        rows = exports.bill_rows(wiring.view, lo, hi, tenant)
        for chunk in exports.encode(rows, exports.BILL_FIELDS, args.format):
            sys.stdout.write(chunk)
    return 0
