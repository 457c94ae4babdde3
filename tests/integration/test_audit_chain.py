"""The hash-chained audit trail: `wharf audit verify` holds on a tenant's trail as Wharf
wrote it, and after one row is altered, removed or reordered directly in the database
(SQLite and PostgreSQL) it fails naming the entry; other tenants' chains still hold."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.integration.helpers import caught_up, create_container, make_tenant, wharf
from wharf.commands import messages as m
from wharf.domain.tenant import Tenant
from wharf.infra.bootstrap import Wiring
from wharf.infra.store import kind_of, sqlite_path
from wharf.projections.audit_chain import GENESIS, link, verify


def tamper(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    """A statement run on the database behind Wharf's back."""
    if kind_of(url) == "sqlite":
        with sqlite3.connect(sqlite_path(url)) as db:
            db.execute(sql, params)
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]


def positions(wiring: Wiring, tenant: str) -> list[int]:
    return [int(r["position"]) for r in wiring.view.query(
        "SELECT position FROM rm_audit WHERE tenant_id = ? ORDER BY position", (tenant,))]


@pytest.fixture
def trail(wiring: Wiring) -> Wiring:
    for name in ("acme", "globex"):
        tenant = make_tenant(wiring, name)
        wiring.app.handle(m.SetSecret(actor=tenant.owner, tenant_id=tenant.id, name="db",
                                      value="pw"))
        container = create_container(wiring, tenant, "web")
        wiring.app.handle(m.StopContainer(actor=tenant.owner, container_id=container))
        wiring.app.handle(m.StartContainer(actor=tenant.owner, container_id=container))
    return caught_up(wiring)


def verify_cli(wiring: Wiring, home: Path, tenant: str) -> tuple[int, str]:
    done = wharf(str(wiring.settings.database_url), home, "audit", "verify", "--tenant",
                 tenant, ok=False)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("damage", ["altered", "removed", "reordered", "last removed",
                                    "retyped", "head relinked", "all removed"])
def test_verify_names_the_entry_that_was_tampered_with(
    trail: Wiring, tmp_path: Path, damage: str,
) -> None:
    home, url = tmp_path / "home", str(trail.settings.database_url)
    acme = str(Tenant.id_for("acme"))
    entries = positions(trail, acme)
    assert len(entries) >= 6
    code, said = verify_cli(trail, home, "acme")
    assert code == 0 and f"{len(entries)} entries, the chain holds" in said, said

    third, fourth = entries[2], entries[3]
    if damage == "altered":
        tamper(url, "UPDATE rm_audit SET actor = 'member:mallory' WHERE position = ?", (third,))
        named = third
    elif damage == "removed":
        tamper(url, "DELETE FROM rm_audit WHERE position = ?", (third,))
        named = fourth  # the first entry whose link no longer holds
    elif damage == "reordered":  # two entries' contents swapped between their positions
        tamper(url, "UPDATE rm_audit SET position = -1 WHERE position = ?", (third,))
        tamper(url, "UPDATE rm_audit SET position = ? WHERE position = ?", (third, fourth))
        tamper(url, "UPDATE rm_audit SET position = ? WHERE position = -1", (fourth,))
        named = third
    elif damage == "last removed":
        tamper(url, "DELETE FROM rm_audit WHERE position = ?", (entries[-1],))
        named = entries[-2]
    elif damage == "retyped":  # a value stored as another type (a crash, before; only
        # SQLite lets a column hold another type: PostgreSQL gets another number)
        tamper(url, "UPDATE rm_audit SET version = ? WHERE position = ?",
               ("seven" if kind_of(url) == "sqlite" else -7, third))
        named = third
    elif damage == "head relinked":
        tamper(url, "UPDATE rm_audit_heads SET chain = ? WHERE tenant_id = ?", ("0" * 64, acme))
        named = entries[-1]
    else:  # the whole trail and its head: not the same as a tenant that never was
        tamper(url, "DELETE FROM rm_audit WHERE tenant_id = ?", (acme,))
        tamper(url, "DELETE FROM rm_audit_heads WHERE tenant_id = ?", (acme,))
        code, said = verify_cli(trail, home, "acme")
        assert code == 1 and "BROKEN" in said and "were removed" in said, said
        return
    code, said = verify_cli(trail, home, "acme")
    assert code == 1, said
    assert "BROKEN" in said and f"entry {named}" in said, said
    assert "Traceback" not in said
    if damage == "altered":
        assert "member:mallory" in said  # the entry as it now reads
    code, said = verify_cli(trail, home, "globex")
    assert code == 0 and "the chain holds" in said, said


def test_verify_of_an_unknown_tenant_says_so(trail: Wiring, tmp_path: Path) -> None:
    code, said = verify_cli(trail, tmp_path / "home", "nobody")
    assert code == 1 and "no tenant nobody in the log" in said
    # A tenant named "operators" is a tenant: the operators' chain is asked for by flag.
    make_tenant(trail, "operators")
    caught_up(trail)
    code, said = verify_cli(trail, tmp_path / "home", "operators")
    assert code == 0 and "audit trail of operators:" in said, said
    done = wharf(str(trail.settings.database_url), tmp_path / "home", "audit", "verify",
                 "--operators")
    assert "audit trail of the operators:" in done.stdout and "the chain holds" in done.stdout


def test_a_chain_links_in_order_and_breaks_where_it_was_changed() -> None:
    rows = [(p, "t", "o", "container", p, "2026-11-30T00:00:00", "a", "c", "T", f"s{p}")
            for p in (3, 5, 9)]
    links, previous = [], GENESIS
    for row in rows:
        previous = link(previous, row)
        links.append(previous)
    head = (9, links[-1], 3)
    assert verify(zip(rows, links, strict=True), head) == (3, None)
    changed = [rows[0], (*rows[1][:9], "other"), rows[2]]
    checked, broken = verify(zip(changed, links, strict=True), head)
    assert checked == 1 and broken is not None and broken.position == 5
    checked, broken = verify(zip(rows[:2], links[:2], strict=True), head)  # tail removed
    assert checked == 2 and broken is not None and "head says entry 9 after 3" in broken.what
    assert verify(iter([]), None) == (0, None)
