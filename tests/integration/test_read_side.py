"""Read-your-writes, and the audit trail."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import settings_for
from tests.integration.helpers import caught_up, create_container, make_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.infra.bootstrap import Wiring, build
from wharf.projections.runner import wait_for_position


def test_writer_waits_for_the_projector_in_the_same_process(wiring: Wiring) -> None:
    runner = threading.Thread(target=wiring.projector.run_forever, daemon=True)
    runner.start()
    try:
        acme = make_tenant(wiring)
        outcome = wiring.app.handle(m.CreateContainer(
            actor=acme.owner, tenant_id=acme.id, name="web", spec={"image": "busybox"}))
        wiring.projector.wait(outcome.position, timeout=10)
        rows = wiring.view.query("SELECT name FROM rm_containers WHERE id = ?",
                                 (str(outcome.id),))
        assert rows == [{"name": "web"}]
    finally:
        wiring.projector.stop()
        runner.join(5)


def test_waiting_times_out_when_nothing_projects(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    with pytest.raises(TimeoutError):
        wiring.projector.wait(wiring.app.recorder.max_notification_id() or 0, timeout=0.2)
    caught_up(wiring)
    wiring.projector.wait(wiring.app.recorder.max_notification_id() or 0, timeout=0.2)
    assert acme.id


def test_another_process_polls_until_the_read_side_catches_up(
    store_url: str, tmp_path: Path
) -> None:
    writer = build(settings_for(store_url, tmp_path))
    projector = build(settings_for(store_url, tmp_path))
    runner = threading.Thread(target=projector.projector.run_forever, daemon=True)
    try:
        make_tenant(writer)
        position = writer.app.recorder.max_notification_id() or 0
        runner.start()
        wait_for_position(writer.view, position, timeout=10)
        assert writer.view.query("SELECT name FROM rm_tenants") == [{"name": "acme"}]
    finally:
        projector.projector.stop()
        runner.join(5)
        writer.close()
        projector.close()


def test_audit_trail_has_every_tenant_event_with_actor_cause_and_summary(
    wiring: Wiring,
) -> None:
    acme = make_tenant(wiring)
    other = make_tenant(wiring, "other", owner="o@other.io")
    container = create_container(wiring, acme, "web", env={"PASSWORD": "plain-env-value"})
    wiring.app.handle(m.StopContainer(actor=acme.owner, container_id=container,
                                      request_id="stop-1"))
    wiring.app.handle(m.AddMember(actor=acme.owner, tenant_id=acme.id, email="d@acme.io",
                                  role="developer"))
    wiring.app.handle(m.SuspendTenant(actor=Actor.operator("ops"), tenant_id=acme.id))
    create_container(wiring, other, "elsewhere")
    rows = caught_up(wiring).view.query(
        "SELECT type, actor, cause, summary FROM rm_audit WHERE tenant_id = ? "
        "ORDER BY position", (str(acme.id),))
    assert [(r["type"], r["actor"], r["cause"]) for r in rows] == [
        ("Tenant.Registered", "operator:test", "CreateTenant"),
        ("Token.Issued", "operator:test", "CreateTenant"),
        ("Tenant.ContainerReserved", "member:owner@acme.io", "CreateContainer"),
        ("Container.Created", "member:owner@acme.io", "CreateContainer"),
        ("Container.StopRequested", "member:owner@acme.io", "StopContainer:stop-1"),
        ("Tenant.MemberAdded", "member:owner@acme.io", "AddMember"),
        ("Tenant.Suspended", "operator:ops", "SuspendTenant"),
    ]
    created = rows[3]["summary"]
    assert created == ("container web created from busybox (env: PASSWORD; secrets: none), "
                       "desired running")
    assert "plain-env-value" not in repr(rows)
