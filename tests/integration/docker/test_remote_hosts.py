"""Hosts anywhere: engines on machines of their own (network namespaces with their own
addresses), joined over mutual TLS with the certificates `wharf host join` makes."""

from __future__ import annotations

import datetime as dt
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.integration.docker.conftest import Cloud, _cloud
from tests.integration.docker.netns_engines import NsEngine, client
from tests.integration.docker.test_registry import DockerCli, push, registry_of
from tests.integration.docker.test_services import create_web, get, serving
from tests.integration.helpers import free_port, wait_for, wharf
from wharf.domain.tls import TlsCredentials
from wharf.infra.host_tls import join_kit
from wharf.schedulers.ports import LABEL_CONTAINER, LABEL_INSTALLATION

HOST = """id name address endpoint pool state engineVersion cpuMillis tlsFingerprint
  labels { key value }"""
REGISTER = f"""mutation($input: RegisterHostInput!) {{ registerHost(input: $input) {{
  __typename ... on HostPayload {{ host {{ {HOST} }} }}
  ... on InvalidInput {{ field message }} }} }}"""
JOIN = f"""mutation($input: JoinHostInput!) {{ joinHost(input: $input) {{
  __typename ... on HostPayload {{ host {{ {HOST} }} }}
  ... on InvalidInput {{ field message }} ... on QuotaExceeded {{ resource limit used }}
  ... on NotFound {{ message }} ... on Forbidden {{ message }}
  ... on Conflict {{ message }} }} }}"""
CREATE = """mutation($input: CreateContainerInput!) { createContainer(input: $input) {
  __typename ... on ContainerPayload { container { id } } ... on InvalidInput { field message }
} }"""
STATE = """query($id: ID!) { container(id: $id) { observed hostId unschedulable
  ports { containerPort hostIp hostPort } } }"""
WEB = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 "
       "-h /www"]


@pytest.fixture(scope="module")
def engines() -> Iterator[list[NsEngine]]:
    started = [NsEngine(1).start(), NsEngine(2).start()]
    try:
        yield started
    finally:
        for engine in started:
            engine.wipe()


def clean(cloud: Cloud, engines: list[NsEngine]) -> None:
    """This Wharf's containers and networks on the namespaces' engines."""
    for engine in engines:
        api = client(engine)
        try:
            for row in api.containers(all=True, filters={
                    "label": f"{LABEL_INSTALLATION}={cloud.installation}"}):
                api.remove_container(row["Id"], force=True)
            for net in api.networks(filters={
                    "label": f"{LABEL_INSTALLATION}={cloud.installation}"}):
                api.remove_network(net["Id"])
        finally:
            api.close()


@pytest.fixture
def remote(cloud: Cloud, engines: list[NsEngine]) -> Iterator[Cloud]:
    """`cloud` beside the namespaces' engines (what it made there is removed after)."""
    try:
        yield cloud
    finally:
        cloud.scheduler.close()  # (before `cloud` closes it: nothing made again meanwhile)
        clean(cloud, engines)


def tls(credentials: TlsCredentials) -> dict[str, str]:
    return {"ca": credentials.ca, "cert": credentials.cert, "key": credentials.key}


def register(cloud: Cloud, engine: NsEngine, credentials: TlsCredentials | None = None,
             **extra: Any) -> dict[str, Any]:
    given = {"endpoint": engine.endpoint, "name": engine.name,
             "tls": tls(credentials or engine.credentials), **extra}
    if given["tls"] is None:
        del given["tls"]
    answer: dict[str, Any] = cloud.api.gql(REGISTER, {"input": given},
                                           token=cloud.api.operator_token)["registerHost"]
    return answer


def on(engine: NsEngine, cloud: Cloud) -> set[str]:
    """Wharf's containers running on the engine, as the engine itself lists them."""
    api = client(engine)
    try:
        rows = api.containers(filters={"label": f"{LABEL_INSTALLATION}={cloud.installation}"})
    finally:
        api.close()
    return {r["Labels"][LABEL_CONTAINER] for r in rows}


def create(cloud: Cloud, token: str, **fields: Any) -> str:
    data = cloud.api.gql(CREATE, {"input": {"image": "busybox", "cpuMillis": 50,
                                            "memoryMib": 32, **fields}}, token=token)
    assert data["createContainer"]["__typename"] == "ContainerPayload", data
    container_id: str = data["createContainer"]["container"]["id"]
    return container_id


