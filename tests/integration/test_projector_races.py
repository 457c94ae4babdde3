"""Two projectors at once apply each event once; verify works while one runs."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.conftest import settings_for
from tests.integration.helpers import make_tenant
from wharf.commands import messages as m
from wharf.infra.bootstrap import Wiring, build
from wharf.infra.replay import verify


def write_containers(wiring: Wiring, count: int) -> None:
    tenants = [make_tenant(wiring, f"tenant-{i}", plan="unlimited", owner=f"o@t{i}.io")
               for i in range(4)]
    for i in range(count):
        t = tenants[i % 4]
        wiring.app.handle(m.CreateContainer(actor=t.owner, tenant_id=t.id, name=f"c{i}",
                                            spec={"image": "busybox"}))


def test_two_projectors_racing_apply_every_event_once(store_url: str, tmp_path: Path) -> None:
    first = build(settings_for(store_url, tmp_path))
    second = build(settings_for(store_url, tmp_path))
    try:
        write_containers(first, 600)
        first.projector.batch_size = second.projector.batch_size = 50
        threads = [threading.Thread(target=w.projector.catch_up) for w in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        first.projector.catch_up()
        position, diffs = verify(first.app, first.view, store_url)
        assert position == first.app.recorder.max_notification_id()
        assert [d.table for d in diffs if not d.same] == []
        assert first.view.query("SELECT sum(containers) AS n FROM rm_tenants") == [{"n": 600}]
    finally:
        first.close()
        second.close()


def test_verify_agrees_while_the_projector_keeps_running(
    store_url: str, tmp_path: Path
) -> None:
    wiring = build(settings_for(store_url, tmp_path))
    runner = threading.Thread(target=wiring.projector.run_forever, daemon=True)
    runner.start()
    try:
        write_containers(wiring, 100)
        writer = threading.Thread(target=write_containers_more, args=(wiring,))
        writer.start()
        wiring.projector.wait(wiring.app.recorder.max_notification_id() or 0)
        position, diffs = verify(wiring.app, wiring.view, store_url)
        writer.join(60)
        assert position > 0
        assert [d.table for d in diffs if not d.same] == []
    finally:
        wiring.projector.stop()
        runner.join(10)
        wiring.close()


def write_containers_more(wiring: Wiring) -> None:
    tenant = make_tenant(wiring, "late", plan="unlimited", owner="o@late.io")
    for i in range(300):
        wiring.app.handle(m.CreateContainer(actor=tenant.owner, tenant_id=tenant.id,
                                            name=f"l{i}", spec={"image": "busybox"}))


def test_a_batch_prepared_before_another_projector_moved_is_not_applied(
    store_url: str, tmp_path: Path
) -> None:
    """The interleaving the race above hopes for, made to happen: A reads a batch, B
    commits part of it, then A commits. A's commit must be refused as a whole."""
    first = build(settings_for(store_url, tmp_path))
    second = build(settings_for(store_url, tmp_path))
    try:
        write_containers(first, 50)
        head = first.app.recorder.max_notification_id() or 0
        mine = first.projector.projectors["workloads"]
        theirs = second.projector.projectors["workloads"]
        stale = mine._prepare(0, None, None)
        assert stale is not None
        theirs.batch_size = 20
        assert theirs.run_once() > 0  # B commits the first 20 events
        assert mine._apply(stale) is False  # A's batch from 0 is refused
        first.projector.catch_up()
        assert first.projector.position == head
        _, diffs = verify(first.app, first.view, store_url)
        assert [d.table for d in diffs if not d.same] == []
    finally:
        first.close()
        second.close()


def test_verify_compares_each_consumer_at_its_own_position(wiring: Wiring,
                                                           store_url: str) -> None:
    """The audit trail behind the workloads (each consumer keeps its own position):
    verify folds each read model to where it is, and still finds a row changed by hand."""
    write_containers(wiring, 20)
    wiring.projector.catch_up()
    audit_at = wiring.view.position("audit")
    write_containers_more(wiring)
    wiring.projector.projectors["workloads"].catch_up()
    assert wiring.view.position("containers") > audit_at == wiring.view.position("audit")
    position, diffs = verify(wiring.app, wiring.view, store_url)
    assert position == audit_at
    assert [d.table for d in diffs if not d.same] == []
    assert {d.table: d.live_rows for d in diffs}["rm_containers"] == 320

    wiring.view.change_schema([("UPDATE rm_audit SET summary = 'forged' WHERE position = ?",
                                (audit_at,))])
    _, diffs = verify(wiring.app, wiring.view, store_url)
    assert [d.table for d in diffs if not d.same] == ["rm_audit"]
