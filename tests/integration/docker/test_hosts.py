"""Two real engines as two hosts: placement, drain, and the loss of a host."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import docker

from tests.integration.docker import second_engine
from tests.integration.docker.conftest import Cloud, wait_for
from tests.integration.docker.test_lifecycle import create
from tests.integration.docker.test_reconcile import settle
from wharf.infra.scheduling import LOCAL_ENGINE
from wharf.schedulers.ports import LABEL_CONTAINER, LABEL_INSTALLATION

HOSTS = "{ hosts { id endpoint state containers } }"


def running_on(cloud: Cloud, endpoint: str) -> set[str]:
    client = docker.APIClient(base_url=endpoint)
    try:
        rows = client.containers(filters={"label": f"{LABEL_INSTALLATION}={cloud.installation}",
                                          "status": "running"})
    finally:
        client.close()
    return {r["Labels"][LABEL_CONTAINER] for r in rows}


def everything_on(cloud: Cloud, endpoint: str) -> set[str]:
    client = docker.APIClient(base_url=endpoint)
    try:
        rows = client.containers(all=True, filters={
            "label": f"{LABEL_INSTALLATION}={cloud.installation}"})
    finally:
        client.close()
    return {r["Labels"][LABEL_CONTAINER] for r in rows}


def hosts(cloud: Cloud) -> dict[str, dict[str, Any]]:
    rows = cloud.api.gql(HOSTS, token=cloud.api.operator_token)["hosts"]
    return {r["endpoint"]: r for r in rows}


def test_containers_spread_over_both_hosts(two_hosts: Cloud) -> None:
    cloud = two_hosts
    _, token = cloud.tenant()
    ids = [create(cloud, token, name=f"w{i}", command=["sleep", "600"], cpuMillis=500)
           for i in range(4)]
    settle(cloud)
    one, two = running_on(cloud, LOCAL_ENGINE), running_on(cloud, second_engine.ENDPOINT)
    assert one | two == set(ids) and len(one) == len(two) == 2
    assert Counter(h["containers"] for h in hosts(cloud).values()) == Counter({2: 2})


def test_a_services_replicas_spread_even_when_placement_packs(two_hosts: Cloud) -> None:
    cloud = two_hosts
    cloud.scheduler.containers.strategy = "binpack"  # containers of their own stack up
    _, token = cloud.tenant()
    own = [create(cloud, token, name=f"w{i}", command=["sleep", "600"]) for i in range(2)]
    made = cloud.api.gql("""mutation { createService(input: {name: "web", image: "busybox",
        command: ["sleep", "600"], replicas: 4}) { ... on ServicePayload { service { id
        } } } }""", token=token)["createService"]["service"]["id"]
    settle(cloud)
    replicas = cloud.api.gql("""query($id: ID!) { service(id: $id) { running containers {
        edges { node { id } } } } }""", {"id": made}, token=token)["service"]
    assert replicas["running"] == 4
    ids = {e["node"]["id"] for e in replicas["containers"]["edges"]}
    one, two = running_on(cloud, LOCAL_ENGINE), running_on(cloud, second_engine.ENDPOINT)
    assert len(one & ids) == len(two & ids) == 2
    assert set(own) <= one or set(own) <= two


def test_drain_moves_every_container_off_the_host(two_hosts: Cloud) -> None:
    cloud = two_hosts
    _, token = cloud.tenant()
    ids = [create(cloud, token, name=f"w{i}", command=["sleep", "600"]) for i in range(4)]
    settle(cloud)
    second = hosts(cloud)[second_engine.ENDPOINT]
    assert running_on(cloud, second_engine.ENDPOINT)
    drained = cloud.api.gql("""mutation($id: ID!) { drainHost(input: {id: $id}) {
        __typename } }""", {"id": second["id"]}, token=cloud.api.operator_token)
    assert drained["drainHost"]["__typename"] == "HostPayload"
    settle(cloud)
    assert running_on(cloud, LOCAL_ENGINE) == set(ids)
    assert everything_on(cloud, second_engine.ENDPOINT) == set()
    assert hosts(cloud)[second_engine.ENDPOINT]["containers"] == 0


def test_a_lost_host_s_containers_run_on_the_survivor(two_hosts: Cloud) -> None:
    cloud = two_hosts
    cloud.scheduler.host_health.grace = timedelta(seconds=2)
    _, token = cloud.tenant()
    ids = [create(cloud, token, name=f"w{i}", command=["sleep", "600"]) for i in range(4)]
    settle(cloud)
    stranded = running_on(cloud, second_engine.ENDPOINT)
    assert stranded

    second_engine.stop()
    cloud.scheduler.run_pass()  # first silence: the grace period starts
    assert hosts(cloud)[second_engine.ENDPOINT]["state"] == "active"

    def moved() -> bool:
        result = cloud.scheduler.run_pass()
        cloud.api.wiring.projector.wait(result.position, 10)
        return running_on(cloud, LOCAL_ENGINE) == set(ids)

    wait_for("the lost host's containers on the survivor (grace + one pass)", moved,
             timeout=2 + 5)
    assert hosts(cloud)[second_engine.ENDPOINT]["state"] == "lost"

    # The host comes back: it is active again and its stale copies go.
    second_engine.start()
    settle(cloud)
    assert hosts(cloud)[second_engine.ENDPOINT]["state"] == "active"
    assert everything_on(cloud, second_engine.ENDPOINT) == set()
    assert running_on(cloud, LOCAL_ENGINE) == set(ids)


def test_registering_a_host_reads_its_capacity_from_the_engine(still_cloud: Cloud) -> None:
    cloud = still_cloud
    endpoint = second_engine.start()
    register = """mutation($e: String!) { registerHost(input: {endpoint: $e}) { __typename
        ... on HostPayload { host { cpuMillis memoryMib } } ... on InvalidInput { field } } }"""
    answer = cloud.api.gql(register, {"e": endpoint}, token=cloud.api.operator_token)
    client = docker.APIClient(base_url=endpoint)
    info = client.info()
    client.close()
    assert answer["registerHost"]["host"] == {
        "cpuMillis": info["NCPU"] * 1000, "memoryMib": info["MemTotal"] // (1024 * 1024)}
    silent = cloud.api.gql(register, {"e": "unix:///var/run/no-such-engine.sock"},
                           token=cloud.api.operator_token)
    assert silent["registerHost"] == {"__typename": "InvalidInput", "field": "endpoint"}
