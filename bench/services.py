"""Services, applications and the ingress on the local Docker Engine, each against its
baseline in the same run:

1. A service scaled 0 -> 20 until all 20 run and are routable through Caddy, then
   20 -> 40, then 40 -> 0, versus the raw SDK making the same containers (published on
   loopback, on a network of their own) and versus Docker Swarm scaling a service on the
   same engine (its replicas without published ports: Swarm cannot publish on loopback
   only). Each ratio is the median of ROUNDS alternating rounds, with its range.
2. Deploying a three-service Compose application until it serves, versus
   `docker-compose up -d` of the same file followed by polling until it serves; and its
   teardown.
3. Requests per second through Wharf's ingress versus the same Caddy configured by hand
   in front of the same replicas; and how soon a new replica gets traffic after its
   start is recorded.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import docker

from bench.api import Server, free_port
from bench.scheduler import LOCAL, THREADS, quiet
from wharf.infra.docker_driver import CAPABILITIES, PIDS_LIMIT

ROUNDS = int(os.environ.get("WHARF_BENCH_ROUNDS", "7"))  # (fewer for a quick look)
WEB = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && "
       "exec httpd -f -p 8080 -h /www"]
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait(what: str, check: Callable[[], bool], timeout: float = 180.0,
         every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(every)


def spread(ratios: list[float]) -> str:
    ratios = sorted(ratios)
    return f"{statistics.median(ratios):4.2f}x (rounds {ratios[0]:4.2f}-{ratios[-1]:4.2f})"


class Wharf:
    """`wharf up` with its ingress, a tenant, and its Caddy's admin API to read back."""

    def __init__(self, home: Path) -> None:
        self.url = f"sqlite:///{home / 'wharf.db'}"
        self.admin = f"127.0.0.1:{free_port()}"
        self.http_port = free_port()
        self.server = Server(home, scheduler=True, WHARF_METRICS_EVERY="86400",
                             WHARF_DISK_EVERY="86400", WHARF_CADDY_ADMIN=self.admin,
                             WHARF_HTTP_PORT=str(self.http_port),
                             WHARF_SCHEDULER_INTERVAL="1")
        created = self.gql("""mutation { createTenant(input: {name: "bench", owner: "o@b.io",
            plan: "unlimited"}) { ... on TenantCreated { ownerToken } } }""",
                           token=self.server.token)
        self.token = created["createTenant"]["ownerToken"]

    def gql(self, query: str, variables: dict[str, Any] | None = None,
            token: str | None = None) -> dict[str, Any]:
        answer = self.server.post(query, token or self.token, self.server.connect(),
                                  variables)
        data: dict[str, Any] = answer["data"]
        return data

    def upstreams(self, service_id: str) -> int:
        """How many replicas Caddy balances the service's port over."""
        try:
            with DIRECT.open(f"http://{self.admin}/config/apps/http/servers/"
                             f"svc-{service_id}-8080/routes/0/handle/0", timeout=5) as reply:
                handler = json.loads(reply.read())
        except OSError:
            return 0
        return len(handler.get("upstreams") or []) if handler else 0

    def stop(self) -> None:
        self.server.stop()


SCALE = """mutation($id: ID!, $n: Int!) { scaleService(input: {id: $id, replicas: $n}) {
  __typename } }"""


def wharf_scale_round(wharf: Wharf, api: docker.APIClient, n: int) -> tuple[float, ...]:
    made = wharf.gql("""mutation($n: String!, $c: [String!]) { createService(input: {
        name: $n, image: "busybox", command: $c, replicas: 0, cpuMillis: 50, memoryMib: 32,
        ports: [{containerPort: 8080, loadBalanced: true}]}) { ... on ServicePayload {
        service { id } } } }""", {"n": f"s{n}", "c": WEB})
    service = made["createService"]["service"]["id"]
    wait("the listener", lambda: wharf.gql("""query($id: ID!) { service(id: $id) {
        endpoints { address } } }""", {"id": service})["service"]["endpoints"][0]["address"]
        is not None, every=0.1)
    label = f"wharf.installation={wharf_installation(api)}"
    times = []
    for count in (20, 40):
        quiet()
        started = time.perf_counter()
        wharf.gql(SCALE, {"id": service, "n": count})
        wait(f"{count} routable", lambda c=count: wharf.upstreams(service) == c)
        times.append(time.perf_counter() - started)
    quiet()
    started = time.perf_counter()
    wharf.gql(SCALE, {"id": service, "n": 0})
    wait("none left", lambda: not api.containers(all=True, filters={"label": label}),
         every=0.05)
    times.append(time.perf_counter() - started)
    wharf.gql("""mutation($id: ID!) { deleteService(input: {id: $id}) { __typename } }""",
              {"id": service})
    return tuple(times)


_installation: dict[int, str] = {}


