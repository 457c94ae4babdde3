"""Services on the command layer and the read side (SQLite and PostgreSQL): replicas
are containers the service owns, made and deleted in the service's own save, and counted
against the tenant's plan as containers are."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest

from tests.integration.helpers import TenantHandle, caught_up, create_container, make_tenant
from wharf.commands import messages as m
from wharf.domain.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from wharf.infra.bootstrap import Wiring
from wharf.projections.reads import services as service_reads


def create_service(wiring: Wiring, tenant: TenantHandle, name: str = "web",
                   replicas: int = 3, **fields: Any) -> UUID:
    spec = {"image": "busybox", **fields.pop("spec", {})}
    outcome = wiring.app.handle(m.CreateService(
        actor=tenant.owner, tenant_id=tenant.id, name=name, spec=spec, replicas=replicas,
        **fields))
    assert outcome.id is not None
    return outcome.id


def replicas(wiring: Wiring, service_id: UUID) -> list[tuple[str, str]]:
    rows = caught_up(wiring).view.query(
        "SELECT name, desired FROM rm_containers WHERE service_id = ? ORDER BY name",
        (str(service_id),))
    return [(r["name"], r["desired"]) for r in rows]


def usage(wiring: Wiring, tenant: TenantHandle) -> int:
    [row] = caught_up(wiring).view.query("SELECT containers FROM rm_tenants WHERE id = ?",
                                         (str(tenant.id),))
    return int(row["containers"])


def test_a_service_is_its_replicas_and_scaling_makes_and_deletes_them(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    web = create_service(wiring, acme, replicas=3)
    assert replicas(wiring, web) == [("web.1", "running"), ("web.2", "running"),
                                     ("web.3", "running")]
    assert usage(wiring, acme) == 3
    wiring.app.handle(m.ScaleService(actor=acme.owner, service_id=web, replicas=5))
    wiring.app.handle(m.ScaleService(actor=acme.owner, service_id=web, replicas=2))
    assert replicas(wiring, web) == [
        ("web.1", "running"), ("web.2", "running"), ("web.3", "deleted"),
        ("web.4", "deleted"), ("web.5", "deleted")]
    assert usage(wiring, acme) == 2
    row = service_reads.service(wiring.view, str(web))
    assert row is not None and (row.replicas, row.desired) == (2, "running")
    # A scale back up takes new slots: a deleted replica's name is never reused while
    # its container may still be on its way out.
    wiring.app.handle(m.ScaleService(actor=acme.owner, service_id=web, replicas=3))
    assert ("web.6", "running") in replicas(wiring, web)


def test_stop_start_and_delete_carry_every_replica(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    web = create_service(wiring, acme, replicas=2)
    wiring.app.handle(m.StopService(actor=acme.owner, service_id=web))
    assert replicas(wiring, web) == [("web.1", "stopped"), ("web.2", "stopped")]
    wiring.app.handle(m.ScaleService(actor=acme.owner, service_id=web, replicas=3))
    assert replicas(wiring, web)[-1] == ("web.3", "stopped")  # as its service is
    wiring.app.handle(m.StartService(actor=acme.owner, service_id=web))
    assert {d for _, d in replicas(wiring, web)} == {"running"}
    wiring.app.handle(m.DeleteService(actor=acme.owner, service_id=web))
    assert {d for _, d in replicas(wiring, web)} == {"deleted"}
    assert usage(wiring, acme) == 0
    with pytest.raises(Conflict):
        wiring.app.handle(m.ScaleService(actor=acme.owner, service_id=web, replicas=1))
    again = create_service(wiring, acme, replicas=1)  # its name is free again
    assert replicas(wiring, again) == [("web.1", "running")]


def test_a_scale_past_the_plan_is_refused_with_its_numbers_and_records_nothing(
    wiring: Wiring,
) -> None:
    acme = make_tenant(wiring)  # free: two containers
    create_container(wiring, acme, "one")
    head = wiring.app.recorder.max_notification_id()
    with pytest.raises(QuotaExceeded) as caught:
        create_service(wiring, acme, replicas=2)
    assert (caught.value.resource, caught.value.limit, caught.value.used,
            caught.value.requested) == ("containers", 2, 1, 2)
    web = create_service(wiring, acme, replicas=1)
    with pytest.raises(QuotaExceeded) as caught:
        wiring.app.handle(m.ScaleService(actor=acme.owner, service_id=web, replicas=4))
    assert (caught.value.limit, caught.value.used, caught.value.requested) == (2, 2, 3)
    assert replicas(wiring, web) == [("web.1", "running")]
    assert head is not None and usage(wiring, acme) == 2


def test_replicas_are_the_services_to_command(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    web = create_service(wiring, acme, replicas=1)
    [row] = caught_up(wiring).view.query(
        "SELECT id FROM rm_containers WHERE service_id = ?", (str(web),))
    for command in (m.StopContainer, m.DeleteContainer, m.StartContainer):
        with pytest.raises(Conflict, match="replica of a service"):
            wiring.app.handle(command(actor=acme.owner, container_id=UUID(row["id"])))


def test_services_and_containers_share_one_namespace(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    create_container(wiring, acme, "db")
    with pytest.raises(Conflict, match="container named db"):
        create_service(wiring, acme, "db")
    create_service(wiring, acme, "web")
    with pytest.raises(Conflict, match="service named web"):
        create_container(wiring, acme, "web")
    with pytest.raises(Conflict, match="service named web"):
        create_service(wiring, acme, "web")


@pytest.mark.parametrize(("fields", "field"), [
    ({"replicas": 201}, "replicas"),
    ({"replicas": -1}, "replicas"),
    ({"category": "gpu"}, "category"),
    ({"spec": {"ports": [{"container_port": 80, "host_port": 20080}]}}, "ports[0].host_port"),
    ({"balanced": [8080], "spec": {"ports": [{"container_port": 80}]}}, "ports"),
    ({"balanced": [53], "spec": {"ports": [{"container_port": 53, "protocol": "udp"}]}},
     "ports"),
    ({"spec": {"privileged": True}}, "privileged"),
])
def test_bad_input_names_its_field_and_records_nothing(
    wiring: Wiring, fields: dict[str, Any], field: str,
) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    head = wiring.app.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as caught:
        create_service(wiring, acme, **fields)
    assert caught.value.field == field
    assert wiring.app.recorder.max_notification_id() == head


def test_another_tenants_service_looks_missing(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    other = make_tenant(wiring, "other", plan="unlimited", owner="boss@other.io")
    web = create_service(wiring, acme, replicas=1)
    for command in (m.StopService(actor=other.owner, service_id=web),
                    m.ScaleService(actor=other.owner, service_id=web, replicas=0),
                    m.DeleteService(actor=other.owner, service_id=web)):
        with pytest.raises(NotFound):
            wiring.app.handle(command)
    assert replicas(wiring, web) == [("web.1", "running")]


def test_an_autoscale_past_the_plan_is_recorded_and_spares_other_services(
    wiring: Wiring,
) -> None:
    # (an outside attack's finding: one tenant's policy past its plan stopped the
    # autoscaler for every tenant)
    from datetime import timedelta

    from wharf.schedulers.autoscale import autoscale

    tiny = make_tenant(wiring)  # free: two containers
    big = make_tenant(wiring, "big", plan="unlimited", owner="o@big.io")
    stuck = create_service(wiring, tiny, replicas=1)
    fine = create_service(wiring, big, replicas=1)
    for tenant, service in ((tiny, stuck), (big, fine)):
        wiring.app.handle(m.SetAutoscalePolicy(actor=tenant.owner, service_id=service,
                                               min=5, max=6, cpu_percent=50, cooldown_s=1))

    class NoSamples:
        def recent(self, targets: Any, since: Any) -> dict[str, tuple[float, int]]:
            return {}

    caught_up(wiring)
    assert autoscale(wiring.app, wiring.view, NoSamples(), wiring.app.clock,
                     timedelta(seconds=30)) == 1
    assert len(replicas(wiring, fine)) == 5 and len(replicas(wiring, stuck)) == 1
    rows = caught_up(wiring).view.query("SELECT resource, requested FROM rm_quota_rejections")
    assert rows == [{"resource": "containers", "requested": 4}]


def _mounts(wiring: Wiring, service_id: UUID) -> dict[str, tuple[str, list[str]]]:
    rows = caught_up(wiring).view.query(
        "SELECT name, desired, spec FROM rm_containers WHERE service_id = ? ORDER BY name",
        (str(service_id),))
    return {r["name"]: (r["desired"], [v["volume"] for v in json.loads(r["spec"])["volumes"]])
            for r in rows if r["desired"] != "deleted"}


def _volumes(wiring: Wiring, tenant: TenantHandle) -> list[str]:
    return [r["name"] for r in caught_up(wiring).view.query(
        "SELECT name FROM rm_volumes WHERE tenant_id = ? AND state != 'deleted' ORDER BY name",
        (str(tenant.id),))]


def test_a_data_service_keeps_a_volume_per_replica_across_scales(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    db = create_service(wiring, acme, "db", replicas=2, category="data",
                        spec={"volumes": [{"volume": "pgdata", "path": "/var/lib/data"}]})
    assert _mounts(wiring, db) == {"db.1": ("running", ["db.1.pgdata"]),
                                   "db.2": ("running", ["db.2.pgdata"])}
    assert _volumes(wiring, acme) == ["db.1.pgdata", "db.2.pgdata"]
    # Scaled down, the replica goes and its volume stays; scaled up again, the slot comes
    # back with it (not a new volume).
    wiring.app.handle(m.ScaleService(actor=acme.owner, service_id=db, replicas=1))
    assert _mounts(wiring, db) == {"db.1": ("running", ["db.1.pgdata"])}
    wiring.app.handle(m.ScaleService(actor=acme.owner, service_id=db, replicas=3))
    assert _mounts(wiring, db) == {"db.1": ("running", ["db.1.pgdata"]),
                                   "db.2": ("running", ["db.2.pgdata"]),
                                   "db.3": ("running", ["db.3.pgdata"])}
    assert _volumes(wiring, acme) == ["db.1.pgdata", "db.2.pgdata", "db.3.pgdata"]
    # Another data service mounting a volume of the same name gets volumes of its own.
    other = create_service(wiring, acme, "db2", replicas=1, category="data",
                           spec={"volumes": [{"volume": "pgdata", "path": "/var/lib/data"}]})
    assert _mounts(wiring, other) == {"db2.1": ("running", ["db2.1.pgdata"])}
    wiring.app.handle(m.DeleteService(actor=acme.owner, service_id=other))
    # Deleting the service keeps its data: the volumes are the tenant's to delete.
    wiring.app.handle(m.DeleteService(actor=acme.owner, service_id=db))
    assert _volumes(wiring, acme) == ["db.1.pgdata", "db.2.pgdata", "db.3.pgdata",
                                      "db2.1.pgdata"]
    [row] = wiring.view.query("SELECT volume_gib FROM rm_tenants WHERE id = ?",
                              (str(acme.id),))
    assert row["volume_gib"] == 4


def test_a_data_service_past_the_plans_disk_is_refused_whole(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="s")  # 10 containers, 10 GiB of volumes
    with pytest.raises(QuotaExceeded) as caught:
        create_service(wiring, acme, "db", replicas=4, category="disk", spec={"volumes": [
            {"volume": "a", "path": "/a"}, {"volume": "b", "path": "/b"},
            {"volume": "c", "path": "/c"}]})
    assert (caught.value.resource, caught.value.limit, caught.value.requested) == (
        "volume_gib", 10, 12)
    assert _volumes(wiring, acme) == []  # (only the rejection itself is recorded)
    assert caught_up(wiring).view.query("SELECT id FROM rm_services") == []
    assert usage(wiring, acme) == 0


def test_a_new_version_of_a_data_service_replaces_each_replica_in_its_slot(
    wiring: Wiring,
) -> None:
    from wharf.commands.actors import Actor
    from wharf.commands.answers import TermTaken

    acme = make_tenant(wiring, plan="unlimited")
    db = create_service(wiring, acme, "db", replicas=2, category="data",
                        spec={"volumes": [{"volume": "pgdata", "path": "/data"}]})
    before = _ids(wiring, db)
    wiring.app.handle(m.UpdateService(
        actor=acme.owner, service_id=db, spec={"image": "busybox:1.36", "volumes": [
            {"volume": "pgdata", "path": "/data"}]}))
    scheduler = Actor.system("scheduler")
    term = wiring.app.handle(m.TakeLeadership(actor=scheduler, holder="a")).answer_as(
        TermTaken).term
    wiring.app.handle(m.RollReplicas(actor=scheduler, term=term, service_id=db,
                                     old=[before["db.1"]]))
    # Stop-first: the old db.1 is deleted and the new one is made in its slot, on its
    # volume, in the same save; db.2 is untouched until the next step.
    rows = caught_up(wiring).view.query(
        "SELECT id, name, desired, config_version, spec FROM rm_containers "
        "WHERE service_id = ? ORDER BY name, desired", (str(db),))
    assert [(r["name"], r["desired"], r["config_version"],
             json.loads(r["spec"])["volumes"][0]["volume"]) for r in rows] == [
        ("db.1", "deleted", 1, "db.1.pgdata"), ("db.1", "running", 2, "db.1.pgdata"),
        ("db.2", "running", 1, "db.2.pgdata")]
    assert _volumes(wiring, acme) == ["db.1.pgdata", "db.2.pgdata"]
    row = service_reads.service(wiring.view, str(db))
    assert row is not None and row.retiring == {} and row.replicas == 2


def _ids(wiring: Wiring, service_id: UUID) -> dict[str, UUID]:
    return {r["name"]: UUID(r["id"]) for r in caught_up(wiring).view.query(
        "SELECT id, name FROM rm_containers WHERE service_id = ? AND desired != 'deleted'",
        (str(service_id),))}


def test_an_update_policy_is_checked_kept_and_shown(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    for bad, field in (({"order": "sideways"}, "update_policy.order"),
                       ({"parallelism": 0}, "update_policy.parallelism"),
                       ({"delay_s": -1}, "update_policy.delay_s"),
                       ({"failure_action": "panic"}, "update_policy.failure_action"),
                       ({"speed": 3}, "update_policy.speed")):
        with pytest.raises(InvalidInput) as caught:
            create_service(wiring, acme, replicas=1, update_policy=bad)
        assert caught.value.field == field
    web = create_service(wiring, acme, replicas=1,
                         update_policy={"order": "stop-first", "delay_s": 3})
    row = service_reads.service(caught_up(wiring).view, str(web))
    assert row is not None and (row.update_policy.order, row.update_policy.delay_s,
                                row.update_policy.parallelism) == ("stop-first", 3, 1)
    wiring.app.handle(m.UpdateService(actor=acme.owner, service_id=web,
                                      spec={"image": "busybox:1.36"},
                                      update_policy={"parallelism": 2}))
    row = service_reads.service(caught_up(wiring).view, str(web))
    assert row is not None and (row.update_policy.order, row.update_policy.parallelism,
                                row.version) == ("start-first", 2, 2)


def test_a_replica_a_rollback_left_on_the_abandoned_version_is_rolled_back_too(
    wiring: Wiring,
) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from wharf.commands.actors import Actor
    from wharf.commands.answers import TermTaken
    from wharf.schedulers.rollouts import step

    acme = make_tenant(wiring, plan="unlimited")
    web = create_service(wiring, acme, replicas=2)
    before = _ids(wiring, web)
    wiring.app.handle(m.UpdateService(actor=acme.owner, service_id=web,
                                      spec={"image": "busybox:1.36"}))
    scheduler = Actor.system("scheduler")
    term = wiring.app.handle(m.TakeLeadership(actor=scheduler, holder="a")).answer_as(
        TermTaken).term
    # web.1's successor made it and web.1 retired; web.2's then failed: back to version 1.
    wiring.app.handle(m.RollReplicas(actor=scheduler, term=term, service_id=web,
                                     old=[before["web.1"]]))
    wiring.app.handle(m.RetireReplica(actor=scheduler, term=term, service_id=web,
                                      old=before["web.1"]))
    wiring.app.handle(m.RollReplicas(actor=scheduler, term=term, service_id=web,
                                     old=[before["web.2"]]))
    wiring.app.handle(m.RollbackService(actor=Actor.system("rollout"), service_id=web,
                                        reason="test"))
    [row] = service_reads.rollouts(caught_up(wiring).view)
    assert (row.version, row.good_version, row.retiring) == (1, 1, {})
    [left] = [r for r in row.replicas if r.config_version == 2]
    # (no engine here: as its hosts would report them, running for a while)
    running = replace(row, replicas=tuple(
        replace(r, observed="running", started_at="2026-11-29T12:00:00Z")
        for r in row.replicas))
    action = step(running, datetime.now(UTC))
    assert action is not None and (action.kind, action.replicas) == ("roll", (left.id,))


def test_a_volume_mounted_at_two_paths_is_placed_once(wiring: Wiring) -> None:
    from wharf.commands.actors import Actor
    from wharf.commands.answers import TermTaken

    acme = make_tenant(wiring, plan="unlimited")
    wiring.app.handle(m.CreateVolume(actor=acme.owner, tenant_id=acme.id, name="v",
                                     size_gib=1))
    both = create_container(wiring, acme, "both", volumes=[
        {"volume": "v", "path": "/a"}, {"volume": "v", "path": "/b"}])
    host = wiring.app.handle(m.RegisterHost(
        actor=Actor.operator("test"), endpoint="tcp://127.0.0.1:2375", name="h",
        cpu_millis=2000, memory_mib=2048)).id
    scheduler = Actor.system("scheduler")
    term = wiring.app.handle(m.TakeLeadership(actor=scheduler, holder="a")).answer_as(
        TermTaken).term
    wiring.app.handle(m.PlaceContainer(actor=scheduler, term=term, container_id=both,
                                       host_id=host))
    [row] = caught_up(wiring).view.query("SELECT host_id FROM rm_containers WHERE id = ?",
                                         (str(both),))
    assert row["host_id"] == str(host)


def test_a_version_that_cannot_be_made_is_refused_or_rolled_back_never_stalled(
    wiring: Wiring,
) -> None:
    from datetime import UTC, datetime

    from wharf.schedulers.leading import Leading
    from wharf.schedulers.rollouts import RolloutsController

    acme = make_tenant(wiring, plan="unlimited")
    web = create_service(wiring, acme, replicas=1)
    with pytest.raises(InvalidInput) as caught:  # said now, not in a log on every pass
        wiring.app.handle(m.UpdateService(actor=acme.owner, service_id=web, spec={
            "image": "busybox", "volumes": [{"volume": "nope", "path": "/x"}]}))
    assert caught.value.field == "volumes[0]"
    # A volume that existed when the version was recorded and is gone when its replicas
    # are made: the rollout rolls the service back, saying why.
    volume = wiring.app.handle(m.CreateVolume(actor=acme.owner, tenant_id=acme.id,
                                              name="w", size_gib=1)).id
    wiring.app.handle(m.UpdateService(actor=acme.owner, service_id=web, spec={
        "image": "busybox", "volumes": [{"volume": "w", "path": "/x"}]}))
    wiring.app.handle(m.DeleteVolume(actor=acme.owner, volume_id=volume))
    leading = Leading(wiring.app)
    leading.take()
    rollouts = RolloutsController(wiring.app, caught_up(wiring).view, leading)
    [action] = rollouts.plan(datetime.now(UTC))
    assert rollouts.carry_out(action)[0]
    [back] = [e for e in wiring.app.repository.event_store.get(web)
              if type(e).__name__ == "RolledBack"]
    assert back.reason == "version 2 cannot be rolled out: volumes: no volume named w"
    row = service_reads.service(caught_up(wiring).view, str(web))
    assert row is not None and row.version == 1


def test_a_data_service_update_past_the_plans_disk_is_refused_at_once(
    wiring: Wiring,
) -> None:
    acme = make_tenant(wiring, plan="s")  # 10 GiB of volumes
    db = create_service(wiring, acme, "db", replicas=2, category="data", spec={
        "cpu_millis": 100, "memory_mib": 64, "volumes": [{"volume": "a", "path": "/a"}]})
    mounts = [{"volume": name, "path": f"/{name}"} for name in "abcdef"]
    with pytest.raises(QuotaExceeded) as caught:  # 5 more volumes for each of 2 replicas
        wiring.app.handle(m.UpdateService(actor=acme.owner, service_id=db, spec={
            "image": "busybox", "cpu_millis": 100, "memory_mib": 64, "volumes": mounts}))
    assert (caught.value.resource, caught.value.used, caught.value.requested) == (
        "volume_gib", 2, 10)
