"""Deploying Compose files on the command layer and the read side (SQLite and
PostgreSQL): a redeploy changes only what the file changed, domains bind once across
tenants, and a refused file records nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.integration.helpers import TenantHandle, caught_up, make_tenant
from wharf.commands import messages as m
from wharf.domain.errors import Conflict, InvalidInput, QuotaExceeded
from wharf.infra.bootstrap import Wiring

V1 = """
services:
  web: {image: busybox, ports: ["80"], environment: {A: "1"}, depends_on: [db]}
  db: {image: busybox, volumes: ["data:/data"]}
volumes: {data: {}}
"""


def deploy(wiring: Wiring, tenant: TenantHandle, text: str, name: str = "shop") -> UUID:
    outcome = wiring.app.handle(m.DeployApplication(actor=tenant.owner, tenant_id=tenant.id,
                                                    name=name, compose=text))
    assert outcome.id is not None
    return outcome.id


def events(wiring: Wiring, ident: UUID) -> list[str]:
    return [type(e).__name__ for e in wiring.app.repository.event_store.get(ident)]


def services(wiring: Wiring, app: UUID) -> dict[str, dict[str, Any]]:
    rows = caught_up(wiring).view.query(
        "SELECT id, name, replicas, version, desired, alias FROM rm_services "
        "WHERE application_id = ?", (str(app),))
    return {r["name"]: r for r in rows}


def test_a_redeploy_changes_only_what_the_file_changed(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    app = deploy(wiring, acme, V1)
    first = services(wiring, app)
    assert {n: (r["replicas"], r["version"], r["alias"]) for n, r in first.items()} == {
        "shop-web": (1, 1, "web"), "shop-db": (1, 1, "db")}
    volumes = caught_up(wiring).view.query("SELECT name FROM rm_volumes WHERE tenant_id = ?",
                                           (str(acme.id),))
    assert [v["name"] for v in volumes] == ["shop-data"]
    head = wiring.app.recorder.max_notification_id()
    deploy(wiring, acme, V1)  # the same file: nothing recorded
    assert wiring.app.recorder.max_notification_id() == head

    web, db = UUID(first["shop-web"]["id"]), UUID(first["shop-db"]["id"])
    before_db = events(wiring, db)
    deploy(wiring, acme, V1.replace('A: "1"', 'A: "2"').replace(
        "db: {image: busybox,", "db: {image: busybox, deploy: {replicas: 2},"))
    assert events(wiring, web)[-1] == "Reconfigured"  # rolled out by the scheduler
    assert events(wiring, db)[len(before_db):] == ["Scaled"]  # a count: a scale, no more
    assert services(wiring, app)["shop-web"]["version"] == 2

    deploy(wiring, acme, "services: {web: {image: busybox, ports: ['80'], "
                         "environment: {A: '2'}}}")
    after = services(wiring, app)
    assert after["shop-db"]["desired"] == "deleted" and after["shop-web"]["desired"] == "running"


def test_a_domain_is_bound_once_across_tenants(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    globex = make_tenant(wiring, "globex", plan="unlimited", owner="boss@globex.io")
    ours, theirs = deploy(wiring, acme, V1), deploy(wiring, globex, V1)
    wiring.app.handle(m.BindDomain(actor=acme.owner, application_id=ours,
                                   domain="Shop.Example.COM.", service="web"))
    with pytest.raises(Conflict, match="bound by another tenant"):
        wiring.app.handle(m.BindDomain(actor=globex.owner, application_id=theirs,
                                       domain="shop.example.com", service="web"))
    for domain in ("apps.localhost", "x.acme.apps.localhost", "not a domain", "localhost"):
        with pytest.raises(InvalidInput):
            wiring.app.handle(m.BindDomain(actor=globex.owner, application_id=theirs,
                                           domain=domain, service="web"))
    with pytest.raises(InvalidInput, match="no service"):
        wiring.app.handle(m.BindDomain(actor=acme.owner, application_id=ours,
                                       domain="api.example.com", service="nope"))
    rows = caught_up(wiring).view.query("SELECT domain, tenant_id FROM rm_domains")
    assert rows == [{"domain": "shop.example.com", "tenant_id": str(acme.id)}]
    # Deleted with its application, the name is free for another tenant.
    wiring.app.handle(m.DeleteApplication(actor=acme.owner, application_id=ours))
    wiring.app.handle(m.BindDomain(actor=globex.owner, application_id=theirs,
                                   domain="shop.example.com", service="web"))
    rows = caught_up(wiring).view.query("SELECT domain, tenant_id FROM rm_domains")
    assert rows == [{"domain": "shop.example.com", "tenant_id": str(globex.id)}]


def test_a_refused_file_records_nothing(wiring: Wiring) -> None:
    acme = make_tenant(wiring)  # free: two containers
    with pytest.raises(QuotaExceeded):  # (the rejection itself is recorded, as every one)
        deploy(wiring, acme, V1.replace("db: {image: busybox,",
                                        "db: {image: busybox, deploy: {replicas: 2},"))
    for table in ("rm_applications", "rm_services", "rm_containers", "rm_volumes"):
        assert caught_up(wiring).view.query(f"SELECT id FROM {table}") == []
    head = wiring.app.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as caught:
        deploy(wiring, acme, V1.replace("image: busybox, ports", "image: busybox, pid: host, "
                                                                 "ports"))
    assert caught.value.field == "services.web.pid"
    assert wiring.app.recorder.max_notification_id() == head


def test_a_domain_moved_between_a_tenants_applications_cannot_be_freed_by_the_first(
    wiring: Wiring,
) -> None:
    # (an outside attack's finding: the first application kept the name and, deleted,
    # freed it while the second still served it, so another tenant could take it)
    acme = make_tenant(wiring, plan="unlimited")
    evil = make_tenant(wiring, "evil", plan="unlimited", owner="boss@evil.io")
    shop, shop2, theirs = deploy(wiring, acme, V1), deploy(wiring, acme, V1, "shop2"), \
        deploy(wiring, evil, V1, "x")
    for app in (shop, shop2):
        wiring.app.handle(m.BindDomain(actor=acme.owner, application_id=app,
                                       domain="blue.example.com", service="web"))
    rows = caught_up(wiring).view.query("SELECT domain, application_id FROM rm_domains")
    assert rows == [{"domain": "blue.example.com", "application_id": str(shop2)}]
    with pytest.raises(InvalidInput, match="not bound"):
        wiring.app.handle(m.UnbindDomain(actor=acme.owner, application_id=shop,
                                         domain="blue.example.com"))
    wiring.app.handle(m.DeleteApplication(actor=acme.owner, application_id=shop))
    with pytest.raises(Conflict, match="bound by another tenant"):
        wiring.app.handle(m.BindDomain(actor=evil.owner, application_id=theirs,
                                       domain="blue.example.com", service="web"))


def test_a_deleted_application_can_be_deployed_again_and_external_volumes_must_exist(
    wiring: Wiring,
) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    app = deploy(wiring, acme, V1)
    wiring.app.handle(m.DeleteApplication(actor=acme.owner, application_id=app))
    assert deploy(wiring, acme, V1) == app
    assert services(wiring, app)["shop-web"]["desired"] == "running"
    with pytest.raises(InvalidInput, match="external volume theirs does not exist"):
        deploy(wiring, acme, "volumes: {v: {external: true, name: theirs}}\n"
                             "services: {web: {image: busybox, volumes: ['v:/v']}}", "other")


def test_names_with_a_trailing_newline_are_refused(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    for command in (
            m.CreateService(actor=acme.owner, tenant_id=acme.id, name="web\n",
                            spec={"image": "busybox"}),
            m.CreateVolume(actor=acme.owner, tenant_id=acme.id, name="vol\n", size_gib=1),
            m.CreateContainer(actor=acme.owner, tenant_id=acme.id, name="c",
                              spec={"image": "busybox\n"})):
        with pytest.raises(InvalidInput):
            wiring.app.handle(command)


def test_an_applications_events_are_its_own_its_services_and_their_replicas(
    wiring: Wiring,
) -> None:
    from wharf.projections.reads import audit as audit_reads

    acme = make_tenant(wiring, plan="unlimited")
    other = make_tenant(wiring, "other", plan="unlimited", owner="o@other.io")
    app = deploy(wiring, acme, V1)
    deploy(wiring, other, V1)  # (another tenant's, of the same shape, stays out)
    wiring.app.handle(m.StopApplication(actor=acme.owner, application_id=app))
    caught_up(wiring)
    page = audit_reads.of_application(wiring.view, str(acme.id), str(app), 100, None)
    kinds = {(row.kind, row.type.split(".")[-1]) for row in page.rows}
    assert {("application", "Deployed"), ("application", "Stopped"), ("service", "Created"),
            ("service", "Scaled"), ("container", "Created"), ("container", "StopRequested")
            } <= kinds, kinds
    ids = {row.object_id for row in page.rows}
    mine = {r["id"] for r in wiring.view.query(
        "SELECT id FROM rm_services WHERE application_id = ? UNION SELECT c.id FROM "
        "rm_containers c JOIN rm_services s ON s.id = c.service_id WHERE "
        "s.application_id = ?", (str(app), str(app)))} | {str(app)}
    assert ids == mine
    web = next(r["id"] for r in wiring.view.query(
        "SELECT id FROM rm_services WHERE application_id = ? AND alias = 'web'", (str(app),)))
    service_page = audit_reads.of_service(wiring.view, str(acme.id), web, 100, None)
    assert {row.kind for row in service_page.rows} == {"service", "container"}


def test_the_trail_shows_variable_names_never_their_values(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    deploy(wiring, acme, V1.replace('A: "1"', 'A: "hunter2-value"'))
    rows = caught_up(wiring).view.query("SELECT summary FROM rm_audit")
    said = " ".join(r["summary"] for r in rows)
    assert "hunter2-value" not in said and "env: A;" in said


def test_a_purged_tenants_domains_are_free_again(wiring: Wiring) -> None:
    from wharf.commands.actors import Actor

    acme = make_tenant(wiring, plan="unlimited")
    globex = make_tenant(wiring, "globex", plan="unlimited", owner="boss@globex.io")
    ours, theirs = deploy(wiring, acme, V1), deploy(wiring, globex, V1)
    wiring.app.handle(m.BindDomain(actor=acme.owner, application_id=ours,
                                   domain="shop.example.com", service="web"))
    operator = Actor.operator("test")
    wiring.app.handle(m.CloseTenant(actor=operator, tenant_id=acme.id, grace_hours=0))
    wiring.app.handle(m.PurgeTenant(actor=operator, tenant_id=acme.id))
    wiring.app.handle(m.BindDomain(actor=globex.owner, application_id=theirs,
                                   domain="shop.example.com", service="web"))
    rows = caught_up(wiring).view.query(
        "SELECT a.desired FROM rm_applications a WHERE a.id = ?", (str(ours),))
    assert rows == [{"desired": "deleted"}]


STATEFUL = """
services:
  web:
    image: busybox
    ports: ["80"]
    deploy: {update_config: {order: stop-first, delay: 2s, parallelism: 2}}
  db:
    image: busybox
    volumes: ["data:/data"]
    labels: {wharf.category: data}
    deploy: {replicas: 2}