def state(cloud: Cloud, token: str, container_id: str) -> dict[str, Any]:
    found: dict[str, Any] = cloud.api.gql(STATE, {"id": container_id}, token=token)["container"]
    return found


def test_a_host_joins_over_mutual_tls_and_takes_what_its_labels_draw(
        remote: Cloud, engines: list[NsEngine]) -> None:
    cloud, far = remote, engines[0]
    answer = register(cloud, far, labels=[{"key": "zone", "value": "far"}])
    assert answer["__typename"] == "HostPayload", answer
    host = answer["host"]
    assert (host["address"], host["pool"], host["state"], host["labels"]) == (
        far.address, "public", "active", [{"key": "zone", "value": "far"}])
    assert host["engineVersion"].startswith("20.10") and host["cpuMillis"] >= 1000
    assert len(host["tlsFingerprint"]) == 64

    _, token = cloud.tenant()
    there = create(cloud, token, name="there", command=WEB,
                   constraints=["host.labels.zone == far"],
                   ports=[{"containerPort": 8080, "publish": True}])
    nowhere = create(cloud, token, name="nowhere", command=["sleep", "600"],
                     constraints=["node.labels.zone == moon"])
    running = wait_for("the constrained container running on the far host",
                       lambda: there in on(far, cloud) and state(cloud, token, there)
                       ["observed"] == "running", 60)
    assert running
    seen = state(cloud, token, there)
    assert seen["hostId"] == host["id"]
    [port] = seen["ports"]
    assert port["hostIp"] == far.address  # published where Wharf reaches the host
    assert wait_for("its port to answer on the host's address",
                    lambda: get(f"{far.address}:{port['hostPort']}")) == there[:12]
    blocked = wait_for("the container no host can take marked so",
                       lambda: state(cloud, token, nowhere)["unschedulable"], 30)
    assert "label zone=moon" in " ".join(blocked) and nowhere not in on(far, cloud)


def test_an_endpoint_with_a_wrong_certificate_is_refused(
        remote: Cloud, engines: list[NsEngine]) -> None:
    cloud, far = remote, engines[0]
    stranger = join_kit(far.address, dt.datetime.now(dt.UTC)).client  # another CA's
    answer = register(cloud, far, credentials=stranger)
    assert answer["__typename"] == "InvalidInput" and answer["field"] == "endpoint", answer
    assert "certificate" in answer["message"]
    plain = cloud.api.gql(REGISTER, {"input": {"endpoint": f"tcp://{far.address}:2375"}},
                          token=cloud.api.operator_token)["registerHost"]
    assert plain["__typename"] == "InvalidInput" and "mutual TLS" in plain["message"]
    hosts = cloud.api.gql("{ hosts { endpoint } }", token=cloud.api.operator_token)["hosts"]
    assert [h["endpoint"] for h in hosts] == ["unix:///var/run/docker.sock"]


def test_a_tenants_own_host_runs_only_its_workloads(
        remote: Cloud, engines: list[NsEngine]) -> None:
    cloud, own = remote, engines[1]
    _, owner = cloud.tenant("owner", plan="m")
    _, other = cloud.tenant("other")
    _, free = cloud.tenant("cheap", plan="free")
    refused = cloud.api.gql(JOIN, {"input": {"endpoint": own.endpoint,
                                             "tls": tls(own.credentials)}},
                            token=free)["joinHost"]
    assert refused == {"__typename": "QuotaExceeded", "resource": "own_hosts", "limit": 0,
                       "used": 0}
    joined = cloud.api.gql(JOIN, {"input": {
        "endpoint": own.endpoint, "name": "basement", "tls": tls(own.credentials),
        "labels": [{"key": "disk", "value": "ssd"}]}}, token=owner)["joinHost"]
    assert joined["__typename"] == "HostPayload", joined
    assert joined["host"]["pool"] == "owner" and joined["host"]["address"] == own.address
    listed = cloud.api.gql("{ ownHosts { name state } }", token=owner)["ownHosts"]
    assert listed == [{"name": "basement", "state": "active"}]
    assert cloud.api.gql("{ ownHosts { name } }", token=other)["ownHosts"] == []

    mine = [create(cloud, owner, name=f"mine{i}", command=["sleep", "600"]) for i in range(2)]
    theirs = create(cloud, other, name="theirs", command=["sleep", "600"],
                    constraints=["host.labels.disk == ssd"])
    wait_for("the owner's containers on its own host (before the public pool)",
             lambda: set(mine) <= on(own, cloud), 60)
    blocked = wait_for("the other tenant's container refused the dedicated host",
                       lambda: state(cloud, other, theirs)["unschedulable"], 30)
    assert blocked and theirs not in on(own, cloud)
    assert on(own, cloud) == set(mine)


