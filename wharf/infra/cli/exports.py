"""`wharf export ...`: a tenant's audit trail and the bills of a month, as JSON Lines,
JSON or CSV on stdout, read a page at a time from the read models (operators' commands
on the store, like `replay`)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from wharf.infra.bootstrap import build
from wharf.infra.cli.output import tenant_id
from wharf.infra.settings import Settings
from wharf.projections.reads import audit as audit_reads
from wharf.projections.reads import billing as billing_reads

PAGE = 1000
AUDIT_FIELDS = ("position", "occurred_at", "tenant_id", "kind", "object_id", "version",
                "type", "actor", "cause", "summary")
BILL_FIELDS = ("bill_id", "tenant_id", "hour", "item", "plan", "plan_version", "quantity",
               "unit_price", "amount", "sources")


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
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.set_defaults(run=cmd_bills)


def _time(text: str) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(
        UTC).isoformat()


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    try:
        since, until = _time(args.since), _time(args.until)
    except ValueError:
        print("error: --since and --until are ISO times such as 2026-11-01T00:00Z",
              file=sys.stderr)
        return 2
    tenant = str(tenant_id(args.tenant))
    with build(settings) as wiring:
        wiring.projector.catch_up()

        def rows() -> Iterator[dict[str, Any]]:
            position = 0
            while page := audit_reads.between(wiring.view, tenant, since, until, position,
                                              PAGE):
                for row in page:
                    yield {field: getattr(row, field) for field in AUDIT_FIELDS}
                position = page[-1].position

        _write(rows(), AUDIT_FIELDS, args.format)
    return 0


def cmd_bills(settings: Settings, args: argparse.Namespace) -> int:
    try:
        year, month = (int(part) for part in args.month.split("-"))
        zone = ZoneInfo(settings.timezone)
        lo = datetime(year, month, 1, tzinfo=zone)
        hi = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    except ValueError:
        print(f"error: --month {args.month}: YYYY-MM", file=sys.stderr)
        return 2
    with build(settings) as wiring:
        wiring.projector.catch_up()

        def rows() -> Iterator[dict[str, Any]]:
            after = ""
            while page := billing_reads.all_bills(wiring.view, lo, hi, after, PAGE):
                for bill in page:
                    for line in bill.lines:
                        yield {"bill_id": bill.id, "tenant_id": bill.tenant_id,
                               "hour": bill.hour.isoformat(), "item": line.item,
                               "plan": line.plan, "plan_version": line.plan_version,
                               "quantity": str(line.quantity),
                               "unit_price": str(line.unit_price),
                               "amount": str(line.amount),
                               "sources": " ".join(str(s) for s in line.sources)}
                after = page[-1].id

        _write(rows(), BILL_FIELDS, args.format)
    return 0


def _write(rows: Iterator[dict[str, Any]], fields: tuple[str, ...], form: str) -> None:
    if form == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif form == "json":  # one array, written as it is read
        sys.stdout.write("[")
        for i, row in enumerate(rows):
            sys.stdout.write(("," if i else "") + "\n" + json.dumps(row, sort_keys=True))
        sys.stdout.write("\n]\n")
    else:
        for row in rows:
            sys.stdout.write(json.dumps(row, sort_keys=True) + "\n")
