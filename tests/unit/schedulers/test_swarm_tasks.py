"""Which task of a cluster service is which Wharf container's run (swarm_runtime.claim),
and the runs a pass missed between two readings (swarm_runtime.missed_runs)."""

from __future__ import annotations

from wharf.domain.container_spec import ContainerSpec
from wharf.projections.reads.containers import ContainerRow, WantedRow
from wharf.schedulers.cluster import ClusterTask
from wharf.schedulers.swarm_runtime import Group, claim, missed_runs


def container_row(name: str, desired: str) -> ContainerRow:
    return ContainerRow(
        id=name, tenant_id="t", name=name, image="busybox", spec=ContainerSpec("busybox"),
        cpu_millis=50, memory_mib=32, desired=desired,  # type: ignore[arg-type]
        observed="running", host_id=None, exit_code=None, oom_killed=None, generation=1,
        run_generation=1, restarts=0, started_at=None, finished_at=None, ports={},
        unschedulable={}, unschedulable_summary=[], failure=None, disk_over_since=None,
        service_id="s", health=None, config_version=1, pulling=None, created_at="",
        updated_at="")


def task(slot: int, created: str, desired: str = "running", state: str = "running"
         ) -> ClusterTask:
    return ClusterTask(id=f"t{slot}-{created}", service="s", slot=slot, node_id="n",
                       state=state, desired=desired, container_id="c", exit_code=None,
                       error="", since=created, spec_image="busybox", created=created)


def group(*rows: tuple[str, str]) -> Group:
    """Replicas as (name, desired)."""
    return Group("wharf-svc-s", "s", [
        WantedRow(container_row(name, desired), "t")
        for name, desired in rows])


def test_each_replica_is_the_newest_task_of_its_slot() -> None:
    old, new = task(1, "1", desired="shutdown", state="failed"), task(1, "2")
    claimed = claim(group(("web.1", "running"), ("web.2", "running")),
                    [new, old, task(2, "1")])
    assert claimed == {"web.1": new, "web.2": task(2, "1")}


def test_a_replica_whose_slot_the_cluster_dropped_takes_a_spare_slot() -> None:
    # Wharf scaled 3 -> 2 by deleting web.3; the cluster stopped slot 1 and kept 3.
    stopped = task(1, "1", desired="shutdown", state="shutdown")
    kept = task(3, "1")
    claimed = claim(group(("web.1", "running"), ("web.2", "running"),
                          ("web.3", "deleted")), [stopped, task(2, "1"), kept])
    assert claimed["web.1"] == kept
    assert "web.3" not in claimed  # (its slot's task runs web.1 now: web.3 is gone)


def test_a_deleted_replica_keeps_its_slots_task_until_it_ends() -> None:
    ending = task(3, "1", desired="shutdown")
    claimed = claim(group(("web.1", "running"), ("web.3", "deleted")),
                    [task(1, "1"), ending])
    assert claimed["web.3"] == ending


def test_runs_that_ended_between_two_readings_are_found_once_oldest_first() -> None:
    # The log holds the run of 12:00:01; two more ran and failed before the newest,
    # still starting, was read. Go's timestamps drop trailing zeros: "01.5" is after
    # "01.25" though its text sorts before.
    def at(stamp: str, state: str, desired: str = "shutdown") -> ClusterTask:
        return ClusterTask(id=stamp, service="s", slot=1, node_id="n", state=state,
                           desired=desired, container_id="c" if state != "new" else "",
                           exit_code=3, error="", since=stamp, spec_image="busybox",
                           created=stamp)

    held = at("2026-11-30T12:00:01Z", "failed")
    first, second = at("2026-11-30T12:00:01.25Z", "failed"), at("2026-11-30T12:00:01.5Z",
                                                                 "failed")
    newest = at("2026-11-30T12:00:02Z", "new", desired="running")
    other_slot = ClusterTask(**{**second.__dict__, "id": "x", "slot": 2})
    tasks = [newest, second, held, first, other_slot]
    assert missed_runs(newest, tasks, held.created) == [first, second]
    assert missed_runs(newest, tasks, second.created) == []
    assert missed_runs(newest, tasks, "") == [held, first, second]
