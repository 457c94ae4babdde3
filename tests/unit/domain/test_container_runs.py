"""What the scheduler records on a container is recorded once, however often it is told."""

from __future__ import annotations

from uuid import uuid4

import pytest

from wharf.domain.container import Container
from wharf.domain.errors import Conflict

T1, T2, T3 = "2026-11-26T10:00:00.1Z", "2026-11-26T10:00:05.2Z", "2026-11-26T10:00:06.3Z"


def container(policy: str = "on-failure") -> Container:
    made = Container(id=uuid4(), tenant_id=uuid4(), name="c",
                     spec={"image": "busybox", "restart_policy": policy}, cpu_millis=100,
                     memory_mib=64, desired="running", actor="test", cause="test")
    made.stamp("system:scheduler", "test")
    return made


def names(c: Container) -> list[str]:
    return [type(e).__name__ for e in c.collect_events()]


def test_placing_twice_on_the_same_host_records_once() -> None:
    c, host = container(), uuid4()
    assert c.place(host) is True
    assert c.place(host) is False
    assert names(c) == ["Created", "Placed"]


def test_a_run_reported_again_and_again_is_one_start_and_one_exit() -> None:
    c = container()
    for _ in range(3):
        c.observe(1, T1, "", running=True, exit_code=0, oom_killed=False, ports={})
    for _ in range(3):
        c.observe(1, T1, T2, running=False, exit_code=3, oom_killed=False, ports={})
    assert names(c) == ["Created", "Started", "Exited"]
    assert (c.observed, c.exit_code, c.finished_at) == ("exited", 3, T2)


def test_a_run_that_started_and_ended_between_two_looks_is_both_recorded() -> None:
    c = container()
    assert c.observe(1, T1, T2, running=False, exit_code=137, oom_killed=True,
                     ports={}) == ["Started", "Exited"]


def test_one_restart_per_exit_and_only_when_the_policy_wants_it() -> None:
    c = container("on-failure")
    c.observe(1, T1, T2, running=False, exit_code=3, oom_killed=False, ports={})
    assert c.restart(T2) is True
    assert c.restart(T2) is False  # a second pass, or a restarted scheduler
    c.observe(1, T3, "", running=True, exit_code=0, oom_killed=False, ports={})
    assert names(c) == ["Created", "Started", "Exited", "Restarted", "Started"]
    assert c.restarts == 1

    clean = container("on-failure")
    clean.observe(1, T1, T2, running=False, exit_code=0, oom_killed=False, ports={})
    with pytest.raises(Conflict):
        clean.restart(T2)


def test_a_new_start_request_is_a_new_generation_with_fresh_restarts() -> None:
    c = container("always")
    c.observe(1, T1, T2, running=False, exit_code=1, oom_killed=False, ports={})
    c.restart(T2)
    c.stop()
    c.start()
    assert (c.generation, c.restarts) == (2, 0)
    assert c.restart_wanted() is False  # that exit belonged to the first generation


def test_removed_is_recorded_once() -> None:
    c = container()
    assert c.observe_removed() is True
    assert c.observe_removed() is False


def test_disk_limit_crossings_are_recorded_once_each_way_and_enforced_once() -> None:
    c = container()
    at = "2026-11-26T12:00:00+00:00"
    assert c.measure_disk(10, 100, at) is False  # within: nothing to record
    assert c.measure_disk(150, 100, at) is True
    assert c.measure_disk(170, 100, "later") is False  # still over: the first time stands
    assert c.disk_over_since == at
    assert c.enforce_disk_limit(c.disk_over_since) is True
    assert c.enforce_disk_limit(c.disk_over_since) is False  # stopped already
    assert c.measure_disk(50, 100, at) is True
    assert names(c) == ["Created", "DiskOverLimit", "DiskLimitEnforced", "DiskWithinLimit"]
    assert c.desired == "stopped"


def test_a_pause_and_a_thaw_are_recorded_once_each() -> None:
    c = container()
    c.observe(1, T1, "", running=True, exit_code=0, oom_killed=False, ports={})
    assert c.observe(1, T1, "", True, 0, False, {}, paused=True) == ["Paused"]
    assert c.observed == "paused"
    assert c.observe(1, T1, "", True, 0, False, {}, paused=True) == []
    assert c.observe(1, T1, "", True, 0, False, {}, paused=False) == ["Unpaused"]
    assert c.observed == "running"
    # A paused container that is killed has exited.
    c.observe(1, T1, "", True, 0, False, {}, paused=True)
    assert c.observe(1, T1, T2, False, 137, False, {}) == ["Exited"]
    assert names(c) == ["Created", "Started", "Paused", "Unpaused", "Paused", "Exited"]
