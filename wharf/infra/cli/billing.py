"""`wharf billing ...`: closing hours into bills on the store itself (an operator's
command, like `replay`), and reading them."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from wharf.domain.billing import hour_of
from wharf.domain.moments import parse_moment
from wharf.infra.bootstrap import build
from wharf.infra.cli.output import Progress, operator, tenant_id
from wharf.infra.settings import Settings
from wharf.projections.reads import billing as billing_reads
from wharf.schedulers.billing import GRACE, close_hours


def add_commands(sub: Any) -> None:
    billing = sub.add_parser("billing", help="close hours into bills, and read them")
    verbs = billing.add_subparsers(metavar="ACTION")
    p = verbs.add_parser("run", help="close every tenant-hour that ended by --until",
                         description="Closes, for every tenant, each hour that ended by "
                                     "--until and has no bill yet, in order, with one bill "
                                     "priced from the log (as the leader's billing timer "
                                     "does). Closing an hour twice changes nothing.")
    p.add_argument("--until", help="an ISO time (default: a minute ago)")
    p.set_defaults(run=cmd_run)
    p = verbs.add_parser("show", help="a tenant's bills summed by hour, day or month")
    p.add_argument("tenant", help="name or id")
    p.add_argument("--period", choices=("hour", "day", "month"), default="day")
    p.add_argument("--from", dest="since", help="ISO time (default: 31 days ago)")
    p.add_argument("--to", dest="until", help="ISO time (default: now)")
    p.set_defaults(run=cmd_show)


def _time(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    return parse_moment(text)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        until = _time(args.until, datetime.now(UTC) - GRACE)
    except ValueError:
        print(f"error: --until {args.until}: an ISO time such as 2026-12-01T00:00Z",
              file=sys.stderr)
        return 2
    now = datetime.now(UTC) - GRACE  # (an hour that has not ended is never closed)
    with build(settings) as wiring:
        progress = Progress("closing tenant-hours")
        closed = close_hours(wiring.app, wiring.view, until, wiring.projector.catch_up,
                             operator(args), progress, wiring.metrics.sent)
        progress.done(closed)
    print(f"closed {closed} tenant-hour(s) up to {hour_of(min(until, now)).isoformat()}")
    return 0


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    try:
        lo, hi = _time(args.since, now - timedelta(days=31)), _time(args.until, now)
    except ValueError:
        print("error: --from and --to are ISO times such as 2026-12-01T00:00Z",
              file=sys.stderr)
        return 2
    with build(settings) as wiring:
        wiring.projector.catch_up()
        rows = billing_reads.totals(wiring.view, str(tenant_id(args.tenant)), args.period,
                                    lo, hi, settings.timezone)
    print(f"{'FROM':<26} {'HOURS':>5} {'TOTAL CNY':>12}  ITEMS")
    for row in rows:
        items = ", ".join(f"{k} {v}" for k, v in sorted(row.items.items()))
        print(f"{row.start.isoformat():<26} {row.hours:>5} {row.total:>12}  {items}")
    return 0
