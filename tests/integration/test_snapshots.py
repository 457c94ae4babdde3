"""Long-lived tenants load from snapshots; a fresh process sees the same state."""

from __future__ import annotations

from tests.integration.helpers import create_container, make_tenant
from wharf.commands import messages as m
from wharf.infra.bootstrap import Wiring, open_app


def test_tenant_with_hundreds_of_events_loads_from_a_snapshot(
    wiring: Wiring, store_url: str
) -> None:
    acme = make_tenant(wiring, plan="unlimited")
    ids = [create_container(wiring, acme, f"c{i}") for i in range(230)]
    for container_id in ids[:30]:
        wiring.app.handle(m.DeleteContainer(actor=acme.owner, container_id=container_id))
    fresh = open_app(store_url, keys=wiring.app.keys)
    try:
        snapshots = list(fresh.snapshots.get(acme.id)) if fresh.snapshots else []
        assert snapshots, "no snapshot was taken"
        tenant = fresh.repository.get(acme.id)
        original = wiring.app.repository.get(acme.id)
        assert tenant.version == original.version == 1 + 230 + 30
        assert tenant.containers == original.containers
        assert tenant.usage == {"containers": 200, "cpu_millis": 200 * 100,
                                "memory_mib": 200 * 64, "volume_gib": 0}
        # The snapshot's state works for deciding new commands too.
        outcome = fresh.handle(m.CreateContainer(actor=acme.owner, tenant_id=acme.id,
                                                 name="after", spec={"image": "busybox"}))
        assert outcome.id is not None
    finally:
        fresh.close()