def test_replicas_on_a_remote_host_answer_through_the_ingress(
        ingress_cloud: Cloud, engines: list[NsEngine]) -> None:
    cloud, far = ingress_cloud, engines[0]
    try:
        assert register(cloud, far)["__typename"] == "HostPayload"
        drained = cloud.api.gql("""mutation($id: ID!) { drainHost(input: {id: $id}) {
            __typename } }""", {"id": _local_host(cloud)}, token=cloud.api.operator_token)
        assert drained["drainHost"]["__typename"] == "HostPayload"
        _, token = cloud.tenant()
        web = create_web(cloud, token, 2)
        _, live = serving(cloud, token, web, 2)
        assert live == {c[:12] for c in on(far, cloud)}
    finally:
        cloud.scheduler.close()
        clean(cloud, engines)


def _local_host(cloud: Cloud) -> str:
    hosts = cloud.api.gql("{ hosts { id endpoint } }", token=cloud.api.operator_token)["hosts"]
    return str(next(h["id"] for h in hosts if h["endpoint"].startswith("unix://")))


def test_wharf_host_join_makes_what_the_new_machine_runs(tmp_path: Path) -> None:
    url, home, kit = f"sqlite:///{tmp_path / 'wharf.db'}", tmp_path / "home", tmp_path / "kit"
    machine = NsEngine(3)
    try:
        said = wharf(url, home, "host", "join", machine.address, "--out", str(kit)).stdout
        assert "--tlsverify" in said and f"tcp://{machine.address}:2376" in said
        assert sorted(p.name for p in (kit / "engine").iterdir()) == [
            "ca.pem", "server-cert.pem", "server-key.pem"]
        assert stat.S_IMODE((kit / "wharf" / "key.pem").stat().st_mode) == 0o600
        machine.start(engine_files=kit / "engine")
        wharf(url, home, "--as", "ops@example.com", "host", "register", machine.endpoint,
              "--tls", str(kit / "wharf"), "--label", "zone=basement")
        listed = wharf(url, home, "host", "list").stdout
        [row] = [line for line in listed.splitlines() if machine.address in line]
        assert "zone=basement" in row and "20.10" in row and "mutual" in row
        refused = wharf(url, home, "--as", "ops@example.com", "host", "register",
                        f"tcp://{machine.address}:2375", ok=False)
        assert "mutual TLS" in refused.stderr
    finally:
        machine.wipe()


def test_a_lost_remote_host_s_containers_run_elsewhere(cloud: Cloud) -> None:
    """Its engine killed by pid: the host is lost after the grace period and what ran
    there runs on the host that now carries the label (its leftovers are wiped after)."""
    machine = NsEngine(4).start()
    try:
        cloud.scheduler.host_health.grace = dt.timedelta(seconds=2)
        far = register(cloud, machine, labels=[{"key": "tier", "value": "a"}])["host"]
        _, token = cloud.tenant()
        ids = {create(cloud, token, name=f"w{i}", command=["sleep", "600"],
                      constraints=["host.labels.tier == a"]) for i in range(2)}
        wait_for("both on the far host", lambda: on(machine, cloud) == ids, 60)
        local = _local_host(cloud)
        labelled = cloud.api.gql("""mutation($id: ID!) { labelHost(input: {id: $id,
            labels: [{key: "tier", value: "a"}]}) { __typename } }""", {"id": local},
                                 token=cloud.api.operator_token)
        assert labelled["labelHost"]["__typename"] == "HostPayload"
        machine.stop()
        wait_for("both running on the local host", lambda: all(
            (s := state(cloud, token, i))["observed"] == "running" and s["hostId"] == local
            for i in ids), 60)
        hosts = cloud.api.gql("{ hosts { id state } }", token=cloud.api.operator_token)
        assert {h["id"]: h["state"] for h in hosts["hosts"]}[far["id"]] == "lost"
    finally:
        cloud.scheduler.close()
        machine.wipe()


