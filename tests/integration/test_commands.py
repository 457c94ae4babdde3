"""The command layer against real stores: every case runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.conftest import DrivenClock
from tests.integration.helpers import caught_up, create_container, make_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.answers import PlanAdded
from wharf.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, QuotaExceeded
from wharf.infra.bootstrap import Wiring


def test_free_plan_allows_two_containers_and_records_the_rejection(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    create_container(wiring, acme, "one")
    create_container(wiring, acme, "two")
    with pytest.raises(QuotaExceeded) as caught:
        create_container(wiring, acme, "three")
    assert caught.value.resource == "containers"
    rows = caught_up(wiring).view.query("SELECT * FROM rm_quota_rejections")
    assert [(r["resource"], r["limit_value"], r["used"], r["requested"]) for r in rows] == [
        ("containers", 2, 2, 1)]
    tenant = wiring.view.query("SELECT containers FROM rm_tenants WHERE id = ?", (str(acme.id),))
    assert tenant == [{"containers": 2}]


def test_retry_with_same_request_id_returns_first_answer_and_writes_nothing(
    wiring: Wiring,
) -> None:
    acme = make_tenant(wiring)
    command = m.CreateContainer(actor=acme.owner, tenant_id=acme.id, name="web",
                                spec={"image": "busybox"}, request_id="req-1")
    first = wiring.app.handle(command)
    head = wiring.app.recorder.max_notification_id()
    again = wiring.app.handle(command)
    assert again.id == first.id
    assert wiring.app.recorder.max_notification_id() == head
    assert again.position >= first.position


def test_retried_rejection_is_answered_once(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    create_container(wiring, acme, "a")
    create_container(wiring, acme, "b")
    command = m.CreateContainer(actor=acme.owner, tenant_id=acme.id, name="c",
                                spec={"image": "busybox"}, request_id="req-c")
    for _ in range(3):
        with pytest.raises(QuotaExceeded):
            wiring.app.handle(command)
    assert len(caught_up(wiring).view.query("SELECT * FROM rm_quota_rejections")) == 1


def test_another_tenants_objects_look_missing(wiring: Wiring) -> None:
    acme = make_tenant(wiring, "acme")
    other = make_tenant(wiring, "other", owner="boss@other.io")
    container_id = create_container(wiring, acme, "web")
    for command in (
        m.StopContainer(actor=other.owner, container_id=container_id),
        m.DeleteContainer(actor=other.owner, container_id=container_id),
        m.CreateContainer(actor=other.owner, tenant_id=acme.id, name="x",
                          spec={"image": "busybox"}),
        m.SetSecret(actor=other.owner, tenant_id=acme.id, name="s", value="v"),
        m.AddMember(actor=other.owner, tenant_id=acme.id, email="x@other.io", role="owner"),
    ):
        with pytest.raises(NotFound):
            wiring.app.handle(command)


def test_viewers_read_only_developers_manage_workloads_owners_manage_members(
    wiring: Wiring,
) -> None:
    acme = make_tenant(wiring)
    for email, role in (("dev@acme.io", "developer"), ("view@acme.io", "viewer")):
        wiring.app.handle(m.AddMember(actor=acme.owner, tenant_id=acme.id, email=email,
                                      role=role))
    dev = Actor.member("dev@acme.io", acme.id)
    viewer = Actor.member("view@acme.io", acme.id)
    with pytest.raises(Forbidden):
        wiring.app.handle(m.CreateContainer(actor=viewer, tenant_id=acme.id, name="v",
                                            spec={"image": "busybox"}))
    container = wiring.app.handle(m.CreateContainer(actor=dev, tenant_id=acme.id, name="d",
                                                    spec={"image": "busybox"}))
    with pytest.raises(Forbidden):
        wiring.app.handle(m.StopContainer(actor=viewer, container_id=container.id))  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        wiring.app.handle(m.AddMember(actor=dev, tenant_id=acme.id, email="x@acme.io",
                                      role="viewer"))
    with pytest.raises(Forbidden):
        wiring.app.handle(m.SuspendTenant(actor=acme.owner, tenant_id=acme.id))


def test_invalid_input_names_the_field_and_writes_nothing(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    head = wiring.app.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as caught:
        wiring.app.handle(m.CreateContainer(actor=acme.owner, tenant_id=acme.id, name="ok",
                                            spec={"image": "busybox", "privileged": True}))
    assert caught.value.field == "privileged"
    with pytest.raises(InvalidInput):
        wiring.app.handle(m.CreateContainer(actor=acme.owner, tenant_id=acme.id,
                                            name="Not A Name", spec={"image": "busybox"}))
    assert wiring.app.recorder.max_notification_id() == head


def test_suspend_stops_workloads_and_resume_starts_them_again(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    running = create_container(wiring, acme, "running")
    stopped = create_container(wiring, acme, "stopped")
    wiring.app.handle(m.StopContainer(actor=acme.owner, container_id=stopped))
    op = Actor.operator("test")
    wiring.app.handle(m.SuspendTenant(actor=op, tenant_id=acme.id))

    def desired() -> dict[str, str]:
        rows = caught_up(wiring).view.query("SELECT name, desired FROM rm_containers")
        return {r["name"]: r["desired"] for r in rows}

    assert desired() == {"running": "stopped", "stopped": "stopped"}
    with pytest.raises(Conflict):
        wiring.app.handle(m.StartContainer(actor=acme.owner, container_id=running))
    wiring.app.handle(m.ResumeTenant(actor=op, tenant_id=acme.id))
    assert desired() == {"running": "running", "stopped": "stopped"}


def test_closing_purges_after_grace_period(wiring: Wiring, clock: DrivenClock) -> None:
    from wharf.schedulers.purge import purge_due_tenants

    acme = make_tenant(wiring)
    create_container(wiring, acme, "web")
    wiring.app.handle(m.CreateVolume(actor=acme.owner, tenant_id=acme.id, name="data",
                                     size_gib=1))
    wiring.app.handle(m.CloseTenant(actor=Actor.operator("test"), tenant_id=acme.id,
                                    grace_hours=24))
    with pytest.raises(Forbidden):
        wiring.app.authenticate(acme.token)
    caught_up(wiring)
    assert purge_due_tenants(wiring.app, wiring.view, clock) == []
    clock.advance(hours=25)
    assert purge_due_tenants(wiring.app, wiring.view, clock) == [acme.id]
    caught_up(wiring)
    assert wiring.view.query("SELECT desired FROM rm_containers") == [{"desired": "deleted"}]
    assert wiring.view.query("SELECT state FROM rm_volumes") == [{"state": "deleted"}]
    assert wiring.view.query("SELECT purged, containers, volume_gib FROM rm_tenants") == [
        {"purged": 1, "containers": 0, "volume_gib": 0}]
    assert purge_due_tenants(wiring.app, wiring.view, clock) == []


def test_tokens_expire_and_can_be_revoked(wiring: Wiring, clock: DrivenClock) -> None:
    acme = make_tenant(wiring)
    issued = wiring.app.handle(m.IssueToken(actor=acme.owner, tenant_id=acme.id,
                                            member="owner@acme.io", ttl_hours=1, name="ci"))
    assert issued.token is not None
    assert wiring.app.authenticate(issued.token) == acme.owner
    with pytest.raises(Forbidden):
        wiring.app.authenticate(issued.token[:-2] + "xx")
    clock.advance(hours=2)
    with pytest.raises(Forbidden):
        wiring.app.authenticate(issued.token)
    wiring.app.handle(m.RevokeToken(actor=acme.owner, token_id=acme_token_id(wiring, acme.token)))
    with pytest.raises(Forbidden):
        wiring.app.authenticate(acme.token)


def acme_token_id(wiring: Wiring, token: str) -> object:
    from uuid import UUID

    return UUID(hex=token.split("_")[1])


def test_volumes_resize_within_plan_and_in_use_ones_stay(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="s")
    volume = wiring.app.handle(m.CreateVolume(actor=acme.owner, tenant_id=acme.id, name="data",
                                              size_gib=2))
    assert volume.id is not None
    wiring.app.handle(m.ResizeVolume(actor=acme.owner, volume_id=volume.id, size_gib=5))
    with pytest.raises(QuotaExceeded):
        wiring.app.handle(m.ResizeVolume(actor=acme.owner, volume_id=volume.id, size_gib=11))
    create_container(wiring, acme, "db", volumes=[{"volume": "data", "path": "/data"}])
    with pytest.raises(Conflict):
        wiring.app.handle(m.DeleteVolume(actor=acme.owner, volume_id=volume.id))
    caught_up(wiring)
    assert wiring.view.query("SELECT size_gib FROM rm_volumes") == [{"size_gib": 5}]
    assert wiring.view.query("SELECT volume_gib FROM rm_tenants") == [{"volume_gib": 5}]


def test_operator_adds_a_plan_version_and_tenant_changes_plan(wiring: Wiring) -> None:
    op = Actor.operator("test")
    added = wiring.app.handle(m.AddPlan(actor=op, name="s", limits={"containers": 20},
                                        prices={"fee_per_hour": "0.1"}, self_service=True))
    assert added.answer == PlanAdded(name="s", version=2)
    acme = make_tenant(wiring)
    wiring.app.handle(m.ChangePlan(actor=acme.owner, tenant_id=acme.id, plan="s"))
    rows = caught_up(wiring).view.query("SELECT plan, plan_version FROM rm_tenants")
    assert rows == [{"plan": "s", "plan_version": 2}]
    with pytest.raises(Forbidden):
        wiring.app.handle(m.AddPlan(actor=acme.owner, name="cheap", limits={}, prices={}))


def test_owners_cannot_give_themselves_an_operator_assigned_plan(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    with pytest.raises(Forbidden, match="assigned by an operator"):
        wiring.app.handle(m.ChangePlan(actor=acme.owner, tenant_id=acme.id, plan="unlimited"))
    wiring.app.handle(m.ChangePlan(actor=Actor.operator("test"), tenant_id=acme.id,
                                   plan="unlimited"))
    rows = caught_up(wiring).view.query("SELECT plan FROM rm_tenants")
    assert rows == [{"plan": "unlimited"}]


def test_concurrent_copies_of_one_request_all_get_the_first_answer(wiring: Wiring) -> None:
    from concurrent.futures import ThreadPoolExecutor

    acme = make_tenant(wiring)
    command = m.CreateContainer(actor=acme.owner, tenant_id=acme.id, name="web",
                                spec={"image": "busybox"}, request_id="same-request")
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: wiring.app.handle(command).id, range(16)))
    assert len(set(answers)) == 1
    assert caught_up(wiring).view.query("SELECT count(*) AS n FROM rm_containers") == [
        {"n": 1}]


def test_request_ids_are_scoped_to_the_command(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    web = wiring.app.handle(m.CreateContainer(actor=acme.owner, tenant_id=acme.id, name="web",
                                              spec={"image": "busybox"}, request_id="r1"))
    volume = wiring.app.handle(m.CreateVolume(actor=acme.owner, tenant_id=acme.id,
                                              name="data", size_gib=1, request_id="r1"))
    assert volume.id != web.id


def test_removed_members_tokens_stay_dead_after_they_are_added_again(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    wiring.app.handle(m.AddMember(actor=acme.owner, tenant_id=acme.id, email="bob@acme.io",
                                  role="developer"))
    bob = Actor.member("bob@acme.io", acme.id)
    token = wiring.app.handle(m.IssueToken(actor=bob, tenant_id=acme.id, member="bob@acme.io",
                                           ttl_hours=24)).token
    assert token is not None and wiring.app.authenticate(token) == bob
    wiring.app.handle(m.RemoveMember(actor=acme.owner, tenant_id=acme.id, email="bob@acme.io"))
    with pytest.raises(Forbidden):
        wiring.app.authenticate(token)
    wiring.app.handle(m.AddMember(actor=acme.owner, tenant_id=acme.id, email="bob@acme.io",
                                  role="viewer"))
    with pytest.raises(Forbidden):
        wiring.app.authenticate(token)


def test_members_issue_expiring_tokens_for_themselves_only(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    wiring.app.handle(m.AddMember(actor=acme.owner, tenant_id=acme.id, email="v@acme.io",
                                  role="viewer"))
    viewer = Actor.member("v@acme.io", acme.id)
    own = wiring.app.handle(m.IssueToken(actor=viewer, tenant_id=acme.id, member="v@acme.io",
                                         ttl_hours=1))
    assert own.token is not None and wiring.app.authenticate(own.token) == viewer
    with pytest.raises(Forbidden):
        wiring.app.handle(m.IssueToken(actor=acme.owner, tenant_id=acme.id,
                                       member="v@acme.io", ttl_hours=1))
    with pytest.raises(InvalidInput) as caught:
        wiring.app.handle(m.IssueToken(actor=viewer, tenant_id=acme.id, member="v@acme.io",
                                       ttl_hours=None))
    assert caught.value.field == "ttl_hours"


def test_a_stop_during_suspension_survives_resume(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    container = create_container(wiring, acme, "web")
    op = Actor.operator("test")
    wiring.app.handle(m.SuspendTenant(actor=op, tenant_id=acme.id))
    wiring.app.handle(m.StopContainer(actor=acme.owner, container_id=container))
    wiring.app.handle(m.ResumeTenant(actor=op, tenant_id=acme.id))
    rows = caught_up(wiring).view.query("SELECT desired FROM rm_containers")
    assert rows == [{"desired": "stopped"}]


def test_hosts_register_drain_and_remove(wiring: Wiring) -> None:
    op = Actor.operator("test")
    host = wiring.app.handle(m.RegisterHost(actor=op, endpoint="unix:///var/run/docker.sock",
                                            name="local", cpu_millis=2000, memory_mib=4096,
                                            overcommit="1.5"))
    assert host.id is not None
    acme = make_tenant(wiring)
    with pytest.raises(Forbidden):
        wiring.app.handle(m.DrainHost(actor=acme.owner, host_id=host.id))
    with pytest.raises(InvalidInput):
        wiring.app.handle(m.RegisterHost(actor=op, endpoint="ftp://x", name="x",
                                         cpu_millis=1, memory_mib=1))
    wiring.app.handle(m.DrainHost(actor=op, host_id=host.id))
    assert caught_up(wiring).view.query("SELECT state, overcommit FROM rm_hosts") == [
        {"state": "draining", "overcommit": "1.5"}]
    wiring.app.handle(m.RemoveHost(actor=op, host_id=host.id))
    assert caught_up(wiring).view.query("SELECT state FROM rm_hosts") == [{"state": "removed"}]
