"""The scheduler on the local Docker Engine, against the raw docker SDK in the same run.

1. From 20 `createContainer` mutations (sent by 4 clients to `wharf up`) to 20 running
   containers, versus the SDK creating and starting the same 20 with 4 threads
   (goal <= 1.1x raw).
2. From 20 `deleteContainer` mutations of running containers to none left, versus the
   SDK stopping and removing them with 4 threads (goal <= 1.2x raw).
3. The resident memory of `wharf scheduler` with 10,000 containers in the read side
   (goal <= 250 MB).

Raw and Wharf rounds alternate; each ratio is the median over ROUNDS rounds of a Wharf
round against the raw round just before it. Every timed phase begins on a quiet machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker

from bench.api import Server
from bench.common import fill_containers, open_bench_app
from wharf.infra.docker_driver import CAPABILITIES, PIDS_LIMIT

COUNT = 20
THREADS = 4
ROUNDS = 7
LOCAL = "unix:///var/run/docker.sock"
COMMAND = ["sleep", "600"]


def cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)


def quiet(idle: float = 0.85, window: float = 0.25, timeout: float = 15.0) -> None:
    """Waits for the machine to be mostly idle: removing 20 containers leaves the kernel
    tearing down their network namespaces and mounts for a while after Docker answers,
    and that work would land in whichever phase comes next (raw or Wharf)."""
    deadline = time.monotonic() + timeout
    before = cpu_times()
    while time.monotonic() < deadline:
        time.sleep(window)
        after = cpu_times()
        spent = after[1] - before[1]
        if spent and (after[0] - before[0]) / spent >= idle:
            return
        before = after


class Watch:
    """Counts the engine's events of one kind for a label, from before the mutations are
    sent: the bench learns that 20 containers run from the engine's own `start` events
    (as a user watching `docker events` would), instead of polling `docker ps`, which
    would load the very engine being measured in Wharf's rounds and not in raw ones."""

    def __init__(self, api: docker.APIClient, label: str, event: str, expected: int) -> None:
        self.expected = expected
        self.seen = 0
        self.done = threading.Event()
        self.stream = api.events(decode=True, filters={"type": "container", "event": event,
                                                       "label": label})
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self) -> None:
        for _ in self.stream:
            self.seen += 1
            if self.seen >= self.expected:
                self.done.set()
                return

    def wait(self, timeout: float = 120.0) -> None:
        try:
            if not self.done.wait(timeout):
                raise TimeoutError(f"the engine reported {self.seen} of {self.expected} "
                                   "events in time")
        finally:
            self.stream.close()


def raw_round(api: docker.APIClient, network: str | None,
              high_level: bool = False) -> tuple[float, float]:
    """The SDK alone: the same hardened containers, 4 threads, on a bridge network of
    their own as Wharf puts a tenant's (`network`; None: Docker's default bridge). Low
    level: one create and one start call each (the strictest baseline). High level:
    `containers.run(detach=True)`, which also reads the container back once, as most SDK
    users write it."""
    label = f"bench.raw={uuid.uuid4().hex[:8]}"
    key, value = label.split("=")
    client = docker.DockerClient(base_url=LOCAL) if high_level else None
    hardening: dict[str, Any] = dict(
        nano_cpus=250_000_000, mem_limit="256m", memswap_limit="256m",
        pids_limit=PIDS_LIMIT, cap_drop=["ALL"], cap_add=CAPABILITIES,
        security_opt=["no-new-privileges"], init=True)

    def create(i: int) -> str:
        name = f"bench-raw-{value}-{i}"
        if client is not None:
            container = client.containers.run("busybox", COMMAND, labels={key: value},
                                              name=name, detach=True, network=network,
                                              **hardening)
            return str(container.id)
        joined = None
        if network is not None:
            joined = api.create_networking_config(
                {network: api.create_endpoint_config(aliases=[f"c{i}"])})
        made = api.create_container("busybox", command=COMMAND, labels={key: value},
                                    name=name, networking_config=joined,
                                    host_config=api.create_host_config(
                                        network_mode=network, **hardening))
        api.start(made["Id"])
        return str(made["Id"])

    def remove(container: str) -> None:
        api.stop(container, timeout=10)
        api.remove_container(container)

    with ThreadPoolExecutor(THREADS) as pool:
        quiet()
        started = time.perf_counter()
        ids = list(pool.map(create, range(COUNT)))
        up = time.perf_counter() - started
        quiet()
        started = time.perf_counter()
        list(pool.map(remove, ids))
        down = time.perf_counter() - started
    if client is not None:
        client.close()
    return up, down


CREATE = """mutation($n: String!, $c: [String!]) { createContainer(input: {name: $n,
    image: "busybox", command: $c}) { ... on ContainerPayload { container { id } } } }"""
DELETE = """mutation($id: ID!) { deleteContainer(input: {id: $id}) { __typename } }"""


def wharf_round(server: Server, token: str, api: docker.APIClient, installation: str,
                round_no: int) -> tuple[float, float]:
    label = f"wharf.installation={installation}"

    def create(i: int) -> str:
        answer = server.post(CREATE, token, server.connect(),
                             {"n": f"r{round_no}-{i}", "c": COMMAND})
        return str(answer["data"]["createContainer"]["container"]["id"])

    def delete(container_id: str) -> None:
        server.post(DELETE, token, server.connect(), {"id": container_id})

    with ThreadPoolExecutor(THREADS) as pool:
        quiet()
        watch = Watch(api, label, "start", COUNT)
        started = time.perf_counter()
        ids = list(pool.map(create, range(COUNT)))
        watch.wait()
        up = time.perf_counter() - started
        quiet()
        watch = Watch(api, label, "destroy", COUNT)
        started = time.perf_counter()
        list(pool.map(delete, ids))
        watch.wait()
        down = time.perf_counter() - started
    return up, down