@pytest.fixture
def registry_remote_cloud(tmp_path: Path, docker_api: docker.APIClient,
                          engines: list[NsEngine]) -> Iterator[Cloud]:
    """A cloud whose registry has its twin over TLS on the first namespace's side of this
    machine (WHARF_REGISTRY_REMOTE), trusted there as `wharf host join` says to."""
    remote = f"{engines[0].gateway}:{free_port()}"
    certs = Path(f"/etc/docker/certs.d/{remote}")
    url = f"sqlite:///{tmp_path / 'home' / 'wharf.db'}"
    for cloud in _cloud(tmp_path, docker_api, url, loop=True, registry=True,
                        WHARF_REGISTRY_REMOTE=remote):
        try:
            ca = cloud.api.wiring.settings.home / "registry" / "tls" / "ca.pem"
            certs.mkdir(parents=True, exist_ok=True)
            (certs / "ca.crt").write_text(ca.read_text())
            yield cloud
        finally:
            cloud.scheduler.close()
            clean(cloud, engines)
            shutil.rmtree(certs, ignore_errors=True)


def test_a_remote_host_runs_images_of_wharfs_registry_pulled_over_tls(
        registry_remote_cloud: Cloud, engines: list[NsEngine], tmp_path: Path) -> None:
    """The host reaches Wharf's registry at WHARF_REGISTRY_REMOTE only, over TLS from
    Wharf's registry CA (a namespace's 127.0.0.1 is its own)."""
    cloud, far = registry_remote_cloud, engines[0]
    remote = cloud.api.wiring.settings.registry_remote
    assert register(cloud, far, labels=[{"key": "zone", "value": "far"}])[
        "__typename"] == "HostPayload"
    registry = registry_of(cloud)
    _, token = cloud.tenant("acme")
    owner = DockerCli(tmp_path / "acme-docker")
    assert owner.login(registry, token).returncode == 0
    push(owner, f"{registry}/acme/tool:1")
    made = create(cloud, token, name="tool", image=f"{registry}/acme/tool:1",
                  command=["sleep", "600"], constraints=["host.labels.zone == far"])
    wait_for("the container running on the far host", lambda: made in on(far, cloud), 60)
    api = client(far)
    try:
        assert api.images(name=f"{remote}/acme/tool")  # pulled from the twin
    finally:
        api.close()


DRIP = """
import socket, ssl, sys, threading, time
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server = socket.create_server((sys.argv[1], 2376))
print("listening", flush=True)
def drip(conn):
    try:
        tls = context.wrap_socket(conn, server_side=True)
        tls.recv(4096)
        tls.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 100000\\r\\n\\r\\n{")
        while True:
            time.sleep(1)
            tls.sendall(b" ")
    except OSError:
        pass
while True:
    conn, _ = server.accept()
    threading.Thread(target=drip, args=(conn,), daemon=True).start()
"""


def test_an_engine_answering_a_byte_at_a_time_holds_no_one(
        remote: Cloud, tmp_path: Path) -> None:
    """A tenant's 'engine' that answers one byte a second: each join is refused after the
    probe's deadline, a caller has two probes in flight at most, and everyone else's
    requests are answered meanwhile."""
    cloud, slow = remote, NsEngine(5)
    slow._network()
    kit = join_kit(slow.address, dt.datetime.now(dt.UTC))
    (tmp_path / "cert.pem").write_text(kit.server_cert)
    (tmp_path / "key.pem").write_text(kit.server_key)
    server = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{slow.name}", sys.executable, "-c", DRIP,
         slow.address, str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert server.stdout is not None and server.stdout.readline() == b"listening\n"
        _, owner = cloud.tenant("owner", plan="m")
        _, other = cloud.tenant("other")
        joining = {"endpoint": slow.endpoint, "tls": tls(kit.client)}
        answers: list[tuple[str, float]] = []

        def join() -> None:
            began = time.monotonic()
            found = cloud.api.gql(JOIN, {"input": joining}, token=owner)["joinHost"]
            answers.append((found["__typename"], time.monotonic() - began))

        threads = [threading.Thread(target=join) for _ in range(3)]
        for thread in threads:
            thread.start()
        began = time.monotonic()
        assert cloud.api.gql("{ me { actor } }", token=other)["me"]["actor"]
        assert time.monotonic() - began < 2  # (answered while the probes hang)
        for thread in threads:
            thread.join(30)
        kinds = sorted(kind for kind, _ in answers)
        assert kinds == ["Conflict", "InvalidInput", "InvalidInput"], answers
        assert all(took < 10 for kind, took in answers if kind == "InvalidInput"), answers
        listed = cloud.api.gql("{ ownHosts { name } }", token=owner)["ownHosts"]
        assert listed == []
    finally:
        server.kill()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
        slow.wipe()
