"""A stale scheduler leader's writes are refused by the log."""

from __future__ import annotations

import dataclasses

import pytest

from tests.integration.helpers import create_container, make_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.answers import TermTaken
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

    old = wiring.app.handle(m.TakeLeadership(actor=SCHEDULER, holder="a")).answer_as(TermTaken).term
    wiring.app.handle(m.PlaceContainer(actor=SCHEDULER, term=old, container_id=first,
                                       host_id=host))
    new = wiring.app.handle(m.TakeLeadership(actor=SCHEDULER, holder="b")).answer_as(TermTaken).term
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


def _every(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_every(sub)]
    return found


def test_every_scheduler_command_with_an_old_term_is_refused_and_writes_nothing(
        wiring: Wiring) -> None:
    tenant = make_tenant(wiring, plan="unlimited")
    container = create_container(wiring, tenant, "one")
    volume = wiring.app.handle(m.CreateVolume(actor=tenant.owner, tenant_id=tenant.id,
                                              name="data", size_gib=1)).id
    service = wiring.app.handle(m.CreateService(actor=tenant.owner, tenant_id=tenant.id,
                                                name="web", spec={"image": "busybox"},
                                                balanced=[])).id
    host = wiring.app.handle(m.RegisterHost(
        actor=Actor.operator("test"), endpoint="tcp://127.0.0.1:2375", name="h",
        cpu_millis=2000, memory_mib=2048)).id
    old = wiring.app.handle(m.TakeLeadership(actor=SCHEDULER, holder="a")).answer_as(TermTaken).term
    wiring.app.handle(m.TakeLeadership(actor=SCHEDULER, holder="b"))
    when = "2026-11-29T12:00:00+00:00"
    values = {"container_id": container, "host_id": host, "volume_id": volume,
              "generation": 1, "started_at": when, "finished_at": when, "running": False,
              "after_finished_at": when, "silent_since": when, "reasons": {"h": "full"},
              "summary": ["no room"], "reason": "pull failed", "backup_id": "b-1",
              "size_bytes": 1, "sha256": "0" * 64, "service_id": service,
              "container_port": 8080, "listen_port": 30000, "run_started_at": when,
              "old": [container], "progress": "busybox: 1.0 of 2.0 MB"}
    store = wiring.app.repository.event_store
    ids = (container, volume, host, service)
    before = {ident: len(list(store.get(ident))) for ident in ids}  # type: ignore[arg-type]
    commands = _every(m.SchedulerCommand)
    assert len(commands) >= 10, commands  # a new scheduler command joins by itself
    for command in commands:
        wanted = {f.name: values[f.name] for f in dataclasses.fields(command)
                  if f.name not in ("actor", "term", "request_id")
                  and f.default is dataclasses.MISSING
                  and f.default_factory is dataclasses.MISSING}
        with pytest.raises(Conflict, match=f"term {old} is over"):
            wiring.app.handle(command(actor=SCHEDULER, term=old, **wanted))
    after = {ident: len(list(store.get(ident))) for ident in ids}  # type: ignore[arg-type]
    assert after == before
