"""A batch whose row writes fail after its tracking records moved (they move first, in
the same transaction) leaves every position where it was: nothing is skipped."""

from __future__ import annotations

import pytest

from tests.integration.helpers import caught_up, create_container, make_tenant
from wharf.infra.bootstrap import Wiring
from wharf.infra.replay import verify
from wharf.projections.catalog import WORKLOAD_MODELS


def test_a_failed_row_write_does_not_move_any_position(wiring: Wiring, store_url: str) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    for i in range(3):
        create_container(wiring, acme, f"before-{i}")
    caught_up(wiring)
    before = {name: wiring.view.position(name) for name in WORKLOAD_MODELS}
    for i in range(4):
        create_container(wiring, acme, f"after-{i}")
    head = wiring.app.recorder.max_notification_id()
    assert head is not None and head > max(before.values())

    workloads = wiring.projector.projectors["workloads"]
    wiring.view.change_schema([("ALTER TABLE rm_containers RENAME TO rm_containers_away", ())])
    try:
        with pytest.raises(Exception, match="rm_containers"):
            workloads.run_once()
        # Read from the store itself, not the projector's memory of it.
        assert {name: wiring.view.position(name) for name in WORKLOAD_MODELS} == before
    finally:
        wiring.view.change_schema([("ALTER TABLE rm_containers_away RENAME TO rm_containers",
                                    ())])
    caught_up(wiring)
    assert {name: wiring.view.position(name) for name in WORKLOAD_MODELS} == {
        name: head for name in WORKLOAD_MODELS}
    names = [row["name"] for row in wiring.view.query(
        "SELECT name FROM rm_containers ORDER BY name")]
    assert names == [f"after-{i}" for i in range(4)] + [f"before-{i}" for i in range(3)]
    _, diffs = verify(wiring.app, wiring.view, store_url)
    assert [d.table for d in diffs if not d.same] == []