def wharf_installation(api: docker.APIClient) -> str:
    """This bench's installation label (of the one `wharf up` running)."""
    return _installation[0]


def raw_scale_round(api: docker.APIClient, network: str) -> tuple[float, ...]:
    value = uuid.uuid4().hex[:8]
    hardening: dict[str, Any] = dict(
        nano_cpus=50_000_000, mem_limit="32m", memswap_limit="32m", pids_limit=PIDS_LIMIT,
        cap_drop=["ALL"], cap_add=CAPABILITIES, security_opt=["no-new-privileges"], init=True,
        port_bindings={"8080/tcp": ("127.0.0.1", None)}, network_mode=network)

    def create(i: int) -> str:
        made = api.create_container(
            "busybox", command=WEB, labels={"bench.raw": value}, name=f"bench-raw-{value}-{i}",
            ports=[(8080, "tcp")], host_config=api.create_host_config(**hardening),
            networking_config=api.create_networking_config(
                {network: api.create_endpoint_config(aliases=["web"])}))
        api.start(made["Id"])
        return str(made["Id"])

    def remove(container: str) -> None:
        api.stop(container, timeout=10)
        api.remove_container(container)

    times, ids = [], []
    with ThreadPoolExecutor(THREADS) as pool:
        for first in (0, 20):
            quiet()
            started = time.perf_counter()
            ids += list(pool.map(create, range(first, first + 20)))
            times.append(time.perf_counter() - started)
        quiet()
        started = time.perf_counter()
        list(pool.map(remove, ids))
        times.append(time.perf_counter() - started)
    return tuple(times)


def swarm_scale_round(client: docker.DockerClient) -> tuple[float, ...]:
    service = client.services.create("busybox", command=["sleep", "600"],
                                      name=f"bench-{uuid.uuid4().hex[:6]}",
                                      mode=docker.types.ServiceMode("replicated", 0))

    def running() -> int:
        return sum(1 for t in service.tasks(filters={"desired-state": "running"})
                   if t["Status"]["State"] == "running")

    times = []
    try:
        for count in (20, 40):
            quiet()
            service.reload()  # (a scale names the version it changes)
            started = time.perf_counter()
            service.scale(count)
            wait(f"{count} swarm tasks", lambda c=count: running() == c, every=0.1)
            times.append(time.perf_counter() - started)
        quiet()
        service.reload()
        started = time.perf_counter()
        service.scale(0)
        label = f"com.docker.swarm.service.id={service.id}"
        wait("no swarm task left", lambda: not client.api.containers(
            all=True, filters={"label": label}), every=0.1)
        times.append(time.perf_counter() - started)
    finally:
        service.remove()
    return tuple(times)


def scaling(wharf: Wharf, api: docker.APIClient) -> list[str]:
    client = docker.DockerClient(base_url=LOCAL)
    network = f"bench-raw-{uuid.uuid4().hex[:8]}"
    api.create_network(network, driver="bridge")
    ours, raw, swarm = [], [], []
    in_swarm = False
    try:
        client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
        in_swarm = True
        wharf_scale_round(wharf, api, 0)  # warm-up
        for round_no in range(1, ROUNDS + 1):
            raw.append(raw_scale_round(api, network))
            swarm.append(swarm_scale_round(client))
            ours.append(wharf_scale_round(wharf, api, round_no))
            print(f"  scale round {round_no}: wharf {ours[-1]}, raw {raw[-1]}, "
                  f"swarm {swarm[-1]}", flush=True)
    finally:
        if in_swarm:
            client.swarm.leave(force=True)
        api.remove_network(network)
        client.close()
    lines = []
    for phase, name in enumerate(("0->20", "20->40", "40->0")):
        versus_raw = [o[phase] / r[phase] for o, r in zip(ours, raw, strict=True)]
        versus_swarm = [o[phase] / s[phase] for o, s in zip(ours, swarm, strict=True)]
        lines.append(
            f"services    scale {name:<6} Wharf {statistics.median(o[phase] for o in ours):5.2f} s"
            f"   raw SDK {statistics.median(r[phase] for r in raw):5.2f} s {spread(versus_raw)}"
            f"   Swarm {statistics.median(s[phase] for s in swarm):5.2f} s "
            f"{spread(versus_swarm)}" + ("   (goal <= 1.1x raw)" if phase == 0 else ""))
    return lines


SHOP = """
services:
  front:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\\\necho Content-Type: text/plain\\\\necho\\\\nwget -qO- http://back:5000/cgi-bin/v\\\\n' > /www/cgi-bin/v && chmod +x /www/cgi-bin/v && exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1:PORT:80"]
    depends_on: [back]
  back:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\\\necho Content-Type: text/plain\\\\necho\\\\nwget -qO- http://store:5000/value\\\\n' > /www/cgi-bin/v && chmod +x /www/cgi-bin/v && exec httpd -f -p 5000 -h /www"]
    expose: ["5000"]
    depends_on: [store]
  store:
    image: busybox
    command: ["sh", "-c", "mkdir -p /data && echo stored > /data/value && exec httpd -f -p 5000 -h /data"]
    volumes: ["data:/data"]
    expose: ["5000"]
volumes:
  data: {}
"""  # noqa: E501


