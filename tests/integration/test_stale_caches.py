"""Two processes, two aggregate caches: a decision taken on a stale cached copy is never
saved, and never refused, on the strength of that copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import settings_for
from tests.integration.helpers import create_container, make_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.errors import Conflict, Forbidden
from wharf.infra.bootstrap import Wiring, build


@pytest.fixture
def other(store_url: str, tmp_path: Path) -> Iterator[Wiring]:
    """Another process's Wharf on the same store, with a cache of its own."""
    built = build(settings_for(store_url, tmp_path / "other"))
    try:
        yield built
    finally:
        built.close()


def test_create_after_another_process_suspended_the_tenant(
    wiring: Wiring, other: Wiring
) -> None:
    acme = make_tenant(wiring, plan="s")
    create_container(wiring, acme, "cached")  # this process now caches the tenant
    other.app.handle(m.SuspendTenant(actor=Actor.operator("ops"), tenant_id=acme.id))
    with pytest.raises(Conflict, match="suspended"):
        create_container(wiring, acme, "late")


def test_stop_after_another_process_removed_the_member(wiring: Wiring, other: Wiring) -> None:
    acme = make_tenant(wiring)
    wiring.app.handle(m.AddMember(actor=acme.owner, tenant_id=acme.id, email="dev@acme.io",
                                  role="developer"))
    dev = Actor.member("dev@acme.io", acme.id)
    container = wiring.app.handle(m.CreateContainer(actor=dev, tenant_id=acme.id, name="web",
                                                    spec={"image": "busybox"})).id
    assert container is not None
    other.app.handle(m.RemoveMember(actor=acme.owner, tenant_id=acme.id, email="dev@acme.io"))
    with pytest.raises(Forbidden):
        wiring.app.handle(m.StopContainer(actor=dev, container_id=container))


def test_quota_freed_by_another_process_is_seen(wiring: Wiring, other: Wiring) -> None:
    acme = make_tenant(wiring)
    first = create_container(wiring, acme, "one")
    create_container(wiring, acme, "two")  # at the free plan's limit, as this cache says
    other.app.handle(m.DeleteContainer(actor=acme.owner, container_id=first))
    assert create_container(wiring, acme, "three")
