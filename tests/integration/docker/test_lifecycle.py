"""A tenant's container on a real Docker Engine, driven through the GraphQL API."""

from __future__ import annotations

import logging
import urllib.request
from typing import Any
from uuid import UUID

import pytest

from tests.integration.docker.conftest import Cloud, caught_up, wait_for
from wharf.infra.docker_networks import network_name
from wharf.infra.hardening import CAPABILITIES, PIDS_LIMIT
from wharf.schedulers.ports import docker_name

CREATE = """mutation($input: CreateContainerInput!) { createContainer(input: $input) {
  __typename ... on ContainerPayload { container { id observed } position }
  ... on InvalidInput { field message } } }"""
BY_ID = """mutation($id: ID!) { %s(input: {id: $id}) { __typename
  ... on ContainerPayload { container { desired observed } } ... on Conflict { message } } }"""

WEB = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && httpd -f -p 80 -h /www"]


def create(cloud: Cloud, token: str, **spec: Any) -> str:
    spec.setdefault("image", "busybox")
    data = cloud.api.gql(CREATE, {"input": spec}, token=token)["createContainer"]
    assert data["__typename"] == "ContainerPayload", data
    container_id: str = data["container"]["id"]
    return container_id


def by_id(cloud: Cloud, token: str, mutation: str, container_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = cloud.api.gql(BY_ID % mutation, {"id": container_id},
                                           token=token)[mutation]
    return answer


def events_of(cloud: Cloud, container_id: str) -> list[str]:
    app = cloud.api.wiring.app
    return [type(e).__qualname__.split(".")[-1]
            for e in app.repository.event_store.get(UUID(container_id))]


def test_create_run_answer_stop_delete(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    cid = create(cloud, token, name="web", command=WEB, ports=[{"containerPort": 80}])

    running = cloud.wait_observed(token, cid, "running")
    [port] = running["ports"]
    assert port["containerPort"] == "80/tcp" and port["hostIp"] == "127.0.0.1"
    def answer() -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port['hostPort']}/",
                                        timeout=5) as reply:
                return str(reply.read().decode().strip())
        except OSError:  # running, but httpd may not listen yet
            return None

    assert wait_for("the port to answer", answer, timeout=15) == cid[:12]  # its hostname
    [listed] = cloud.ours()
    assert listed["Names"] == [f"/{docker_name(cid)}"] and listed["State"] == "running"

    assert by_id(cloud, token, "stopContainer", cid)["__typename"] == "ContainerPayload"
    stopped = cloud.wait_observed(token, cid, "exited", timeout=15)
    assert stopped["exitCode"] is not None and stopped["oomKilled"] is False
    assert cloud.ours()[0]["State"] == "exited"

    assert by_id(cloud, token, "deleteContainer", cid)["__typename"] == "ContainerPayload"
    cloud.wait_observed(token, cid, "removed", timeout=15)
    assert cloud.ours() == []
    assert events_of(cloud, cid) == [
        "Created", "Placed", "Started", "StopRequested", "Exited", "DeleteRequested",
        "Removed"]