def answers(port: int, host: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/cgi-bin/v", headers={"Host": host})
        reply = connection.getresponse()
        return reply.status == 200 and reply.read().strip() == b"stored"
    except OSError:
        return False
    finally:
        connection.close()


def compose(wharf: Wharf, api: docker.APIClient) -> list[str]:
    ours, theirs, ours_down, theirs_down = [], [], [], []
    label = f"wharf.installation={wharf_installation(api)}"
    with tempfile.TemporaryDirectory(prefix="wharf-bench-compose-") as directory:
        for round_no in range(ROUNDS):
            port = free_port()
            text = SHOP.replace("PORT", str(port))
            path = Path(directory) / "compose.yaml"
            path.write_text(text)
            project = f"benchshop{round_no}"
            quiet()
            started = time.perf_counter()
            subprocess.run(["docker-compose", "-f", str(path), "-p", project, "up", "-d"],
                           check=True, capture_output=True)
            wait("docker-compose's app serving", lambda p=port: answers(p, "localhost"))
            theirs.append(time.perf_counter() - started)
            quiet()
            started = time.perf_counter()
            subprocess.run(["docker-compose", "-f", str(path), "-p", project, "down", "-v"],
                           check=True, capture_output=True)
            theirs_down.append(time.perf_counter() - started)
            quiet()
            name = f"shop{round_no}"
            started = time.perf_counter()
            made = wharf.gql("""mutation($n: String!, $c: String!) { deployApplication(input: {
                name: $n, compose: $c}) { ... on ApplicationPayload { application { id } } } }""",
                             {"n": name, "c": text})
            app = made["deployApplication"]["application"]["id"]
            wait("Wharf's app serving", lambda n=name: answers(
                wharf.http_port, f"{n}.bench.apps.localhost"))
            ours.append(time.perf_counter() - started)
            quiet()
            started = time.perf_counter()
            wharf.gql("""mutation($id: ID!) { deleteApplication(input: {id: $id}) {
                __typename } }""", {"id": app})
            wait("its containers gone", lambda: not api.containers(
                all=True, filters={"label": label}), every=0.05)
            ours_down.append(time.perf_counter() - started)
    up = [o / t for o, t in zip(ours, theirs, strict=True)]
    return [
        f"apps        three-service Compose app until it serves: Wharf "
        f"{statistics.median(ours):5.2f} s   docker-compose up -d + poll "
        f"{statistics.median(theirs):5.2f} s   {spread(up)}   (goal <= 1.0x)",
        f"apps        its teardown: Wharf {statistics.median(ours_down):5.2f} s (all "
        f"containers gone)   docker-compose down {statistics.median(theirs_down):5.2f} s   "
        f"(goal <= 2 s)"]


def hammer(port: int, seconds: float, clients: int = 16) -> float:
    """Requests per second from `clients` keep-alive clients over `seconds`."""
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def client(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            try:
                connection.request("GET", "/")
                reply = connection.getresponse()
                reply.read()
                if reply.status == 200:
                    counts[i] += 1
                if reply.getheader("Connection", "").lower() == "close":
                    connection.close()
            except OSError:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def drained() -> None:
    """Waits for the sockets a load run left in TIME_WAIT to go (ENVIRONMENT.md)."""
    def time_wait() -> int:
        out = subprocess.run(["ss", "-s"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("TCP:") and "timewait" in line:
                return int(line.split("timewait")[1].split()[0].strip(",/)"))
        return 0

    wait("TIME_WAIT sockets to drain", lambda: time_wait() < 2000, timeout=120, every=1.0)


def ingress(wharf: Wharf, api: docker.APIClient) -> list[str]:
    made = wharf.gql("""mutation($c: [String!]) { createService(input: {name: "load",
        image: "busybox", command: $c, replicas: 3, cpuMillis: 200, memoryMib: 32,
        ports: [{containerPort: 8080, loadBalanced: true}]}) { ... on ServicePayload {
        service { id } } } }""", {"c": WEB})
    service = made["createService"]["service"]["id"]
    wait("3 routable", lambda: wharf.upstreams(service) == 3)
    found = wharf.gql("""query($id: ID!) { service(id: $id) { endpoints { address }
        containers { edges { node { id ports { hostPort } } } } } }""", {"id": service})
    listener = int(found["service"]["endpoints"][0]["address"].rsplit(":", 1)[1])
    ports = [e["node"]["ports"][0]["hostPort"] for e in found["service"]["containers"]["edges"]]
    own = free_port()
    with tempfile.TemporaryDirectory(prefix="wharf-bench-caddy-") as directory:
        config = {"admin": {"listen": f"127.0.0.1:{free_port()}"},
                  "storage": {"module": "file_system", "root": directory},
                  "apps": {"http": {"servers": {"hand": {
                      "listen": [f"127.0.0.1:{own}"], "automatic_https": {"disable": True},
                      "routes": [{"handle": [{"handler": "reverse_proxy", "upstreams": [
                          {"dial": f"127.0.0.1:{p}"} for p in ports]}]}]}}}}}
        (Path(directory) / "caddy.json").write_text(json.dumps(config))
        caddy = subprocess.Popen(["caddy", "run", "--config", str(Path(directory) /
                                                                 "caddy.json")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env={**os.environ, "HOME": directory})
        try:
            wait("the hand-made Caddy", lambda: hammer(own, 0.2, 1) > 0, timeout=30)
            ours_rps, hand_rps = [], []
            for _ in range(3):
                drained()
                hand_rps.append(hammer(own, 5.0))
                drained()
                ours_rps.append(hammer(listener, 5.0))
        finally:
            caddy.terminate()
            caddy.wait(10)
    ratio = statistics.median(ours_rps) / statistics.median(hand_rps)
    lines = [f"ingress     requests/s through Wharf's listener "
             f"{statistics.median(ours_rps):7.0f}   the same Caddy by hand "
             f"{statistics.median(hand_rps):7.0f}   {ratio:5.1%}   (goal >= 95 %)"]
    lines.append(time_to_traffic(wharf, service, listener))
    wharf.gql("""mutation($id: ID!) { deleteService(input: {id: $id}) { __typename } }""",
              {"id": service})
    return lines


def time_to_traffic(wharf: Wharf, service: str, listener: int) -> str:
    """Scales 3 -> 4 and polls the listener until the new replica answers; compares
    that moment with the time its `Started` event carries."""
    delays = []
    for count in (4, 5, 6):
        drained()
        wharf.gql(SCALE, {"id": service, "n": count})
        seen: dict[str, float] = {}

        def new_one_answered(seen: dict[str, float] = seen, count: int = count) -> bool:
            connection = http.client.HTTPConnection("127.0.0.1", listener, timeout=2)
            try:
                connection.request("GET", "/")
                name = connection.getresponse().read().decode().strip()
            except OSError:
                return False
            finally:
                connection.close()
            seen.setdefault(name, time.time())
            return len(seen) >= count

        wait("the new replica answering", new_one_answered, every=0.002)
        rows = wharf.gql("""query($id: ID!) { service(id: $id) { containers(first: 100) {
            edges { node { id startedAt } } } } }""", {"id": service})
        newest = max((e["node"] for e in rows["service"]["containers"]["edges"]),
                     key=lambda n: n["startedAt"] or "")
        recorded = started_event_time(wharf, newest["id"])
        first = seen[newest["id"][:12]]
        delays.append((first - recorded) * 1000)
    each = ", ".join(f"{d:.0f}" for d in delays)
    return (f"ingress     a new replica's first request after its start is recorded: "
            f"median {statistics.median(delays):5.0f} ms (of {each})   (goal <= 50 ms)")


def started_event_time(wharf: Wharf, container_id: str) -> float:
    """The time of the replica's last `Started` event, read from the log."""
    from uuid import UUID

    from bench.common import open_bench_app

    app = open_bench_app(wharf.url)
    try:
        started = [e for e in app.repository.event_store.get(UUID(container_id))
                   if type(e).__name__ == "Started"]
    finally:
        app.close()
    stamp: datetime = started[-1].timestamp
    return stamp.timestamp()


def run() -> list[str]:
    api = docker.APIClient(base_url=LOCAL)
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="wharf-bench-services-") as directory:
        wharf = Wharf(Path(directory))
        try:
            from bench.common import open_bench_app

            app = open_bench_app(f"sqlite:///{Path(directory) / 'wharf.db'}")
            _installation[0] = app.installation
            app.close()
            chosen = os.environ.get("WHARF_BENCH_PARTS", "scaling,compose,ingress").split(",")
            for part in (p for p in (scaling, compose, ingress) if p.__name__ in chosen):
                for line in part(wharf, api):
                    print(line, flush=True)
                    lines.append(line)
        finally:
            wharf.stop()
            label = f"wharf.installation={_installation.get(0, '-')}"
            for row in api.containers(all=True, filters={"label": label}):
                api.remove_container(row["Id"], force=True)
            for network in api.networks(filters={"label": label}):
                api.remove_network(network["Id"])
    api.close()
    return lines


if __name__ == "__main__":
    run()
