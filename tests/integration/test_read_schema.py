"""A read model whose tables changed shape (a Wharf upgrade) is rebuilt from the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DrivenClock, settings_for
from tests.integration.helpers import create_container, make_tenant
from wharf.infra.bootstrap import build


def test_a_changed_read_model_is_dropped_and_projected_again(
    store_url: str, tmp_path: Path
) -> None:
    settings = settings_for(store_url, tmp_path / "home")
    wiring = build(settings, clock=DrivenClock())
    tenant = make_tenant(wiring, plan="unlimited")
    container = create_container(wiring, tenant, "web")
    wiring.projector.catch_up()
    # As an older Wharf left it: a table without a column this one has, and its digest.
    wiring.view.execute([
        ("DROP TABLE rm_containers", [()]),
        ("CREATE TABLE rm_containers (id TEXT PRIMARY KEY, name TEXT)", [()]),
        ("UPDATE wharf_read_schema SET digest = 'old' WHERE name = 'containers'", [()]),
    ])
    wiring.close()

    again = build(settings, clock=DrivenClock())
    try:
        assert again.view.position("containers") == 0
        assert again.view.position("tenants") > 0  # untouched read models keep their place
        again.projector.catch_up()
        [row] = again.view.query("SELECT id, name, observed, failure FROM rm_containers")
        assert row == {"id": str(container), "name": "web", "observed": "pending",
                       "failure": None}
    finally:
        again.close()


def test_a_read_model_whose_version_rose_is_projected_again(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows that say something new in tables of the same shape (a summary worded anew)."""
    from wharf.projections.audit import AuditTrail

    settings = settings_for(store_url, tmp_path / "home")
    wiring = build(settings, clock=DrivenClock())
    make_tenant(wiring)
    wiring.projector.catch_up()
    wiring.view.execute([("UPDATE rm_audit SET summary = 'worded the old way'", [()])])
    wiring.close()

    monkeypatch.setattr(AuditTrail, "version", AuditTrail.version + 1)
    again = build(settings, clock=DrivenClock())
    try:
        assert again.view.position("audit") == 0
        again.projector.catch_up()
        summaries = [r["summary"] for r in again.view.query("SELECT summary FROM rm_audit")]
        assert summaries and "worded the old way" not in summaries
    finally:
        again.close()
