"""Concurrent commands share transactions, and each still gets its own answer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.integration.helpers import caught_up, make_tenant
from wharf.commands import messages as m
from wharf.infra.bootstrap import Wiring


def test_concurrent_commands_share_transactions_and_keep_their_answers(
    wiring: Wiring,
) -> None:
    tenants = [make_tenant(wiring, f"group-{i}", plan="unlimited", owner=f"o@g{i}.io")
               for i in range(8)]
    start = threading.Barrier(16)
    before = (wiring.app.group_commit.saves, wiring.app.group_commit.transactions)

    def create(i: int) -> tuple[object, object, int]:
        tenant = tenants[i % 8]  # two commands per tenant: they may not share a group
        start.wait()
        answers = []
        for j in range(20):
            outcome = wiring.app.handle(m.CreateContainer(
                actor=tenant.owner, tenant_id=tenant.id, name=f"c{i}-{j}",
                spec={"image": "busybox"}))
            answers.append((outcome.id, tenant.id, outcome.position))
        return answers[-1]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(create, range(16)))
    saves = wiring.app.group_commit.saves - before[0]
    transactions = wiring.app.group_commit.transactions - before[1]
    assert saves >= 16 * 20
    assert transactions < saves  # some commands shared a transaction
    caught_up(wiring)
    rows = wiring.view.query("SELECT id FROM rm_containers")
    assert len(rows) == 16 * 20
    for container_id, tenant_id, position in answers:
        # Each answer's position is one of its own command's events, not a neighbour's.
        event = wiring.app.recorder.select_notifications(position, 1)[0]
        assert event.id == position and event.originator_id in (container_id, tenant_id)
    counts = wiring.view.query("SELECT sum(containers) AS n FROM rm_tenants")
    assert counts == [{"n": 16 * 20}]
