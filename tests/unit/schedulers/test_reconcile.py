"""The reconciler's plan, case by case, without Docker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from wharf.schedulers.placement import HostRoom
from wharf.schedulers.ports import Observed
from wharf.schedulers.reconcile import Want, docker_time, plan

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
H1 = HostRoom(id="h1", name="one", pool="public", state="active", cpu_millis=2000,
              memory_mib=4096, overcommit=Decimal(1), reserved_cpu_millis=0,
              reserved_memory_mib=0)
H2 = HostRoom(id="h2", name="two", pool="public", state="active", cpu_millis=2000,
              memory_mib=4096, overcommit=Decimal(1), reserved_cpu_millis=1000,
              reserved_memory_mib=0)


def want(**fields: Any) -> Want:
    base: dict[str, Any] = dict(id="c1", tenant_id="t", tenant="acme", desired="running",
                                observed="pending", host_id=None, cpu_millis=250,
                                memory_mib=128)
    return Want(**{**base, **fields})


def obj(state: str, container_id: str = "c1", **fields: Any) -> Observed:
    return Observed(container_id=container_id, docker_id=f"d-{container_id}", state=state,
                    **fields)


def kinds(wants: list[Want], observed: dict[str, list[Observed]],
          hosts: list[HostRoom] | None = None, now: datetime = NOW) -> list[tuple[str, Any]]:
    return [(a.kind, a.host_id) for a in plan(wants, observed, hosts or [H1, H2], now).actions]


def test_a_new_container_is_placed_on_the_emptier_host() -> None:
    assert kinds([want()], {"h1": [], "h2": []}) == [("place", "h1")]


def test_placements_in_one_pass_count_against_each_other() -> None:
    wants = [want(id=f"c{i}", cpu_millis=600) for i in range(3)]
    assert [h for _, h in kinds(wants, {"h1": [], "h2": []})] == ["h1", "h1", "h2"]


def test_nothing_fits_says_why_once() -> None:
    big = want(cpu_millis=5000)
    [action] = plan([big], {"h1": [], "h2": []}, [H1, H2], NOW).actions
    assert action.kind == "unschedulable" and set(action.reasons) == {"one", "two"}
    said = want(cpu_millis=5000, unschedulable=action.reasons,
                unschedulable_summary=action.summary)
    assert plan([said], {"h1": [], "h2": []}, [H1, H2], NOW).actions == []
    # Another tenant's work moves a host's free figures: the same news, no new event.
    busier = replace(H1, reserved_cpu_millis=H1.reserved_cpu_millis + 300)
    assert plan([said], {"h1": [], "h2": []}, [busier, H2], NOW).actions == []
    # What the tenant is told changes: that is news.
    full = replace(H1, state="draining")
    [again] = plan([said], {"h1": [], "h2": []}, [full, H2], NOW).actions
    assert again.kind == "unschedulable" and again.summary != action.summary


def test_placed_and_missing_is_created_running_is_left_alone() -> None:
    placed = want(host_id="h1", observed="running", run_generation=1)
    assert kinds([placed], {"h1": []}) == [("create", "h1")]
    assert kinds([placed], {"h1": [obj("running")]}) == []


def test_a_silent_host_gets_no_actions() -> None:
    assert kinds([want(host_id="h1")], {"h2": []}) == []


def test_running_but_not_yet_recorded_is_observed() -> None:
    assert kinds([want(host_id="h1")], {"h1": [obj("running")]}) == [("observe", "h1")]


def test_stop_and_delete() -> None:
    running = obj("running")
    assert kinds([want(host_id="h1", desired="stopped", observed="running")],
                 {"h1": [running]}) == [("stop", "h1")]
    assert kinds([want(host_id="h1", desired="deleted", observed="running")],
                 {"h1": [running]}) == [("remove", "h1")]
    assert kinds([want(host_id="h1", desired="deleted", observed="exited")], {"h1": []}) == \
        [("record-removed", "h1")]


def test_an_exit_is_recorded_before_anything_else() -> None:
    assert kinds([want(host_id="h1", observed="running", restart_policy="always",
                       run_generation=1)], {"h1": [obj("exited")]}) == [("observe", "h1")]


def test_restart_policy_with_backoff() -> None:
    exited = dict(host_id="h1", observed="exited", run_generation=1, exit_code=1,
                  finished_at="2026-11-26T11:59:59.900000000Z")
    on_failure = want(restart_policy="on-failure", **exited)
    assert kinds([on_failure], {"h1": [obj("exited")]}) == []  # 0.5 s not yet up
    result = plan([on_failure], {"h1": [obj("exited")]}, [H1], NOW)
    assert result.wake_at == datetime(2026, 11, 26, 12, 0, 0, 400000, tzinfo=UTC)
    later = datetime(2026, 11, 26, 12, 0, 1, tzinfo=UTC)
    assert kinds([on_failure], {"h1": [obj("exited")]}, now=later) == [("restart", "h1")]
    # The fourth restart waits 0.5 * 2**3 = 4 s.
    assert kinds([want(restart_policy="on-failure", restarts=3, **exited)],
                 {"h1": [obj("exited")]}, now=later) == []
    assert kinds([want(restart_policy="no", **exited)], {"h1": [obj("exited")]},
                 now=later) == []
    clean = {**exited, "exit_code": 0}
    assert kinds([want(restart_policy="on-failure", **clean)], {"h1": [obj("exited")]},
                 now=later) == []
    assert kinds([want(restart_policy="always", **clean)], {"h1": [obj("exited")]},
                 now=later) == [("restart", "h1")]


def test_a_new_start_request_starts_an_exited_container() -> None:
    stopped_then_started = want(host_id="h1", observed="exited", generation=2,
                                run_generation=1, finished_at="2026-11-26T11:00:00Z")
    assert kinds([stopped_then_started], {"h1": [obj("exited")]}) == [("start", "h1")]


def test_strangers_and_stale_copies_are_removed() -> None:
    placed = want(host_id="h1", observed="running")
    observed = {"h1": [obj("running")], "h2": [obj("running"), obj("running", "zz")]}
    assert sorted(kinds([placed], observed)) == [("remove", "h2"), ("remove-stranger", "h2")]


def test_draining_host_moves_its_running_containers() -> None:
    draining = HostRoom(**{**H1.__dict__, "state": "draining"})
    placed = want(host_id="h1", observed="running")
    assert kinds([placed], {"h1": [obj("running")], "h2": []}, [draining, H2]) == \
        [("place", "h2")]


def test_docker_times() -> None:
    assert docker_time("2026-11-26T11:59:59.123456789Z") == \
        datetime(2026, 11, 26, 11, 59, 59, 123456, tzinfo=UTC)
    assert docker_time("2026-11-26T11:59:59Z") == datetime(2026, 11, 26, 11, 59, 59,
                                                           tzinfo=UTC)


def test_one_host_port_goes_to_one_container_per_host() -> None:
    wants = [want(id=f"c{i}", host_ports=(20080,)) for i in range(3)]
    actions = plan(wants, {"h1": [], "h2": []}, [H1, H2], NOW).actions
    assert [(a.kind, a.host_id) for a in actions[:2]] == [("place", "h1"), ("place", "h2")]
    assert actions[2].kind == "unschedulable"
    assert actions[2].reasons == {"one": "host port 20080 is taken there",
                                  "two": "host port 20080 is taken there"}


def test_a_run_after_a_removal_behind_our_back_is_observed_not_forgotten() -> None:
    remade = want(host_id="h1", observed="removed", run_generation=1, generation=1)
    assert kinds([remade], {"h1": [obj("exited")]}) == [("observe", "h1")]
    assert kinds([remade], {"h1": [obj("created")]}) == [("start", "h1")]


def test_a_paused_container_is_recorded_then_thawed_and_its_thaw_recorded() -> None:
    running = want(host_id="h1", observed="running")
    assert kinds([running], {"h1": [obj("paused")]}) == [("observe", "h1")]
    recorded = want(host_id="h1", observed="paused")
    assert kinds([recorded], {"h1": [obj("paused")]}) == [("unpause", "h1")]
    assert kinds([recorded], {"h1": [obj("running")]}) == [("observe", "h1")]
    stopping = want(host_id="h1", observed="paused", desired="stopped")
    assert kinds([stopping], {"h1": [obj("paused")]}) == [("unpause", "h1")]  # then stop
    assert kinds([recorded], {"h1": []}) == [("create", "h1")]  # removed while paused


def test_replicas_of_one_service_spread_where_more_than_one_host_fits() -> None:
    # Bin-packing alone would stack every replica on the fullest host that fits.
    hosts = [replace(H1, id=f"h{i}", name=f"n{i}") for i in range(3)]
    wants = [want(id=f"r{i}", group="web") for i in range(6)]
    actions = plan(wants, {h.id: [] for h in hosts}, hosts, NOW, "binpack").actions
    placed = [a.host_id for a in actions]
    assert sorted(placed) == ["h0", "h0", "h1", "h1", "h2", "h2"]
    # Replicas placed before count too; another service's replicas do not.
    wants = [want(id="old1", group="web", host_id="h0", observed="running"),
             want(id="old2", group="web", host_id="h1", observed="running"),
             want(id="other", group="db", host_id="h2", observed="running"),
             want(id="new", group="web")]
    observed = {"h0": [obj("running", "old1")], "h1": [obj("running", "old2")],
                "h2": [obj("running", "other")]}
    assert kinds(wants, observed, hosts) == [("place", "h2")]


def test_containers_of_their_own_are_not_spread() -> None:
    hosts = [replace(H1, id=f"h{i}", name=f"n{i}") for i in range(3)]
    wants = [want(id=f"c{i}") for i in range(3)]
    actions = plan(wants, {h.id: [] for h in hosts}, hosts, NOW, "binpack").actions
    assert [a.host_id for a in actions] == ["h0", "h0", "h0"]


def test_a_verdict_of_the_check_is_recorded_and_an_unhealthy_replica_replaced() -> None:
    running = dict(host_id="h1", observed="running", run_generation=1,
                   started_at="2026-11-29T12:00:00Z")
    seen = {"h1": [obj("running", health="healthy")]}
    assert kinds([want(**running, health="starting")], seen) == [("observe", "h1")]
    assert kinds([want(**running, health="healthy")], seen) == []
    seen = {"h1": [obj("running", health="unhealthy")]}
    [action] = plan([want(**running, health="unhealthy", group="web")], seen, [H1, H2],
                    NOW).actions
    assert (action.kind, action.after) == ("recycle", "2026-11-29T12:00:00Z")
    # A container of its own is left to its tenant: its verdict is shown, nothing more.
    assert kinds([want(**running, health="unhealthy")], seen) == []


def test_an_applications_replicas_are_kept_on_one_host() -> None:
    hosts = [replace(H1, id=f"h{i}", name=f"n{i}") for i in range(3)]
    wants = [want(id=f"r{i}", group=f"svc{i % 2}", together="shop") for i in range(4)]
    placed = {a.host_id for a in plan(wants, {h.id: [] for h in hosts}, hosts, NOW).actions}
    assert len(placed) == 1  # spread gives way to keeping the application together
    wants = [want(id="old", group="db", together="shop", host_id="h2", observed="running"),
             want(id="new", group="web", together="shop")]
    assert kinds(wants, {"h0": [], "h1": [], "h2": [obj("running", "old")]}, hosts) == [
        ("place", "h2")]
