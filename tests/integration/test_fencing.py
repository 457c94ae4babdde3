"""A stale scheduler leader's writes are refused by the log."""

from __future__ import annotations

import pytest

from tests.integration.helpers import create_container, make_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.errors import Conflict, Forbidden
from wharf.infra.bootstrap import Wiring

SCHEDULER = Actor.system("scheduler")


def test_a_new_term_fences_off_the_old_leader(wiring: Wiring) -> None:
    tenant = make_tenant(wiring, plan="unlimited")
    first = create_container(wiring, tenant, "one")
    second = create_container(wiring, tenant, "two")
    host = wiring.app.handle(m.RegisterHost(
        actor=Actor.operator("test"), endpoint="tcp://127.0.0.1:2375", name="h",
        cpu_millis=2000, memory_mib=2048)).id
    assert host is not None

    old = wiring.app.handle(m.TakeLeadership(actor=SCHEDULER, holder="a")).data["term"]
    wiring.app.handle(m.PlaceContainer(actor=SCHEDULER, term=old, container_id=first,
                                       host_id=host))
    new = wiring.app.handle(m.TakeLeadership(actor=SCHEDULER, holder="b")).data["term"]
    assert new == old + 1

    with pytest.raises(Conflict, match=f"term {old} is over"):
        wiring.app.handle(m.PlaceContainer(actor=SCHEDULER, term=old, container_id=second,
                                           host_id=host))
    with pytest.raises(Conflict):
        wiring.app.handle(m.RecordRemoved(actor=SCHEDULER, term=old, container_id=first))
    wiring.app.handle(m.PlaceContainer(actor=SCHEDULER, term=new, container_id=second,
                                       host_id=host))
    history = [type(e).__name__ for e in wiring.app.repository.event_store.get(second)]
    assert history == ["Created", "Placed"]  # placed once, by the current leader

    # Nobody but Wharf's own jobs may act as the scheduler.
    with pytest.raises(Forbidden):
        wiring.app.handle(m.RecordRemoved(actor=Actor.operator("mallory"), term=new,
                                          container_id=first))