def lifecycle() -> list[str]:
    api = docker.APIClient(base_url=LOCAL)
    raw: list[tuple[float, float]] = []
    high: list[tuple[float, float]] = []
    bridge: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    network = f"bench-raw-{uuid.uuid4().hex[:8]}"
    api.create_network(network, driver="bridge")
    with tempfile.TemporaryDirectory(prefix="wharf-bench-sched-") as directory:
        home = Path(directory)
        # The metrics and disk timers are off: 20 one-second `docker stats` calls, or a
        # `docker system df`, landing in some rounds and not others would only add noise.
        server = Server(home, scheduler=True, WHARF_METRICS_EVERY="86400",
                        WHARF_DISK_EVERY="86400")
        app = open_bench_app(f"sqlite:///{home / 'wharf.db'}")
        installation = app.installation
        app.close()
        try:
            created = server.post(
                """mutation { createTenant(input: {name: "bench", owner: "o@b.io",
                plan: "unlimited"}) { ... on TenantCreated { ownerToken } } }""",
                server.token, server.connect())
            token = created["data"]["createTenant"]["ownerToken"]
            wharf_round(server, token, api, installation, 0)  # warm-up: caches, images
            for round_no in range(1, ROUNDS + 1):
                raw.append(raw_round(api, network))
                high.append(raw_round(api, network, high_level=True))
                bridge.append(raw_round(api, None))
                ours.append(wharf_round(server, token, api, installation, round_no))
        finally:
            server.stop()
            api.remove_network(network)
            for made in api.networks(filters={"label": f"wharf.installation={installation}"}):
                api.remove_network(made["Id"])  # the bench tenant's (its containers are gone)
    api.close()
    # Each Wharf round is compared with the raw round just before it (the machine's
    # speed drifts over a run); the figure is the median of those ratios.
    up_ratios = sorted(o[0] / r[0] for o, r in zip(ours, raw, strict=True))
    down_ratios = sorted(o[1] / r[1] for o, r in zip(ours, raw, strict=True))
    high_ratios = sorted(o[0] / h[0] for o, h in zip(ours, high, strict=True))
    network_cost = sorted(r[0] / b[0] for r, b in zip(raw, bridge, strict=True))

    def spread(ratios: list[float]) -> str:
        return f"{statistics.median(ratios):4.2f}x (rounds {ratios[0]:4.2f}-{ratios[-1]:4.2f})"

    def median(rounds: list[tuple[float, float]], phase: int) -> float:
        return statistics.median(r[phase] for r in rounds)

    return [
        f"scheduler   (raw create+start on a network of their own vs Docker's default "
        f"bridge: {median(raw, 0):5.2f} s vs {median(bridge, 0):5.2f} s, "
        f"{spread(network_cost)}: the price of tenant networks)",
        f"scheduler   (the same 20 with the SDK's containers.run, {THREADS} threads: "
        f"{median(high, 0):5.2f} s; Wharf {spread(high_ratios)})",
        f"scheduler   {COUNT} createContainer -> {COUNT} running: {median(ours, 0):5.2f} s   "
        f"raw SDK create+start, {THREADS} threads: {median(raw, 0):5.2f} s   "
        f"{spread(up_ratios)}   (goal <= 1.1x)",
        f"scheduler   {COUNT} deleteContainer -> none left:     {median(ours, 1):5.2f} s   "
        f"raw SDK stop+remove, {THREADS} threads: {median(raw, 1):5.2f} s   "
        f"{spread(down_ratios)}   (goal <= 1.2x)",
    ]


def fill(url: str) -> None:
    """10,000 stopped containers (never placed) in 1,000 tenants, written directly."""
    fill_containers(url, 1000, 10, desired="stopped", prefix="mem")


def rss_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def memory() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="wharf-bench-sched-") as directory:
        home = Path(directory)
        url = f"sqlite:///{home / 'wharf.db'}"
        fill(url)
        env = {**os.environ, "WHARF_HOME": str(home), "WHARF_DATABASE_URL": url,
               "WHARF_SCHEDULER_INTERVAL": "0.5"}
        cli = [sys.executable, "-m", "wharf.infra.cli"]
        subprocess.run([*cli, "projector", "--once"], env=env, check=True,
                       capture_output=True)
        process = subprocess.Popen([*cli, "scheduler", "--register-local"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(10)  # twenty passes over the 10,000 rows at the 0.5 s interval
            assert process.poll() is None, "wharf scheduler ended early"
            rss, peak = rss_mib(process.pid, "VmRSS"), rss_mib(process.pid, "VmHWM")
        finally:
            process.terminate()
            process.wait(30)
    return [f"scheduler   memory of `wharf scheduler`, 10,000 containers in the read side: "
            f"{rss:5.1f} MB RSS (peak {peak:5.1f} MB)   (goal <= 250 MB)"]


def run() -> list[str]:
    lines = lifecycle() + memory()
    for line in lines:
        print(line, flush=True)
    return lines


if __name__ == "__main__":
    run()
