"""Every event is timed by the command's clock, not the wall's: a test (or a billing run)
that drives the clock drives every time a read model or a bill sees."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import DrivenClock
from tests.integration.helpers import caught_up, create_container, make_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.infra.bootstrap import Wiring


def test_events_and_rows_carry_the_driven_clocks_time(wiring: Wiring,
                                                      clock: DrivenClock) -> None:
    start = clock.now()
    acme = make_tenant(wiring, plan="s")
    clock.advance(minutes=7)
    container = create_container(wiring, acme, "web")
    clock.advance(hours=2)
    wiring.app.handle(m.ChangePlan(actor=Actor.operator("test"), tenant_id=acme.id,
                                   plan="m"))
    times = {type(e).__qualname__: e.timestamp for e in
             wiring.app.repository.event_store.get(acme.id)}
    assert times["Tenant.Registered"] == start
    assert times["Tenant.ContainerReserved"] == start + timedelta(minutes=7)
    assert times["Tenant.PlanChanged"] == start + timedelta(hours=2, minutes=7)
    [created] = list(wiring.app.repository.event_store.get(container))
    assert created.timestamp == start + timedelta(minutes=7)
    caught_up(wiring)
    [row] = wiring.view.query("SELECT created_at FROM rm_containers")
    assert row["created_at"] == (start + timedelta(minutes=7)).isoformat()
