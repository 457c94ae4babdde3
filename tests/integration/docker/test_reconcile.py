"""Level-triggered reconciling against a real engine: drift, strangers, quiet passes."""

from __future__ import annotations

from uuid import UUID

from tests.integration.docker.conftest import Cloud
from tests.integration.docker.test_lifecycle import create
from wharf.infra.docker_driver import DockerEngine
from wharf.schedulers.ports import (
    LABEL_CONTAINER,
    LABEL_INSTALLATION,
    LABEL_MANAGED,
    docker_name,
)
from wharf.schedulers.scheduler import PassResult


def settle(cloud: Cloud, passes: int = 10) -> list[PassResult]:
    """Passes until one has nothing to do (each after the read side saw the last)."""
    results = []
    for _ in range(passes):
        result = cloud.scheduler.run_pass()
        results.append(result)
        cloud.api.wiring.projector.wait(result.position or 0, 10)
        if not result.actions:
            return results
    raise AssertionError(f"no quiet pass in {passes}: {results[-1].actions}")


def mutating_calls(cloud: Cloud) -> int:
    return sum(sum(e.calls.values()) for e in cloud.scheduler.engines.values()
               if isinstance(e, DockerEngine))


def test_drift_is_repaired_in_one_pass_and_a_quiet_pass_changes_nothing(
    still_cloud: Cloud,
) -> None:
    cloud = still_cloud
    _, token = cloud.tenant()
    ids = [create(cloud, token, name=f"s{i}", command=["sleep", "600"]) for i in range(6)]
    settle(cloud)
    assert {r["Labels"][LABEL_CONTAINER] for r in cloud.ours() if r["State"] == "running"} \
        == set(ids)

    # Behind Wharf's back: five removed, one stranger made with Wharf's labels.
    for cid in ids[:5]:
        cloud.docker.remove_container(docker_name(cid), force=True)
    stranger = cloud.docker.create_container(
        "busybox", command=["sleep", "600"], name="not-wharfs",
        labels={LABEL_MANAGED: "1", LABEL_INSTALLATION: cloud.installation,
                LABEL_CONTAINER: "00000000-0000-4000-8000-000000000001"})
    cloud.docker.start(stranger["Id"])

    result = cloud.scheduler.run_pass()
    kinds = sorted(a.kind for a in result.actions)
    assert kinds == ["create"] * 5 + ["remove-stranger"], kinds
    assert result.failed == 0
    listed = cloud.ours()
    assert sorted(r["Labels"][LABEL_CONTAINER] for r in listed) == sorted(ids)
    assert all(r["State"] == "running" for r in listed)

    settle(cloud)
    before = mutating_calls(cloud)
    quiet = cloud.scheduler.run_pass()
    assert quiet.actions == [] and mutating_calls(cloud) == before

    # Each repaired container's history says what happened: removed, then started again.
    events = [type(e).__name__ for e in
              cloud.api.wiring.app.repository.event_store.get(UUID(ids[0]))]
    assert events == ["Created", "Placed", "Started", "Removed", "Started"]


def test_a_retried_create_adopts_the_container_instead_of_making_a_second(
    still_cloud: Cloud,
) -> None:
    cloud = still_cloud
    _, token = cloud.tenant()
    cid = create(cloud, token, name="once", command=["sleep", "600"])
    settle(cloud)
    # As if a crashed scheduler had created it already: the engine is asked again.
    want = next(w for w in cloud.scheduler.containers.wants() if w.id == cid)
    engine = next(iter(cloud.scheduler.engines.values()))
    first = cloud.docker.inspect_container(docker_name(cid))["Id"]
    again = engine.create(cloud.scheduler.containers.run_spec(want))
    assert again == first
    assert len(cloud.ours()) == 1


def test_every_exit_is_learned_from_the_engines_events(event_driven_cloud: Cloud) -> None:
    """16 containers exit a moment apart; with passes a minute apart, each exit is
    recorded within seconds only if the event stream woke the scheduler for it."""
    cloud = event_driven_cloud
    _, token = cloud.tenant()
    ids = [create(cloud, token, name=f"brief-{i}", restartPolicy="no",
                  command=["sh", "-c", f"sleep {2 + i * 0.15:.2f}; exit 3"])
           for i in range(16)]
    for cid in ids:
        cloud.wait_observed(token, cid, "exited", timeout=15, exitCode=3)
