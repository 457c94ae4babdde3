"""Exports from the CLI, on a store a driven clock filled: every line of a month's bills
as CSV and JSON, and a tenant's audit trail between two times as JSON Lines and CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tests.conftest import DrivenClock, settings_for
from tests.integration.helpers import caught_up, create_container, make_tenant, wharf
from wharf.infra.bootstrap import build
from wharf.projections.reads import billing as billing_reads
from wharf.schedulers.billing import close_hours


def test_a_months_bills_and_a_tenants_trail_are_exported_whole(
    sqlite_url: str, tmp_path: Path,
) -> None:
    clock = DrivenClock()  # 2026-11-01 09:00 UTC
    with build(settings_for(sqlite_url, tmp_path), clock=clock) as wiring:
        acme = make_tenant(wiring, "acme", plan="s")
        make_tenant(wiring, "globex", plan="m", owner="o@globex.io")
        clock.advance(hours=1)
        create_container(wiring, acme, "web")
        clock.advance(hours=3)
        close_hours(wiring.app, wiring.view, clock.now(), lambda: caught_up(wiring))
        bills = billing_reads.totals(caught_up(wiring).view, None, "month",
                                     clock.now() - timedelta(days=1), clock.now(), "UTC")
    [month] = bills
    assert month.hours == 6  # two tenants, three hours each

    out = wharf(sqlite_url, tmp_path, "export", "bills", "--month", "2026-11").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 6 and {r["item"] for r in rows} == {"fee"}
    assert sum(Decimal(r["amount"]) for r in rows) == month.total
    assert {r["plan"] for r in rows} == {"s", "m"} and all(r["sources"] for r in rows)
    as_json = json.loads(wharf(sqlite_url, tmp_path, "export", "bills", "--month", "2026-11",
                               "--format", "json").stdout)
    assert sorted(r["amount"] for r in as_json) == sorted(r["amount"] for r in rows)
    assert wharf(sqlite_url, tmp_path, "export", "bills", "--month",
                 "2026-10").stdout.splitlines() == [",".join(
                     ("bill_id", "tenant_id", "hour", "item", "plan", "plan_version",
                      "quantity", "unit_price", "amount", "sources"))]

    trail = [json.loads(line) for line in wharf(
        sqlite_url, tmp_path, "export", "audit", "--tenant", "acme", "--since",
        "2026-11-01T09:30:00Z", "--until", "2026-11-01T11:00:00Z").stdout.splitlines()]
    assert [(e["type"], e["kind"]) for e in trail] == [
        ("Tenant.ContainerReserved", "tenant"), ("Container.Created", "container")]
    assert all(e["occurred_at"].startswith("2026-11-01T10:00") for e in trail)
    rows = list(csv.DictReader(io.StringIO(wharf(
        sqlite_url, tmp_path, "export", "audit", "--tenant", "acme", "--format",
        "csv").stdout)))
    assert rows[0]["type"] == "Tenant.Registered" and len(rows) == len(trail) + 2
    shown = wharf(sqlite_url, tmp_path, "billing", "show", "acme", "--period", "day",
                  "--from", "2026-11-01T00:00Z", "--to", "2026-11-02T00:00Z").stdout
    assert re.search(r"^2026-11-01T00:00:00\+00:00\s+3\s+0\.2418\s+fee 0\.2418$", shown,
                     re.M), shown  # acme's three hours on s: 3 x 0.0806
    bad = wharf(sqlite_url, tmp_path, "export", "bills", "--month", "November", ok=False)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
