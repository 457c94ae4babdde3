"""A service scaled 0 -> 20 and 20 -> 0 on the Swarm runtime, versus the docker SDK driving
the same Swarm directly, in the same run (goal: at most 1.1x).

Three Docker engines, each in a network namespace of its own on one bridge, form a swarm
(tests/integration/docker/netns_engines.py; root, `ip netns` and dockerd needed). Wharf is
`wharf up` with WHARF_RUNTIME=swarm, the nodes registered as hosts over mutual TLS.

- Wharf: `scaleService` to 20, until the read side records 20 replicas running (each on
  the host its task runs on); then to 0, until every replica is recorded removed and the
  manager lists no running task.
- Baseline: the same swarm service spec (`infra/swarm_spec.py`) made with the SDK on the
  manager's socket, scaled to 20 until the task list shows 20 running; then to 0 until it
  shows none.

Each ratio is the median of ROUNDS alternating rounds, with its range.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import docker

from bench.api import Server
from bench.services import WEB, spread, wait
from tests.integration.docker.netns_engines import NsEngine, client, form_swarm, remove_bridge
from wharf.infra.swarm_spec import service_spec
from wharf.schedulers.cluster import POOL_LABEL, ClusterService
from wharf.schedulers.ports import LABEL_INSTALLATION, LABEL_MANAGED

ROUNDS = int(os.environ.get("WHARF_BENCH_ROUNDS", "5"))
COUNT = 20
FIRST_NODE = 41  # namespaces wharf-ns41..43 (the tests use others)

REGISTER = """mutation($input: RegisterHostInput!) { registerHost(input: $input) {
  __typename } }"""
STATE = """query($id: ID!) { service(id: $id) { running
  containers(first: 100) { edges { node { observed } } } } }"""


def _sdk_round(api: docker.APIClient, spec: dict[str, Any]) -> tuple[float, float]:
    """The baseline: scale up until COUNT run, then down until none runs."""
    made = api.create_service(spec["TaskTemplate"], name=spec["Name"], labels=spec["Labels"],
                              mode={"Replicated": {"Replicas": 0}},
                              endpoint_spec=spec["EndpointSpec"])
    ident = made["ID"]

    def scale(replicas: int) -> None:
        current = api.inspect_service(ident)
        api.update_service(ident, current["Version"]["Index"],
                           task_template=current["Spec"]["TaskTemplate"],
                           name=spec["Name"], labels=spec["Labels"],
                           mode={"Replicated": {"Replicas": replicas}},
                           endpoint_spec=spec["EndpointSpec"])

    def running() -> int:
        return sum(1 for t in api.tasks(filters={"service": ident})
                   if t["Status"]["State"] == "running" and t["DesiredState"] == "running")

    def none_runs() -> bool:
        return not any(t["Status"]["State"] == "running"
                       for t in api.tasks(filters={"service": ident}))

    began = time.perf_counter()
    scale(COUNT)
    wait("the SDK's replicas running", lambda: running() == COUNT)
    up = time.perf_counter() - began
    began = time.perf_counter()
    scale(0)
    wait("the SDK's replicas gone", none_runs)
    down = time.perf_counter() - began
    api.remove_service(ident)
    return up, down


def _wharf_round(server: Server, token: str, service_id: str,
                 api: docker.APIClient) -> tuple[float, float]:
    conn = server.connect()

    def state() -> dict[str, Any]:
        found: dict[str, Any] = server.post(STATE, token, conn, {"id": service_id})[
            "data"]["service"]
        return found

    def scale(replicas: int) -> None:
        server.post("""mutation($id: ID!, $n: Int!) { scaleService(input: {id: $id,
            replicas: $n}) { __typename } }""", token, conn, {"id": service_id, "n": replicas})

    def all_removed() -> bool:
        rows = state()["containers"]["edges"]
        return all(e["node"]["observed"] == "removed" for e in rows) and not any(
            t["Status"]["State"] == "running" for t in api.tasks(
                filters={"label": f"{LABEL_MANAGED}=1"}))

    began = time.perf_counter()
    scale(COUNT)
    wait("Wharf's replicas running", lambda: state()["running"] == COUNT)
    up = time.perf_counter() - began
    began = time.perf_counter()
    scale(0)
    wait("Wharf's replicas removed", all_removed)
    down = time.perf_counter() - began
    return up, down


def run() -> list[str]:
    nodes = [NsEngine(FIRST_NODE + i, bridged=True) for i in range(3)]
    lines = []
    try:
        for node in nodes:
            node.start()
        form_swarm(nodes)
        api = client(nodes[0])
        for node in api.nodes():
            spec = node["Spec"]
            api.update_node(node["ID"], node["Version"]["Index"],
                            {**spec, "Labels": {POOL_LABEL: "public"}})
        with tempfile.TemporaryDirectory() as home:
            server = Server(Path(home), scheduler=True, WHARF_RUNTIME="swarm",
                            WHARF_SWARM_MANAGER=nodes[0].name, WHARF_INGRESS="off",
                            WHARF_METRICS_EVERY="86400", WHARF_DISK_EVERY="86400",
                            WHARF_SCHEDULER_INTERVAL="1")
            try:
                lines = _measure(server, nodes, api)
            finally:
                server.stop()
        api.close()
    finally:
        for node in nodes:
            node.wipe()
        remove_bridge()
    for line in lines:
        print(line, flush=True)
    return lines


def _measure(server: Server, nodes: list[NsEngine], api: docker.APIClient) -> list[str]:
    conn = server.connect()
    for node in nodes:
        credentials = node.credentials
        answer = server.post(REGISTER, server.token, conn, {"input": {
            "endpoint": node.endpoint, "name": node.name,
            "tls": {"ca": credentials.ca, "cert": credentials.cert,
                    "key": credentials.key}}})
        assert answer["data"]["registerHost"]["__typename"] == "HostPayload", answer
    token = server.post("""mutation { createTenant(input: {name: "bench", owner: "o@b.io",
        plan: "unlimited"}) { ... on TenantCreated { ownerToken } } }""", server.token,
                        conn)["data"]["createTenant"]["ownerToken"]
    made = server.post("""mutation($input: CreateServiceInput!) { createService(input:
        $input) { ... on ServicePayload { service { id } } } }""", token, conn, {"input": {
        "name": "web", "image": "busybox:latest", "command": WEB, "replicas": 0,
        "cpuMillis": 50, "memoryMib": 32}})
    service_id = made["data"]["createService"]["service"]["id"]
    baseline = service_spec(ClusterService(
        name="bench-sdk-web", alias="web", labels={LABEL_INSTALLATION: "bench-sdk"},
        image="busybox:latest", command=tuple(WEB), entrypoint=(), env={},
        cpu_millis=50, memory_mib=32, replicas=0,
        network=api.create_network("bench-sdk", driver="overlay", attachable=True)["Id"],
        pool="public"))
    ups, downs, wharf_figures, sdk_figures = [], [], [], []
    for _ in range(ROUNDS):
        sdk_up, sdk_down = _sdk_round(api, baseline)
        wharf_up, wharf_down = _wharf_round(server, token, service_id, api)
        ups.append(wharf_up / sdk_up)
        downs.append(wharf_down / sdk_down)
        wharf_figures.append((wharf_up, wharf_down))
        sdk_figures.append((sdk_up, sdk_down))

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    return [
        f"swarm scale 0->{COUNT}: Wharf {median([w[0] for w in wharf_figures]):5.2f} s, "
        f"SDK on Swarm {median([s[0] for s in sdk_figures]):5.2f} s: {spread(ups)}",
        f"swarm scale {COUNT}->0: Wharf {median([w[1] for w in wharf_figures]):5.2f} s, "
        f"SDK on Swarm {median([s[1] for s in sdk_figures]):5.2f} s: {spread(downs)}",
    ]


if __name__ == "__main__":
    run()
