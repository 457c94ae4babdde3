from __future__ import annotations

from uuid import uuid4

import pytest

from wharf.domain.errors import Conflict, Forbidden, InvalidInput, QuotaExceeded
from wharf.domain.plans import SEED_PLANS, Plan, Resources
from wharf.domain.tenant import Tenant

FREE: Plan = SEED_PLANS[0]


def new_tenant() -> Tenant:
    return Tenant(id=Tenant.id_for("acme"), name="acme", plan_name="free", plan_version=1,
                  owner="owner@acme.io", actor="operator:test", cause="test")


def container(cpu: int = 100, memory: int = 64) -> Resources:
    return Resources(containers=1, cpu_millis=cpu, memory_mib=memory)


def test_free_plan_rejects_third_container() -> None:
    tenant = new_tenant()
    tenant.reserve_container(FREE, "a", uuid4(), container(), [])
    tenant.reserve_container(FREE, "b", uuid4(), container(), [])
    with pytest.raises(QuotaExceeded) as caught:
        tenant.reserve_container(FREE, "c", uuid4(), container(), [])
    assert (caught.value.resource, caught.value.limit, caught.value.used,
            caught.value.requested) == ("containers", 2, 2, 1)


def test_cpu_limit_counts_reserved_millis() -> None:
    tenant = new_tenant()
    tenant.reserve_container(FREE, "a", uuid4(), container(cpu=400), [])
    with pytest.raises(QuotaExceeded) as caught:
        tenant.reserve_container(FREE, "b", uuid4(), container(cpu=200), [])
    assert caught.value.resource == "cpu_millis"


def test_released_container_frees_its_quota_and_name() -> None:
    tenant = new_tenant()
    tenant.reserve_container(FREE, "a", uuid4(), container(), [])
    tenant.reserve_container(FREE, "b", uuid4(), container(), [])
    tenant.release_container("a")
    tenant.reserve_container(FREE, "a", uuid4(), container(), [])
    assert tenant.usage["containers"] == 2


def test_names_are_unique_per_tenant() -> None:
    tenant = new_tenant()
    tenant.reserve_container(FREE, "a", uuid4(), container(), [])
    with pytest.raises(Conflict):
        tenant.reserve_container(FREE, "a", uuid4(), container(), [])


def test_volume_in_use_cannot_be_released() -> None:
    tenant = new_tenant()
    tenant.reserve_volume(FREE, "data", uuid4(), 1)
    tenant.reserve_container(FREE, "db", uuid4(), container(), ["data"])
    with pytest.raises(Conflict, match="in use by db"):
        tenant.release_volume("data")


def test_container_needs_existing_volume() -> None:
    with pytest.raises(InvalidInput):
        new_tenant().reserve_container(FREE, "db", uuid4(), container(), ["missing"])


def test_volume_space_is_limited_and_volumes_only_grow() -> None:
    tenant = new_tenant()
    with pytest.raises(QuotaExceeded):
        tenant.reserve_volume(FREE, "big", uuid4(), 2)
    tenant.reserve_volume(FREE, "small", uuid4(), 1)
    with pytest.raises(InvalidInput):
        tenant.resize_volume(FREE, "small", 0)


def test_last_owner_stays() -> None:
    tenant = new_tenant()
    with pytest.raises(Conflict):
        tenant.remove_member("owner@acme.io")
    with pytest.raises(Conflict):
        tenant.change_role("owner@acme.io", "viewer")
    tenant.add_member("dev@acme.io", "owner")
    tenant.change_role("owner@acme.io", "viewer")
    assert tenant.members == {"owner@acme.io": "viewer", "dev@acme.io": "owner"}


def test_roles_are_checked() -> None:
    tenant = new_tenant()
    tenant.add_member("viewer@acme.io", "viewer")
    with pytest.raises(Forbidden):
        tenant.require_role("viewer@acme.io", ("owner", "developer"))
    with pytest.raises(Forbidden):
        tenant.require_role("stranger@else.io", ("viewer",))


def test_suspended_tenant_reserves_nothing() -> None:
    tenant = new_tenant()
    tenant.suspend()
    with pytest.raises(Conflict):
        tenant.reserve_container(FREE, "a", uuid4(), container(), [])
    tenant.resume()
    tenant.reserve_container(FREE, "a", uuid4(), container(), [])


def test_downgrade_refused_when_usage_exceeds_new_plan() -> None:
    tenant = new_tenant()
    small = SEED_PLANS[1]
    tenant.change_plan(small)
    for name in "abc":
        tenant.reserve_container(small, name, uuid4(), container(), [])
    with pytest.raises(QuotaExceeded):
        tenant.change_plan(FREE)


def test_every_event_carries_actor_and_cause() -> None:
    tenant = new_tenant()
    tenant.stamp("member:owner@acme.io", "AddMember:req-1")
    tenant.add_member("dev@acme.io", "developer")
    created, added = tenant.collect_events()
    assert (created.actor, created.cause) == ("operator:test", "test")  # type: ignore[attr-defined]
    assert (added.actor, added.cause) == ("member:owner@acme.io", "AddMember:req-1")  # type: ignore[attr-defined]


def test_a_copy_from_the_cache_is_independent_of_the_original() -> None:
    import copy

    tenant = new_tenant()
    tenant.reserve_volume(FREE, "data", uuid4(), 1)
    tenant.collect_events()
    clone = copy.deepcopy(tenant)
    clone.reserve_container(FREE, "a", uuid4(), container(), ["data"])
    clone.add_member("dev@acme.io", "developer")
    clone.resize_volume(SEED_PLANS[1], "data", 2)
    assert tenant.containers == {} and "dev@acme.io" not in tenant.members
    assert tenant.volumes["data"]["size_gib"] == 1 and tenant.usage == {"volume_gib": 1}
    assert tenant.version == 2 and clone.version == 5
    assert tenant.pending_events == [] and len(clone.pending_events) == 3
