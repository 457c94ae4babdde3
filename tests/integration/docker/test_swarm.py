"""Wharf's services on a real Docker Swarm: three engines, each in a network namespace of
its own on one bridge, one the manager, reached over mutual TLS as Wharf reaches it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest

from tests.integration.docker.netns_engines import NsEngine, client, remove_bridge
from tests.integration.helpers import wait_for
from wharf.domain.service import UpdatePolicy
from wharf.infra.hardening import CAPABILITIES, PIDS_LIMIT
from wharf.infra.host_tls import client_files
from wharf.infra.swarm import LABEL_SERVICE, SwarmCluster, SwarmTask
from wharf.infra.swarm_spec import POOL_LABEL, SwarmService
from wharf.schedulers.ports import LABEL_INSTALLATION, LABEL_MANAGED

INSTALLATION = "swarm-test"
WEB = ("sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 "
       "-h /www")


@pytest.fixture(scope="module")
def nodes() -> Iterator[list[NsEngine]]:
    made = [NsEngine(31 + i, bridged=True) for i in range(3)]
    try:
        for node in made:
            node.start()
        manager = client(made[0])
        try:
            address = made[0].address
            # (Heartbeats every second: a node lost is marked down in seconds, not the
            # 13 s Swarm's default of 5 s takes here.)
            manager.init_swarm(advertise_addr=address, listen_addr=f"{address}:2377",
                               swarm_spec=manager.create_swarm_spec(
                                   dispatcher_heartbeat_period=1_000_000_000))
            token = manager.inspect_swarm()["JoinTokens"]["Worker"]
        finally:
            manager.close()
        for node in made[1:]:
            worker = client(node)
            try:
                worker.join_swarm([f"{address}:2377"], token, advertise_addr=node.address,
                                  listen_addr=f"{node.address}:2377")
            finally:
                worker.close()
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


def service(name: str, network: str, replicas: int = 6, **changes: object) -> SwarmService:
    fields: dict[str, object] = dict(
        name=f"wharf-svc-{name}", alias=name,
        labels={LABEL_MANAGED: "1", LABEL_INSTALLATION: INSTALLATION, LABEL_SERVICE: name},
        image="busybox:latest", command=WEB, entrypoint=(), env={"GREETING": "hi"},
        cpu_millis=50, memory_mib=32, replicas=replicas, network=network, pool="public",
        update=UpdatePolicy(parallelism=2, monitor_s=3, failure_action="rollback",
                            order="stop-first"))
    fields.update(changes)
    return SwarmService(**fields)  # type: ignore[arg-type]


def running(cluster: SwarmCluster, name: str, count: int) -> list[SwarmTask]:
    def check() -> list[SwarmTask] | None:
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


def _read(swarm: SwarmCluster, task: SwarmTask, path: str) -> str:
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


def test_a_rolling_update_to_a_broken_version_rolls_back(swarm: SwarmCluster) -> None:
    network = swarm.ensure_network("wharf-app-roll", {})
    policy = UpdatePolicy(parallelism=2, monitor_s=1, failure_action="rollback",
                          order="stop-first")
    swarm.apply(service("roll", network, replicas=4, update=policy))
    before = {t.id for t in running(swarm, "roll", 4)}
    broken = ("sh", "-c", "echo broken; exit 3")
    assert swarm.apply(service("roll", network, replicas=4, command=broken, update=policy))
    wait_for("Swarm to roll the broken version back", lambda: swarm.update_state(
        "wharf-svc-roll") == "rollback_completed", 90)
    after = running(swarm, "roll", 4)
    current = swarm.inspect_service("wharf-svc-roll")
    assert current is not None
    assert current["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"] == list(WEB)
    failed = [t for t in swarm.tasks() if t.service == "roll" and t.state == "failed"]
    assert any(t.exit_code == 3 for t in failed), failed  # (what Wharf will record)
    assert len(after) == 4 and before  # (replicas run the old version again)


def test_a_stopped_worker_s_replicas_run_on_the_others(swarm: SwarmCluster,
                                                      nodes: list[NsEngine]) -> None:
    network = swarm.ensure_network("wharf-app-loss", {})
    swarm.apply(service("lost", network, replicas=6))
    running(swarm, "lost", 6)
    worker = nodes[2]
    gone = next(n.id for n in swarm.nodes() if n.address == worker.address)
    began = time.monotonic()
    worker.stop()  # by pid: a host that goes away
    wait_for("the worker marked down", lambda: any(
        n.id == gone and n.state == "down" for n in swarm.nodes()), 30)
    tasks = wait_for("six replicas running on the two nodes left", lambda: (
        found if len(found := [t for t in running_now(swarm, "lost")
                               if t.node_id != gone]) == 6 else None), 30)
    assert {t.node_id for t in tasks} <= {n.id for n in swarm.nodes() if n.id != gone}
    assert time.monotonic() - began < 60


def running_now(cluster: SwarmCluster, name: str) -> list[SwarmTask]:
    return [t for t in cluster.tasks() if t.service == name and t.running
            and t.desired == "running"]