def test_hardened_by_default_and_secrets_stay_out_of_logs(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant_id, token = cloud.tenant()
    secret = "s3cr3t-value-9f8e7d"
    answer = cloud.api.gql("""mutation($v: String!) { setSecret(input: {name: "db-password",
        value: $v}) { __typename } }""", {"v": secret}, token=token)
    assert answer["setSecret"]["__typename"] == "SecretPayload"
    cid = create(cloud, token, name="app", command=["sleep", "600"], cpuMillis=250,
                 memoryMib=64, ports=[{"containerPort": 80}, {"containerPort": 9000,
                                                               "publish": False}],
                 secrets=[{"name": "db-password"}],
                 healthCheck={"test": ["true"], "intervalS": 5, "retries": 2})
    cloud.wait_observed(token, cid, "running")

    inspected = cloud.docker.inspect_container(docker_name(cid))
    host = inspected["HostConfig"]
    assert host["Privileged"] is False
    assert host["CapDrop"] == ["ALL"]
    assert set(host["CapAdd"]) <= set(CAPABILITIES)
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PidsLimit"] == PIDS_LIMIT
    assert host["Memory"] == 64 * 1024 * 1024 == host["MemorySwap"]
    assert host["NanoCpus"] == 250_000_000
    assert host["Init"] is True
    assert host["RestartPolicy"]["Name"] in ("", "no")
    # Never the host's network: its tenant's own bridge network.
    [network] = cloud.docker.networks(names=[network_name(tenant_id, cloud.installation)])
    assert host["NetworkMode"] == network["Id"] and network["Driver"] == "bridge"
    assert host["Binds"] in (None, [])
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    assert "9000/tcp" in inspected["Config"]["ExposedPorts"]
    assert f"DB_PASSWORD={secret}" in inspected["Config"]["Env"]
    assert inspected["Config"]["Healthcheck"] == {
        "Test": ["CMD", "true"], "Interval": 5_000_000_000, "Timeout": 10_000_000_000,
        "Retries": 2}  # (a start period of 0 is left out by the engine)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert secret not in logged


def test_a_failing_container_is_restarted_per_its_policy(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    cid = create(cloud, token, name="crashy", command=["sh", "-c", "sleep 0.2; exit 3"],
                 restartPolicy="on-failure")
    row = wait_for("two restarts", lambda: (r := cloud.container(token, cid))["restarts"] >= 2
                   and r, timeout=30)
    assert row["exitCode"] in (3, None)
    history = events_of(cloud, cid)
    assert history[:5] == ["Created", "Placed", "Started", "Exited", "Restarted"]
    assert history.count("Restarted") >= 2
    # Every restart answers one exit, and every exit was a run that started.
    assert history.count("Exited") >= history.count("Restarted")
    assert history.count("Started") == history.count("Restarted") + 1 or \
        history.count("Started") == history.count("Restarted")


def test_no_restart_policy_leaves_an_exit_alone(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    cid = create(cloud, token, name="once", command=["sh", "-c", "exit 4"])
    row = cloud.wait_observed(token, cid, "exited", exitCode=4)
    assert row["restarts"] == 0
    cloud.scheduler.run_pass()
    assert events_of(cloud, cid) == ["Created", "Placed", "Started", "Exited"]


def test_an_oom_kill_is_recorded_as_such(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    # Holds ~64 MiB in the shell's memory, four times the limit.
    hog = ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); sleep 60"]
    cid = create(cloud, token, name="hog", command=hog, memoryMib=16)
    row = cloud.wait_observed(token, cid, "exited", timeout=30)
    assert row["oomKilled"] is True
    assert row["exitCode"] == 137


def test_a_refusal_of_the_engine_is_shown_on_the_container(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    cid = create(cloud, token, name="ghost", image="no-such-image:1")
    row = wait_for("the failure", lambda: (r := cloud.container(token, cid))["failure"] and r)
    assert "no-such-image" in row["failure"] and row["observed"] == "pending"
    assert "Failed" in events_of(cloud, cid)


def test_suspending_a_tenant_stops_its_containers_and_resuming_starts_them(
    cloud: Cloud,
) -> None:
    tenant_id, token = cloud.tenant()
    cid = create(cloud, token, name="svc", command=["sleep", "600"])
    cloud.wait_observed(token, cid, "running")
    operator = cloud.api.operator_token
    for action, state in (("suspendTenant", "exited"), ("resumeTenant", "running")):
        document = "mutation($id: ID!) { ACTION(input: {id: $id}) { __typename } }"
        answer = cloud.api.gql(document.replace("ACTION", action), {"id": tenant_id},
                               token=operator)
        assert answer[action]["__typename"] == "TenantPayload"
        cloud.wait_observed(token, cid, state, timeout=20)
    assert [r["State"] for r in cloud.ours()] == ["running"]


def test_a_tenant_learns_why_nothing_fits_in_its_own_terms_only(still_cloud: Cloud) -> None:
    """No host has 64 CPUs: the tenant is told what its container asks for; only the
    operator sees each host's free capacity and name (what other tenants hold)."""
    _, token = still_cloud.tenant()
    cid = create(still_cloud, token, name="huge", cpuMillis=64_000)
    still_cloud.scheduler.run_pass()
    caught_up(still_cloud.api.wiring)
    mine = still_cloud.container(token, cid)
    assert mine["unschedulable"] == ["no room for the 64000m CPU it reserves"]
    assert mine["hostRejections"] is None
    operators = still_cloud.container(still_cloud.api.operator_token, cid)
    [rejection] = operators["hostRejections"]
    assert rejection["reason"].startswith("needs 64000m CPU, ") and " free of " in (
        rejection["reason"])
    audit = still_cloud.api.gql("{ auditLog(first: 5) { edges { node { summary } } } }",
                                token=token)["auditLog"]["edges"]
    said = [e["node"]["summary"] for e in audit if "no host" in e["node"]["summary"]]
    assert said == ["no host takes it: no room for the 64000m CPU it reserves"]
    assert rejection["host"] not in str(mine) + str(audit)


def test_a_container_paused_behind_wharfs_back_is_recorded_and_thawed(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    cid = create(cloud, token, name="frozen", command=["sleep", "600"])
    cloud.wait_observed(token, cid, "running")
    cloud.docker.pause(docker_name(cid))
    wait_for("Wharf to thaw it", lambda: "Unpaused" in events_of(cloud, cid), timeout=30)
    state = cloud.docker.inspect_container(docker_name(cid))["State"]
    assert state["Status"] == "running" and not state["Paused"]
    seen = events_of(cloud, cid)
    assert seen.index("Paused") < seen.index("Unpaused")
    cloud.wait_observed(token, cid, "running")
    # The audit trail is a consumer of its own: reading it as of now asks for the head.
    head = cloud.api.wiring.app.recorder.max_notification_id() or 0
    status, answer = cloud.api.post("{ auditLog(first: 10) { edges { node { summary } } } }",
                                    token=token, headers={"Wharf-Min-Position": str(head)})
    assert status == 200, answer
    audit = answer["data"]["auditLog"]["edges"]
    assert "found paused (frozen behind Wharf's back)" in [e["node"]["summary"]
                                                            for e in audit]
