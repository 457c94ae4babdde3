"""A month of hourly bills: WHARF_BENCH_TENANTS tenants (1,000) on the `s` plan, each
with a container started at the month's start, closed hour by hour for 720 hours by
`close_hours` (the billing tick's work: read what each tenant held, price each hour,
record the bills in each tenant's month ledger), on SQLite and PostgreSQL (goal: 720,000
tenant-hours in <= 30 s on SQLite). Beside it, the same bills' ledgers made in memory and
appended raw (`app.save`), as a ratio."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import scratch_store
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.billing import HOUR, Ledger, Line
from wharf.infra.bootstrap import build
from wharf.infra.settings import Settings
from wharf.schedulers.billing import close_hours

START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS = 720


class Clock:
    def __init__(self) -> None:
        self.current = START

    def now(self) -> datetime:
        return self.current


def month_of_bills(url: str, tenants: int) -> tuple[float, int]:
    """Seconds to close every tenant-hour of the month, and how many bills."""
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="wharf-bench-home-") as home, build(
            Settings.from_env({"WHARF_HOME": home, "WHARF_DATABASE_URL": url}),
            clock=clock) as wiring:
        operator = Actor.operator("bench")
        for i in range(tenants):
            made = wiring.app.handle(m.CreateTenant(actor=operator, name=f"bench-{i}",
                                                    plan="s", owner=f"o@b{i}.io"))
            assert made.token is not None
        clock.current = START + timedelta(days=30, minutes=5)
        wiring.projector.catch_up()
        started = time.perf_counter()
        closed = close_hours(wiring.app, wiring.view, clock.now(), wiring.projector.catch_up)
        elapsed = time.perf_counter() - started
    assert closed == tenants * HOURS, closed
    return elapsed, closed


def raw_appends(url: str, tenants: int) -> float:
    """Seconds to save the same bills made in memory: each tenant's month ledger closing
    its 720 hours, about 1,000 bills a save (as `close_hours` sends them)."""
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="wharf-bench-home-") as home, build(
            Settings.from_env({"WHARF_HOME": home, "WHARF_DATABASE_URL": url}),
            clock=clock) as wiring:
        fee = Line("fee", "s", 1, Decimal(1), Decimal("0.0806"), Decimal("0.0806"), (1,))
        started = time.perf_counter()
        pending: list[Ledger] = []
        for _ in range(tenants):
            tenant = uuid.uuid4()
            ledger = Ledger.create(at=START, id=Ledger.id_for(tenant, START), tenant_id=tenant,
                                   month=START.strftime("%Y-%m"), actor="system:billing",
                                   cause="CloseHours")
            for first in range(0, HOURS, 1000):
                ledger.close([(START + i * HOUR, [fee])
                              for i in range(first, min(first + 1000, HOURS))])
            pending.append(ledger)
            if len(pending) * HOURS >= 1000:
                wiring.app.save(*pending)
                pending = []
        if pending:
            wiring.app.save(*pending)
        return time.perf_counter() - started


def run() -> list[str]:
    tenants = int(os.environ.get("WHARF_BENCH_TENANTS", "1000"))
    lines = []
    for kind in ("sqlite", "postgres"):
        with scratch_store(kind) as url:
            seconds, bills = month_of_bills(url, tenants)
        with scratch_store(kind) as url:
            raw = raw_appends(url, tenants)
        goal = "   (goal <= 30 s for 720,000)" if kind == "sqlite" else ""
        lines.append(f"bills      {kind:<8} {bills:,} tenant-hours closed in {seconds:6.1f} s "
                     f"({bills / seconds:,.0f}/s); raw appends of the same bills' ledgers "
                     f"{raw:6.1f} s; ratio {seconds / raw:4.1f}x{goal}")
        print(lines[-1], flush=True)
    return lines


if __name__ == "__main__":
    run()
