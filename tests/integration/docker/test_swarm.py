"""Wharf's services on a real Docker Swarm: three engines, each in a network namespace of
its own on one bridge, one the manager, reached over mutual TLS as Wharf reaches it."""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import docker.errors
import pytest

from tests.integration.docker.conftest import Cloud, _cloud, caught_up
from tests.integration.docker.netns_engines import (
    NsEngine,
    client,
    form_swarm,
    remove_bridge,
)
from tests.integration.docker.test_applications import fetch
from tests.integration.helpers import wait_for
from wharf.domain.service import UpdatePolicy
from wharf.infra import gateway, runtime_switch
from wharf.infra.bootstrap import RuntimeMismatch
from wharf.infra.hardening import CAPABILITIES, PIDS_LIMIT
from wharf.infra.host_tls import client_files
from wharf.infra.replay import verify
from wharf.infra.scheduling import StatsEngines
from wharf.infra.swarm import SwarmCluster
from wharf.schedulers.cluster import (
    LABEL_SERVICE,
    POOL_LABEL,
    ClusterService,
    ClusterTask,
)
from wharf.schedulers.metrics import sample_running
from wharf.schedulers.ports import LABEL_INSTALLATION, LABEL_MANAGED
from wharf.schedulers.swarm_runtime import SwarmRuntime

INSTALLATION = "swarm-test"
WEB = ("sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 "
       "-h /www")


@pytest.fixture(scope="module")
def nodes() -> Iterator[list[NsEngine]]:
    made = [NsEngine(31 + i, bridged=True) for i in range(3)]
    try:
        for node in made:
            node.start()
        form_swarm(made)
        yield made
    finally:
        for node in made:
            node.wipe()
        remove_bridge()


@pytest.fixture
def swarm(nodes: list[NsEngine], tmp_path: Path) -> Iterator[SwarmCluster]:
    """The manager as Wharf drives it; every node labelled for the public pool. What the
    test made is removed after it."""
    tls = client_files(tmp_path / "tls", nodes[0].credentials)
    cluster = SwarmCluster(nodes[0].endpoint, INSTALLATION, tls=tls)
    try:
        wait_for("every node ready", lambda: len(cluster.nodes()) == 3 and all(
            n.state == "ready" for n in cluster.nodes()), 30)
        for node in cluster.nodes():
            cluster.label_node(node.id, {POOL_LABEL: "public"})
        yield cluster
    finally:
        for name in cluster.services():
            cluster.remove_service(name)
        cluster.close()


def service(name: str, network: str, replicas: int = 6, **changes: object) -> ClusterService:
    fields: dict[str, object] = dict(
        name=f"wharf-svc-{name}", alias=name,
        labels={LABEL_MANAGED: "1", LABEL_INSTALLATION: INSTALLATION, LABEL_SERVICE: name},
        image="busybox:latest", command=WEB, entrypoint=(), env={"GREETING": "hi"},
        cpu_millis=50, memory_mib=32, replicas=replicas, network=network, pool="public",
        update=UpdatePolicy(parallelism=2, monitor_s=3, failure_action="rollback",
                            order="stop-first"))
    fields.update(changes)
    return ClusterService(**fields)  # type: ignore[arg-type]


def running(cluster: SwarmCluster, name: str, count: int) -> list[ClusterTask]:
    def check() -> list[ClusterTask] | None:
        tasks = [t for t in cluster.tasks() if t.service == name and t.running
                 and t.desired == "running"]
        return tasks if len(tasks) == count else None

    return wait_for(f"{count} tasks of {name} running", check, 60)


