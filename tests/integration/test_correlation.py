"""Correlation and causation ids: every event carries the chain of work it belongs to
(the request it began with) and what led to it directly (the command, or for the
scheduler's observations the event it acted on), and `wharf history` shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from tests.integration.helpers import create_container, make_tenant, wharf
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.answers import TermTaken
from wharf.domain.base import event_id
from wharf.infra.bootstrap import Wiring

SCHEDULER = Actor.system("scheduler")


def events_of(wiring: Wiring, aggregate: UUID) -> list[Any]:
    return list(wiring.app.repository.event_store.get(aggregate))


def test_a_request_and_the_scheduler_s_work_on_it_share_one_chain(
    wiring: Wiring, tmp_path: Path,
) -> None:
    tenant = make_tenant(wiring)
    host = wiring.app.handle(m.RegisterHost(
        actor=Actor.operator("t"), endpoint="tcp://127.0.0.1:2375", name="h",
        cpu_millis=4000, memory_mib=8192)).id
    term = wiring.app.handle(m.TakeLeadership(actor=SCHEDULER, holder="t")).answer_as(
        TermTaken).term
    container = create_container(wiring, tenant, "web")
    [created] = events_of(wiring, container)
    request = created.correlation
    assert request and created.causation == request  # a user's command starts a chain
    reserved = events_of(wiring, tenant.id)[-1]  # the tenant's side of the same command
    assert (reserved.correlation, reserved.causation) == (request, request)

    # The scheduler places and starts it: its writes carry on the request's chain, each
    # caused by the event it acted on.
    wiring.app.handle(m.PlaceContainer(actor=SCHEDULER, term=term, container_id=container,
                                       host_id=host))
    wiring.app.handle(m.RecordRun(actor=SCHEDULER, term=term, container_id=container,
                                  generation=1, started_at="s1", finished_at="",
                                  running=True))
    created, placed, started = events_of(wiring, container)
    assert (placed.correlation, placed.causation) == (request, event_id(container, 1))
    assert (started.correlation, started.causation) == (request, event_id(container, 2))

    # A new request starts a new chain; a command may also name its own.
    wiring.app.handle(m.StopContainer(actor=tenant.owner, container_id=container))
    stopped = events_of(wiring, container)[-1]
    assert stopped.correlation not in ("", request)
    assert stopped.causation == stopped.correlation
    wiring.app.handle(m.StartContainer(actor=tenant.owner, container_id=container,
                                       correlation_id="deploy-42", causation_id="ci-run-7"))
    restarted = events_of(wiring, container)[-1]
    assert (restarted.correlation, restarted.causation) == ("deploy-42", "ci-run-7")

    history = wharf(str(wiring.settings.database_url), tmp_path / "home", "history",
                    str(container), "--full").stdout
    lines = history.splitlines()
    assert "CORRELATION" in lines[0] and "CAUSATION" in lines[0]
    assert f"{event_id(container, 2)}  {request}  {event_id(container, 1)}" in lines[2]
    assert "deploy-42" in lines[-1] and "ci-run-7" in lines[-1]
    short = wharf(str(wiring.settings.database_url), tmp_path / "home", "history",
                  str(container)).stdout
    assert request[:8] in short.splitlines()[1]


def test_a_retried_request_is_the_same_request_whatever_its_correlation(
    wiring: Wiring,
) -> None:
    tenant = make_tenant(wiring)
    first = wiring.app.handle(m.CreateContainer(
        actor=tenant.owner, tenant_id=tenant.id, name="web", spec={"image": "busybox"},
        request_id="r-1", correlation_id="a"))
    again = wiring.app.handle(m.CreateContainer(
        actor=tenant.owner, tenant_id=tenant.id, name="web", spec={"image": "busybox"},
        request_id="r-1", correlation_id="b"))
    assert first.id == again.id
    assert [e.correlation for e in events_of(wiring, first.id)] == ["a"]
