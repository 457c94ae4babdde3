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
from wharf.projections.consumers import wait_for_position


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


def test_hosts_show_reserved_and_free_capacity_of_placed_containers(wiring: Wiring) -> None:
    """The scheduler (a later issue) records Placed; the hosts read model follows it."""
    from wharf.domain.container import Container

    op = Actor.operator("test")
    hosts = [wiring.app.handle(m.RegisterHost(
        actor=op, endpoint=f"tcp://127.0.0.1:{2375 + i}", name=f"h{i}", cpu_millis=2000,
        memory_mib=4096, overcommit="1.5")).id for i in range(2)]
    acme = make_tenant(wiring, plan="s")
    ids = [create_container(wiring, acme, f"c{i}", cpu_millis=300, memory_mib=200)
           for i in range(3)]

    def place(container_id: object, host_id: object) -> None:
        container = wiring.app.repository.get(container_id)
        assert isinstance(container, Container)
        container.stamp("system:scheduler", "Reconcile")
        container.place(host_id)  # type: ignore[arg-type]
        wiring.app.save(container)

    place(ids[0], hosts[0])
    place(ids[1], hosts[0])
    place(ids[2], hosts[1])
    place(ids[1], hosts[1])  # moved: released on h0, reserved on h1
    wiring.app.handle(m.DeleteContainer(actor=acme.owner, container_id=ids[2]))
    caught_up(wiring)
    rows = wiring.view.query(
        "SELECT name, reserved_cpu_millis, reserved_memory_mib, containers FROM rm_hosts "
        "ORDER BY name")
    assert rows == [
        {"name": "h0", "reserved_cpu_millis": 300, "reserved_memory_mib": 200, "containers": 1},
        {"name": "h1", "reserved_cpu_millis": 300, "reserved_memory_mib": 200, "containers": 1},
    ]
    assert wiring.view.query("SELECT host_id FROM rm_containers WHERE id = ?",
                             (str(ids[1]),)) == [{"host_id": str(hosts[1])}]


def test_a_new_run_after_an_exit_clears_the_exit_from_the_row(wiring: Wiring) -> None:
    from wharf.commands.answers import TermTaken
    from wharf.projections.reads import containers as container_reads

    scheduler = Actor.system("scheduler")
    host = wiring.app.handle(m.RegisterHost(
        actor=Actor.operator("test"), endpoint="tcp://127.0.0.1:2375", name="h",
        cpu_millis=2000, memory_mib=2048)).id
    acme = make_tenant(wiring, plan="s")
    cid = create_container(wiring, acme, "job", restart_policy="on-failure")
    term = wiring.app.handle(m.TakeLeadership(actor=scheduler, holder="a")).answer_as(
        TermTaken).term
    wiring.app.handle(m.PlaceContainer(actor=scheduler, term=term, container_id=cid,
                                       host_id=host))
    first, exit_, second = ("2026-11-29T10:00:00+00:00", "2026-11-29T10:00:05+00:00",
                            "2026-11-29T10:00:06+00:00")
    wiring.app.handle(m.RecordRun(actor=scheduler, term=term, container_id=cid, generation=1,
                                  started_at=first, finished_at=exit_, running=False,
                                  exit_code=3, oom_killed=True))
    caught_up(wiring)
    row = container_reads.container(wiring.view, str(cid))
    assert row is not None
    assert (row.observed, row.exit_code, row.oom_killed) == ("exited", 3, True)

    wiring.app.handle(m.RestartContainer(actor=scheduler, term=term, container_id=cid,
                                         after_finished_at=exit_))
    wiring.app.handle(m.RecordRun(actor=scheduler, term=term, container_id=cid, generation=1,
                                  started_at=second, finished_at="", running=True))
    caught_up(wiring)
    row = container_reads.container(wiring.view, str(cid))
    assert row is not None
    assert (row.observed, row.exit_code, row.oom_killed, row.started_at, row.restarts) == (
        "running", None, None, second, 1)