def test_six_replicas_spread_over_the_nodes_hardened(swarm: SwarmCluster,
                                                      nodes: list[NsEngine]) -> None:
    network = swarm.ensure_network("wharf-app-spread", {})
    assert swarm.apply(service("web", network))
    assert not swarm.apply(service("web", network))  # as it is: nothing to do
    tasks = running(swarm, "web", 6)
    assert Counter(t.node_id for t in tasks) == Counter(
        {n.id: 2 for n in swarm.nodes()})
    # A replica's container as its node's engine made it.
    task = tasks[0]
    owner = next(n for n in nodes if n.address == next(
        node.address for node in swarm.nodes() if node.id == task.node_id))
    api = client(owner)
    try:
        seen = api.inspect_container(task.container_id)
    finally:
        api.close()
    host = seen["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and sorted(host["CapAdd"]) == sorted(CAPABILITIES)
    assert host["Init"] is True and host["PidsLimit"] == PIDS_LIMIT
    assert host["Memory"] == 32 * 1024 * 1024 and host["NanoCpus"] == 50_000_000
    assert host["LogConfig"] == {"Type": "json-file",
                                 "Config": {"max-file": "3", "max-size": "10m"}}
    assert host["PortBindings"] in ({}, None)  # nothing published
    assert "GREETING=hi" in seen["Config"]["Env"]


def test_an_applications_services_reach_each_other_by_name_across_nodes(
        swarm: SwarmCluster) -> None:
    network = swarm.ensure_network("wharf-app-shop", {})
    swarm.apply(service("api", network, replicas=3))
    running(swarm, "api", 3)
    # Each front replica asks `api` by name until every api replica has answered (busybox
    # `wget -T` crashes: `timeout` bounds each try), then serves how many answered.
    ask = ("sh", "-c", "mkdir -p /www; touch /www/seen; for i in $(seq 90); do "
                       "[ $(sort -u /www/seen | wc -l) -ge 3 ] && break; timeout 2 wget -q "
                       "-O - http://api:8080/ >> /www/seen || sleep 0.2; done; "
                       "sort -u /www/seen | wc -l > /www/index.html; "
                       "exec httpd -f -p 8080 -h /www")
    swarm.apply(service("front", network, replicas=3, command=ask))
    fronts = running(swarm, "front", 3)
    apis = {t.node_id for t in running(swarm, "api", 3)}
    assert len(apis) == 3 and len({t.node_id for t in fronts}) == 3  # every pair crosses

    def answered() -> bool:
        return all(_read(swarm, task, "/www/index.html").strip() == "3"
                   for task in running(swarm, "front", 3))

    wait_for("every front replica to have reached all three api replicas by name",
             answered, 60)


def _read(swarm: SwarmCluster, task: ClusterTask, path: str) -> str:
    """A file inside a task's container, read on its node's engine."""
    node = next(n for n in swarm.nodes() if n.id == task.node_id)
    index = int(node.address.rsplit(".", 1)[1])  # (a bridged engine's address ends in it)
    api = client(NsEngine(index, bridged=True))
    try:
        made = api.exec_create(task.container_id, ["cat", path])
        return str(api.exec_start(made).decode())
    except docker.errors.APIError:
        return ""  # (not made yet, or gone)
    finally:
        api.close()


# -- Wharf on the cluster (WHARF_RUNTIME=swarm) ---------------------------------------

REGISTER = """mutation($input: RegisterHostInput!) { registerHost(input: $input) {
  __typename ... on HostPayload { host { id name address } } } }"""
CREATE_SERVICE = """mutation($input: CreateServiceInput!) { createService(input: $input) {
  __typename ... on ServicePayload { service { id } } } }"""
SCALE = """mutation($id: ID!, $n: Int!) { scaleService(input: {id: $id, replicas: $n}) {
  __typename } }"""
REPLICAS = """query($id: ID!) { service(id: $id) {
  containers(first: 100) { edges { node { id name observed hostId } } } } }"""
CREATE = """mutation($input: CreateContainerInput!) { createContainer(input: $input) {
  __typename ... on ContainerPayload { container { id } } } }"""
LOGS = """query($id: ID!) { containerLogs(id: $id) { text } }"""
LIFECYCLE = """mutation($id: ID!) { %s(input: {id: $id}) { __typename } }"""


@dataclass
class SwarmWharf:
    cloud: Cloud
    token: str
    hosts: dict[str, str]  # address -> host id
    cluster: SwarmCluster  # the manager, as this Wharf's installation sees it
    runtime: SwarmRuntime
    loop: threading.Thread  # the runtime's


@pytest.fixture
def swarm_wharf(nodes: list[NsEngine], swarm: SwarmCluster, tmp_path: Path,
                docker_api: docker.APIClient) -> Iterator[SwarmWharf]:
    """A Wharf whose runtime is the cluster: its three nodes registered as hosts over
    mutual TLS, the manager named by WHARF_SWARM_MANAGER, the runtime looping."""
    url = f"sqlite:///{tmp_path / 'home' / 'wharf.db'}"
    for cloud in _cloud(tmp_path, docker_api, url, loop=False, WHARF_RUNTIME="swarm",
                        WHARF_SWARM_MANAGER=nodes[0].name):
        hosts = {}
        for node in nodes:
            credentials = node.credentials
            answer = cloud.api.gql(REGISTER, {"input": {
                "endpoint": node.endpoint, "name": node.name,
                "tls": {"ca": credentials.ca, "cert": credentials.cert,
                        "key": credentials.key}}},
                token=cloud.api.operator_token)["registerHost"]
            assert answer["__typename"] == "HostPayload", answer
            hosts[answer["host"]["address"]] = answer["host"]["id"]
        _, token = cloud.tenant(plan="unlimited")
        runtime = cloud.api.wiring.swarm_runtime(in_process=True, ingress=True)
        thread = threading.Thread(target=runtime.run_forever, args=(2.0,), daemon=True)
        thread.start()
        cluster = SwarmCluster(nodes[0].endpoint, cloud.installation,
                               tls=client_files(tmp_path / "tls-test", nodes[0].credentials))
        try:
            yield SwarmWharf(cloud, token, hosts, cluster, runtime, thread)
        finally:
            runtime.stop()
            thread.join(30)
            cloud.scheduler.close()  # (a test may have run it: nothing made again)
            for name in cluster.services():
                cluster.remove_service(name)
            cluster.close()
            for node in nodes:  # (the gateway; what a direct runtime made)
                if node.process is None:
                    continue  # (a node a test killed)
                api = client(node)
                try:
                    for row in api.containers(all=True, filters={
                            "label": f"{LABEL_INSTALLATION}={cloud.installation}"}):
                        with contextlib.suppress(docker.errors.NotFound):
                            api.remove_container(row["Id"], force=True)
                finally:
                    api.close()


def gone_then_started(history: list[str]) -> bool:
    """A container's history ends with its run gone, then a new one (placed on another
    host first, when the new run is elsewhere)."""
    return history[-2:] == ["Removed", "Started"] or history[-3:] == [
        "Removed", "Placed", "Started"]


def replicas(wharf: SwarmWharf, service_id: str) -> list[dict[str, Any]]:
    data = wharf.cloud.api.gql(REPLICAS, {"id": service_id}, token=wharf.token)
    return [e["node"] for e in data["service"]["containers"]["edges"]]


def replicas_running(wharf: SwarmWharf, service_id: str, count: int,
                     avoid: str = "") -> list[dict[str, Any]]:
    """Waits for the service's replicas to be `count`, each recorded running (none on
    the host `avoid`) where the cluster runs its task."""
    def check() -> list[dict[str, Any]] | None:
        rows = replicas(wharf, service_id)
        live = [r for r in rows if r["observed"] == "running" and r["hostId"] != avoid]
        tasks = running_now(wharf.cluster, service_id)
        return rows if len(rows) == count == len(live) == len(tasks) else None

    return wait_for(f"{count} replicas of {service_id} running", check, 60)


def node_hosts(wharf: SwarmWharf) -> dict[str, str]:
    """The cluster's node ids and the registered hosts they are."""
    return {n.id: wharf.hosts[n.address] for n in wharf.cluster.nodes()
            if n.state == "ready"}


def kinds(wharf: SwarmWharf, object_id: str) -> list[str]:
    app = wharf.cloud.api.wiring.app
    return [type(e).__qualname__.split(".")[-1]
            for e in app.repository.event_store.get(UUID(object_id))]


def create_web(wharf: SwarmWharf, count: int) -> str:
    data = wharf.cloud.api.gql(CREATE_SERVICE, {"input": {
        "name": "web", "image": "busybox:latest", "command": list(WEB), "replicas": count,
        "cpuMillis": 50, "memoryMib": 32}}, token=wharf.token)["createService"]
    assert data["__typename"] == "ServicePayload", data
    service_id: str = data["service"]["id"]
    return service_id


def replayed_equal(wharf: SwarmWharf) -> None:
    wiring = wharf.cloud.api.wiring
    caught_up(wiring)
    position, diffs = verify(wiring.app, wiring.view, wiring.settings.database_url)
    assert position > 0 and diffs and [d.table for d in diffs if not d.same] == []


def test_wharf_runs_services_and_containers_on_swarm_and_records_what_it_did(
        swarm_wharf: SwarmWharf) -> None:
    wharf = swarm_wharf
    web = create_web(wharf, 4)
    rows = replicas_running(wharf, web, 4)
    # Each replica is recorded on the host whose node runs its slot's task.
    where = node_hosts(wharf)
    tasks = {t.slot: where[t.node_id] for t in running_now(wharf.cluster, web)}
    assert {r["name"]: r["hostId"] for r in rows} == {
        f"web.{slot}": host for slot, host in tasks.items()}
    assert len({r["hostId"] for r in rows}) == 3  # spread over the three nodes
    assert kinds(wharf, rows[0]["id"])[:3] == ["Created", "Placed", "Started"]

    # Its swarm service removed behind Wharf's back: recorded, and made again at once.
    wharf.cluster.remove_service(f"wharf-svc-{web}-v1")
    began = time.monotonic()
    wait_for("each replica recorded gone, then running again", lambda: all(
        gone_then_started(kinds(wharf, r["id"])) for r in rows), 30)
    rows = replicas_running(wharf, web, 4)
    assert time.monotonic() - began < 20

    # Scaled down: the replicas Wharf deleted are recorded removed, and two tasks run.
    assert wharf.cloud.api.gql(SCALE, {"id": web, "n": 2}, token=wharf.token)[
        "scaleService"]["__typename"] == "ServicePayload"
    kept = replicas_running(wharf, web, 2)
    gone = {r["id"] for r in rows} - {r["id"] for r in kept}
    for replica in gone:
        wait_for("the deleted replica recorded removed",
                 lambda r=replica: kinds(wharf, r)[-1] == "Removed", 30)

    # A lone container: a one-replica service; stopped, its run's end is recorded.
    made = wharf.cloud.api.gql(CREATE, {"input": {
        "name": "lone", "image": "busybox:latest",
        "command": ["sh", "-c", "echo hello from a swarm task; exec sleep 600"],
        "cpuMillis": 50, "memoryMib": 32}}, token=wharf.token)["createContainer"]
    lone = made["container"]["id"]
    seen = wharf.cloud.wait_observed(wharf.token, lone, "running", 60)
    assert seen["hostId"] in wharf.hosts.values()
    # Its output, copied from its node's engine into Wharf's log store.
    logged = wait_for("the task's output in the container's logs", lambda: wharf.cloud.api.gql(
        LOGS, {"id": lone}, token=wharf.token)["containerLogs"], 30)
    assert [line["text"] for line in logged] == ["hello from a swarm task"]
    assert wharf.cloud.api.gql(LIFECYCLE % "stopContainer", {"id": lone},
                               token=wharf.token)["stopContainer"]["__typename"] == \
        "ContainerPayload"
    wharf.cloud.wait_observed(wharf.token, lone, "exited", 60)
    assert wharf.cloud.api.gql(LIFECYCLE % "deleteContainer", {"id": lone},
                               token=wharf.token)["deleteContainer"]["__typename"] == \
        "ContainerPayload"
    wait_for("the lone container's service gone", lambda: not any(
        lone in name for name in wharf.cluster.services()), 30)
    assert kinds(wharf, lone)[-1] == "Removed"

    # A spec larger than a swarm service may be: refused as the container's failure,
    # once, not sent to the manager on every pass.
    made = wharf.cloud.api.gql(CREATE, {"input": {
        "name": "heavy", "image": "busybox:latest", "cpuMillis": 50, "memoryMib": 32,
        "env": [{"name": f"V{i}", "value": "x" * 32768} for i in range(9)]}},
        token=wharf.token)["createContainer"]
    heavy = wait_for("the heavy container's failure", lambda: wharf.cloud.container(
        wharf.token, made["container"]["id"])["failure"], 30)
    assert heavy == ("its environment with its secrets is 288 KiB; a swarm service's "
                     "holds at most 256 KiB")

    # An image no node can have: the cluster's refusal is the container's failure.
    made = wharf.cloud.api.gql(CREATE, {"input": {
        "name": "absent", "image": "127.0.0.1:9/absent:1", "cpuMillis": 50,
        "memoryMib": 32}}, token=wharf.token)["createContainer"]
    absent = made["container"]["id"]
    failure = wait_for("the failure recorded", lambda: wharf.cloud.container(
        wharf.token, absent)["failure"], 60)
    assert "127.0.0.1:9/absent:1" in failure
    replayed_equal(wharf)


METRICS = """query($t: ID!) { metrics(target: $t, step: 3600) { memoryBytes } }"""
ENDPOINTS = """query($id: ID!) { service(id: $id) { endpoints { containerPort address } } }"""
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(address: str) -> str | None:
    try:
        with DIRECT.open(f"http://{address}{'' if '/' in address else '/'}",
                         timeout=5) as answer:
            return str(answer.read().decode().strip())
    except OSError:
        return None


def test_a_balanced_service_on_swarm_answers_through_wharfs_ingress_from_every_node(
        swarm_wharf: SwarmWharf) -> None:
    wharf = swarm_wharf
    # Each replica serves its hostname, and what it is told of a request (CGI's env).
    serve = ("mkdir -p /www/cgi-bin && hostname > /www/index.html && "
             "printf '#!/bin/sh\\necho Content-Type: text/plain; echo\\nenv\\n' > "
             "/www/cgi-bin/env && chmod +x /www/cgi-bin/env && exec httpd -f -p 8080 -h /www")
    data = wharf.cloud.api.gql(CREATE_SERVICE, {"input": {
        "name": "web", "image": "busybox:latest", "command": ["sh", "-c", serve],
        "replicas": 6,
        "cpuMillis": 50, "memoryMib": 32,
        "ports": [{"containerPort": 8080, "loadBalanced": True}]}},
        token=wharf.token)["createService"]
    web = data["service"]["id"]
    rows = replicas_running(wharf, web, 6)
    assert len({r["hostId"] for r in rows}) == 3
    address = wait_for("the balanced port's listener", lambda: wharf.cloud.api.gql(
        ENDPOINTS, {"id": web}, token=wharf.token)["service"]["endpoints"][0]["address"],
        30)
    # Round robin over the six replicas, each on its node: every hostname answers.
    names = {f"wharf-svc-{web}-v1-{slot}" for slot in range(1, 7)}
    seen: set[str] = set()
    wait_for("every replica to answer through the ingress", lambda: (
        seen.update(filter(None, (get(address) for _ in range(6)))) or seen >= names), 60)
    assert seen == names
    # No replica learns the gateway's key (its tenant could use the gateway with it).
    told = wait_for("a replica's CGI answering", lambda: get(f"{address}/cgi-bin/env"), 30)
    assert "HTTP_WHARF_GATEWAY_KEY" not in told and "HTTP_WHARF_ROUTE" not in told, told
    assert "HTTP_HOST" in told  # (what a request does carry)
    # The gateway's port serves no one who lacks its key (a tenant's container on the
    # same overlay could reach it): asked directly, even naming the route, it refuses.
    name = gateway.container_name(wharf.cloud.installation)
    made = wharf.cluster.api.inspect_container(name)
    # On every balanced service's overlay, it routes no packet between them.
    assert made["HostConfig"]["Sysctls"]["net.ipv4.ip_forward"] == "0"
    published = made["NetworkSettings"]["Ports"]["8000/tcp"][0]
    request = urllib.request.Request(
        f"http://{published['HostIp']}:{published['HostPort']}/",
        headers={"Wharf-Route": f"svc-{web}-8080", "Wharf-Gateway-Key": "guess"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        DIRECT.open(request, timeout=5)
    refused.value.close()
    assert refused.value.code == 404

    # The gateway removed by hand: made again, configured again, answering again.
    wharf.cluster.api.remove_container(name, force=True)
    wait_for("the ingress answering through a new gateway", lambda: get(address) in names,
             30)

    # Each replica's metrics, sampled on its node's engine, summed for the service.
    wiring = wharf.cloud.api.wiring
    with StatsEngines(wiring.app.installation, wiring.connector()) as engines:
        sample_running(wiring.view, engines, wiring.metrics, wiring.app.clock)
    [summed] = wharf.cloud.api.gql(METRICS, {"t": web}, token=wharf.token)["metrics"]
    each = [wharf.cloud.api.gql(METRICS, {"t": r["id"]}, token=wharf.token)["metrics"][0]
            for r in rows]
    assert all(e["memoryBytes"] > 0 for e in each)
    assert summed["memoryBytes"] == sum(e["memoryBytes"] for e in each)


SHOP = """
services:
  api:
    image: busybox:latest
    command: [sh, -c, "mkdir -p /www && hostname > /www/index.html &&
      exec httpd -f -p 5000 -h /www"]
    healthcheck: {test: [CMD, test, -f, /www/index.html], interval: 1s, timeout: 2s, retries: 3}
    deploy: {replicas: 2, resources: {limits: {cpus: "0.05", memory: 32M}}}
  front:
    image: busybox:latest
    command:
      - sh
      - -c
      - |
        mkdir -p /www/cgi-bin
        {
          echo '#!/bin/sh'
          echo 'echo Content-Type: text/plain; echo'
          echo 'echo "front sees $$(timeout 2 wget -qO- http://api:5000/)"'
        } > /www/cgi-bin/v
        chmod +x /www/cgi-bin/v
        exec httpd -f -p 80 -h /www
    ports: ["8080:80"]
    depends_on: {api: {condition: service_healthy}}
    deploy: {replicas: 2, resources: {limits: {cpus: "0.05", memory: 32M}}}
"""
DEPLOY = """mutation($input: DeployApplicationInput!) { deployApplication(input: $input) {
  __typename ... on ApplicationPayload { application { hosts services { id name } } } } }"""


def test_an_application_on_swarm_starts_in_order_and_answers_by_name_through_the_gateway(
        swarm_wharf: SwarmWharf) -> None:
    wharf = swarm_wharf
    made = wharf.cloud.api.gql(DEPLOY, {"input": {"name": "shop", "compose": SHOP}},
                               token=wharf.token)["deployApplication"]
    assert made["__typename"] == "ApplicationPayload", made
    ids = {s["name"]: s["id"] for s in made["application"]["services"]}
    fronts = replicas_running(wharf, ids["shop-front"], 2)
    replicas_running(wharf, ids["shop-api"], 2)
    # front waited for api to pass its check (Swarm runs a checked task once it passes).
    history = kinds(wharf, fronts[0]["id"])
    assert "Unschedulable" in history and history.index("Unschedulable") < history.index(
        "Placed"), history
    routes = swarm_wharf.runtime.routes
    assert routes is not None
    port = routes.ingress.http_port
    # By its name, over HTTP through Wharf's Caddy and the gateway; front asks api by
    # name on the application's overlay, across nodes.
    answer = wait_for("the application answering by name", lambda: (
        found if (found := fetch(port, made["application"]["hosts"][0])) and
        found.startswith(f"front sees wharf-svc-{ids['shop-api']}-v1-") else None), 60)
    assert answer
    replayed_equal(wharf)


UPDATE = """mutation($input: UpdateServiceInput!) { updateService(input: $input) {
  __typename ... on ServicePayload { service { version } } } }"""
VERSIONS = """query($id: ID!) { service(id: $id) { version rolledOutVersion running
  containers(first: 20) { edges { node { observed } } } } }"""


def test_a_rolling_update_on_swarm_is_recorded_and_a_broken_version_rolls_back(
        swarm_wharf: SwarmWharf) -> None:
    wharf = swarm_wharf
    web = create_web(wharf, 3)
    replicas_running(wharf, web, 3)
    policy = {"parallelism": 2, "monitorS": 1}

    def update(command: list[str]) -> int:
        answer = wharf.cloud.api.gql(UPDATE, {"input": {
            "id": web, "image": "busybox:latest", "command": command, "cpuMillis": 50,
            "memoryMib": 32, "env": [{"name": "GREETING", "value": "v2"}],
            "updatePolicy": policy}}, token=wharf.token)["updateService"]
        assert answer["__typename"] == "ServicePayload", answer
        version: int = answer["service"]["version"]
        return version

    def settled(version: int) -> bool:
        now = wharf.cloud.api.gql(VERSIONS, {"id": web}, token=wharf.token)["service"]
        rows = [e["node"] for e in now["containers"]["edges"]]
        tasks = running_now(wharf.cluster, web)  # (every version's)
        return (now["version"] == now["rolledOutVersion"] == version and len(rows) == 3
                and all(r["observed"] == "running" for r in rows) and len(tasks) == 3
                and {t.service for t in tasks} == {f"{web}.v{version}"})

    assert update(list(WEB)) == 2
    wait_for("version 2 rolled out on the cluster", lambda: settled(2), 90)
    assert not running_now(wharf.cluster, f"{web}.v1")  # (its service is gone)
    rolled = [e for e in wharf.cloud.api.wiring.app.repository.event_store.get(UUID(web))
              if type(e).__name__ == "Rolled"]
    assert [len(e.pairs) for e in rolled] == [2, 1]  # two replicas at a time

    # A version whose replicas die at once: Wharf sees the exits and rolls it back.
    assert update(["sh", "-c", "exit 3"]) == 3
    wait_for("the broken version rolled back", lambda: settled(2), 90)
    back = [e for e in wharf.cloud.api.wiring.app.repository.event_store.get(UUID(web))
            if type(e).__name__ == "RolledBack"]
    assert len(back) == 1 and back[0].from_version == 3 and "exited" in back[0].reason
    replayed_equal(wharf)


def test_switching_runtimes_shows_the_plan_then_moves_every_workload_there_and_back(
        swarm_wharf: SwarmWharf) -> None:
    wharf = swarm_wharf
    wiring = wharf.cloud.api.wiring
    web = create_web(wharf, 3)
    before = replicas_running(wharf, web, 3)

    moves = runtime_switch.plan(wiring, "direct")
    names = {host: f"wharf-ns{address.rsplit('.', 1)[1]}"  # (each node's host's name)
             for address, host in wharf.hosts.items()}
    assert sorted((m.name, m.where, m.becomes) for m in moves) == sorted(
        (r["name"], names[r["hostId"]], "running on direct") for r in before)
    # (`wharf runtime switch` refuses while a Wharf leads the scheduler; here the Swarm
    # runtime still runs, as if it had not been stopped: its term taken, it stops acting
    # instead of making again what the switch removes)
    said: list[str] = []
    assert runtime_switch.switch(wiring, "direct", said.append) == 3
    assert not wharf.cluster.services() and said == [
        "swarm: 1 services and 3 running tasks taken down"]
    wharf.loop.join(10)
    assert not wharf.loop.is_alive()
    caught_up(wiring)
    with pytest.raises(RuntimeMismatch, match="run on direct"):  # (WHARF_RUNTIME=swarm)
        wiring.runtime(in_process=True)

    # The direct runtime runs them again, each on a host's engine, from the log.
    scheduler = wharf.cloud.scheduler
    direct = threading.Thread(target=scheduler.run_forever, args=(1.0,), daemon=True)
    direct.start()
    wait_for("the replicas running on the direct runtime", lambda: len(
        [r for r in replicas(wharf, web) if r["observed"] == "running"]) == 3, 60)
    assert not wharf.cluster.services()  # (each replica runs once: no swarm copy)
    for row in before:
        assert gone_then_started(kinds(wharf, row["id"]))

    # And back: the direct runtime's containers taken down from each host's engine, and
    # the cluster runs them again.
    scheduler.stop()
    direct.join(30)
    assert {m.becomes for m in runtime_switch.plan(wiring, "swarm")} == {"running on swarm"}
    said.clear()
    assert runtime_switch.switch(wiring, "swarm", said.append) == 3
    assert sum(int(line.split(": ")[1].split()[0]) for line in said) == 3, said
    caught_up(wiring)
    again = wiring.swarm_runtime(in_process=True, ingress=False)
    loop = threading.Thread(target=again.run_forever, args=(1.0,), daemon=True)
    loop.start()
    try:
        replicas_running(wharf, web, 3)
        for row in before:
            assert gone_then_started(kinds(wharf, row["id"]))
        replayed_equal(wharf)
    finally:
        again.stop()
        loop.join(30)


def test_a_stopped_worker_s_replicas_run_on_the_others_and_the_log_says_so(
        swarm_wharf: SwarmWharf, nodes: list[NsEngine]) -> None:
    wharf = swarm_wharf
    web = create_web(wharf, 6)
    rows = replicas_running(wharf, web, 6)
    worker = nodes[2]
    lost = wharf.hosts[worker.address]
    moved = [r["id"] for r in rows if r["hostId"] == lost]
    assert moved  # (two of six on each node)
    gone = next(n.id for n in wharf.cluster.nodes() if n.address == worker.address)
    began = time.monotonic()
    worker.stop()  # by pid: a host that goes away
    wait_for("the worker marked down", lambda: any(
        n.id == gone and n.state == "down" for n in wharf.cluster.nodes()), 30)
    after = replicas_running(wharf, web, 6, avoid=lost)
    assert {r["hostId"] for r in after} <= set(wharf.hosts.values()) - {lost}
    assert time.monotonic() - began < 60
    for replica in moved:  # placed again, where the cluster ran it, and started there
        history = wait_for("the move and the new run recorded", lambda r=replica: (
            found if (found := kinds(wharf, r))[-2:] == ["Placed", "Started"] else None),
            30)
        assert history.count("Placed") == 2, history
    assert "Lost" in kinds(wharf, lost)  # (the host, as the manager saw its node)
    replayed_equal(wharf)


def running_now(cluster: SwarmCluster, name: str) -> list[ClusterTask]:
    """The running tasks of `name`: a driver test's service, a Wharf service's version
    (`ID.vN`), or every version of a Wharf service (its id)."""
    return [t for t in cluster.tasks() if name in (t.service, t.service.split(".v")[0])
            and t.running and t.desired == "running"]