volumes: {data: {}}
"""


def test_a_data_service_in_a_file_gets_a_volume_per_replica_and_its_update_policy(
    wiring: Wiring,
) -> None:
    from wharf.projections.reads import services as service_reads

    acme = make_tenant(wiring, plan="unlimited")
    app = deploy(wiring, acme, STATEFUL)
    volumes = caught_up(wiring).view.query(
        "SELECT name FROM rm_volumes WHERE tenant_id = ? ORDER BY name", (str(acme.id),))
    assert [v["name"] for v in volumes] == ["shop-db.1.shop-data", "shop-db.2.shop-data"]
    found = services(wiring, app)
    db = service_reads.service(wiring.view, found["shop-db"]["id"])
    web = service_reads.service(wiring.view, found["shop-web"]["id"])
    assert db is not None and web is not None and db.category == "data"
    assert (web.update_policy.order, web.update_policy.delay_s,
            web.update_policy.parallelism) == ("stop-first", 2, 2)
    head = wiring.app.recorder.max_notification_id()
    deploy(wiring, acme, STATEFUL)  # the same file: nothing recorded
    assert wiring.app.recorder.max_notification_id() == head
    with pytest.raises(InvalidInput) as caught:
        deploy(wiring, acme, STATEFUL.replace("wharf.category: data", "wharf.category: app"))
    assert caught.value.field == "services.db.labels.wharf.category"
    with pytest.raises(InvalidInput) as caught:
        deploy(wiring, acme, STATEFUL.replace("wharf.category: data", "wharf.category: big"))
    assert caught.value.field == "services.db.labels.wharf.category"
    assert wiring.app.recorder.max_notification_id() == head


def test_deploying_a_stopped_application_starts_it_whole(wiring: Wiring) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    app = deploy(wiring, acme, V1)
    wiring.app.handle(m.StopApplication(actor=acme.owner, application_id=app))

    def desired() -> tuple[str, set[str], set[str]]:
        view = caught_up(wiring).view
        [row] = view.query("SELECT desired FROM rm_applications WHERE id = ?", (str(app),))
        replicas = view.query(
            "SELECT c.desired FROM rm_containers c JOIN rm_services s ON s.id = c.service_id "
            "WHERE s.application_id = ?", (str(app),))
        return (row["desired"], {r["desired"] for r in services(wiring, app).values()},
                {r["desired"] for r in replicas})

    assert desired() == ("stopped", {"stopped"}, {"stopped"})
    deploy(wiring, acme, V1.replace('A: "1"', 'A: "2"'))  # changed: one service replaced
    assert desired() == ("running", {"running"}, {"running"})
    wiring.app.handle(m.StopApplication(actor=acme.owner, application_id=app))
    deploy(wiring, acme, V1.replace('A: "1"', 'A: "2"'))  # the same file starts it too
    assert desired() == ("running", {"running"}, {"running"})
    # A service stopped on its own is started by a deploy too (`docker compose up`).
    db = UUID(services(wiring, app)["shop-db"]["id"])
    wiring.app.handle(m.StopService(actor=acme.owner, service_id=db))
    deploy(wiring, acme, V1.replace('A: "1"', 'A: "2"'))
    assert desired() == ("running", {"running"}, {"running"})


def test_a_tenant_holds_at_most_a_hundred_domains_whichever_applications_hold_them(
    wiring: Wiring,
) -> None:
    from wharf.domain.tenant import MAX_DOMAINS

    acme = make_tenant(wiring, plan="unlimited")
    apps = [deploy(wiring, acme, V1, name=f"shop{i}") for i in range(6)]

    def bind(app: UUID, domain: str) -> None:
        wiring.app.handle(m.BindDomain(actor=acme.owner, application_id=app, domain=domain,
                                       service="web"))

    for i in range(MAX_DOMAINS):
        bind(apps[i // 20], f"d{i}.example.com")  # (20 per application at most)
    with pytest.raises(QuotaExceeded) as caught:
        bind(apps[5], "one-more.example.com")
    assert (caught.value.resource, caught.value.limit, caught.value.used) == (
        "domains", MAX_DOMAINS, MAX_DOMAINS)
    bind(apps[5], "d0.example.com")  # moved between its applications: counted once
    wiring.app.handle(m.UnbindDomain(actor=acme.owner, application_id=apps[5],
                                     domain="d0.example.com"))
    bind(apps[5], "one-more.example.com")  # room again
    # An application deleted frees its 20 for the tenant.
    wiring.app.handle(m.DeleteApplication(actor=acme.owner, application_id=apps[1]))
    more = deploy(wiring, acme, V1, name="more")
    for i in range(20):
        bind(more, f"e{i}.example.com")
    with pytest.raises(QuotaExceeded):
        bind(apps[5], "too-many.example.com")


def test_a_changed_file_deployed_on_a_stopped_application_changes_what_it_says(
    wiring: Wiring,
) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    app = deploy(wiring, acme, V1)
    wiring.app.handle(m.StopApplication(actor=acme.owner, application_id=app))
    deploy(wiring, acme, V1.replace('A: "1"', 'A: "2"').replace(
        "db: {image: busybox,", "db: {image: busybox, deploy: {replicas: 2},"))
    found = services(wiring, app)
    assert (found["shop-web"]["version"], found["shop-db"]["replicas"]) == (2, 2)
    replicas = caught_up(wiring).view.query(
        "SELECT c.name, c.desired FROM rm_containers c JOIN rm_services s "
        "ON s.id = c.service_id WHERE s.application_id = ? ORDER BY c.name", (str(app),))
    assert [(r["name"], r["desired"]) for r in replicas] == [
        ("shop-db.1", "running"), ("shop-db.2", "running"), ("shop-web.1", "running")]
    # A service gone from the file goes, stopped or not; and deploying again works.
    wiring.app.handle(m.StopApplication(actor=acme.owner, application_id=app))
    deploy(wiring, acme, "services: {web: {image: busybox, ports: ['80'], "
                         "environment: {A: '2'}}}")
    assert services(wiring, app)["shop-db"]["desired"] == "deleted"
    deploy(wiring, acme, V1)
    [row] = caught_up(wiring).view.query("SELECT containers FROM rm_tenants WHERE id = ?",
                                         (str(acme.id),))
    assert row["containers"] == 2  # web and db, each once


def test_a_category_change_is_named_before_anything_else_is_tried(wiring: Wiring) -> None:
    acme = make_tenant(wiring)  # free: 1 GiB of volumes
    one = ("services: {db: {image: busybox, volumes: ['data:/d'], "
           "labels: {wharf.category: data}}}\nvolumes: {data: {}}")
    deploy(wiring, acme, one)  # shop-db.1.shop-data: the plan's whole GiB
    with pytest.raises(InvalidInput) as caught:  # (not the quota of a volume it would make)
        deploy(wiring, acme, one.replace("labels: {wharf.category: data}", "labels: {}"))
    assert caught.value.field == "services.db.labels.wharf.category"
