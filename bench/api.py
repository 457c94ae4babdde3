"""The GraphQL API under load, against `wharf up` in its own process.

1. Mutations per second with 16 concurrent clients: createContainer versus the no-op
   `ping` mutation on the same server (goal: >= 50 %).
2. Latency of the first page of 50 of one tenant's containers while the store holds
   10,000 containers across 1,000 tenants (goal: p99 <= 25 ms).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import fill_containers, scratch_store

CLIENTS = 16
PER_CLIENT = 60
ROUNDS = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`wharf up` on a free port with the rate limit off; stopped on exit."""

    def __init__(self, home: Path, database_url: str | None = None,
                 scheduler: bool = False, **settings: str) -> None:
        self.port = free_port()
        self.home = home
        # The API figures are the API's: without a scheduler starting real containers.
        env = {**os.environ, "WHARF_HOME": str(home), "WHARF_LISTEN": f"127.0.0.1:{self.port}",
               "WHARF_RATE_LIMIT": "0", "WHARF_SCHEDULER": "on" if scheduler else "off",
               "WHARF_REGISTRY": "off",
               **settings}
        if database_url:
            env["WHARF_DATABASE_URL"] = database_url
        self.process = subprocess.Popen([sys.executable, "-m", "wharf.infra.cli", "up"],
                                        env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        while "Running the API" not in (line := self.process.stdout.readline()):
            assert line, "wharf up ended early"
        # Keep reading its output (access logs), or a full pipe would stall the server.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self.token = (home / "operator-token").read_text().strip()
        deadline = time.monotonic() + 30
        while True:
            try:
                self.post("mutation { ping { position } }", self.token, self.connect())
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def post(self, query: str, token: str, conn: http.client.HTTPConnection,
             variables: dict[str, Any] | None = None) -> dict[str, Any]:
        conn.request("POST", "/graphql", json.dumps({"query": query,
                                                     "variables": variables or {}}),
                     {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        answer: dict[str, Any] = json.loads(response.read())
        assert response.status == 200 and "errors" not in answer, answer
        return answer

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=20)


def mutations_per_second(server: Server) -> tuple[float, float]:
    conn = server.connect()
    tokens = []
    for i in range(CLIENTS):
        created = server.post(
            """mutation($n: String!) { createTenant(input: {name: $n, owner: "o@b.io",
            plan: "unlimited"}) { ... on TenantCreated { ownerToken } } }""",
            server.token, conn, {"n": f"bench-client-{i}"})
        tokens.append(created["data"]["createTenant"]["ownerToken"])

    def run(query: str, make_vars: Any) -> float:
        def client(i: int) -> None:
            c = server.connect()
            for j in range(PER_CLIENT):
                server.post(query, tokens[i], c, make_vars(i, j))

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
        return CLIENTS * PER_CLIENT / (time.perf_counter() - started)

    # Rounds alternate, and the ratio is the median of the rounds' ratios: this machine's
    # speed drifts by tens of percent over a minute, which a single pair would catch.
    ratios, creates, noops = [], [], []
    for round_no in range(ROUNDS):
        noop = run("mutation { ping { position } }", lambda i, j: {})
        create = run("""mutation($n: String!) { createContainer(input: {name: $n,
            image: "busybox"}) { __typename } }""", lambda i, j, r=round_no: {"n": f"r{r}-c{j}"})
        ratios.append(create / noop)
        creates.append(create)
        noops.append(noop)
    middle = sorted(range(ROUNDS), key=lambda k: ratios[k])[ROUNDS // 2]
    return creates[middle], noops[middle]


def fill_store(home: Path, tenants: int = 1000, per_tenant: int = 10) -> list[str]:
    return fill_containers(f"sqlite:///{home / 'wharf.db'}", tenants, per_tenant,
                           desired="running", prefix="lat")


def page_latency(server: Server, tenant_ids: list[str], samples: int = 2000) -> list[float]:
    conn = server.connect()
    query = """query($t: String!) { containers(first: 50, tenant: $t) {
        edges { node { id name desired observed } } pageInfo { hasNextPage } } }"""
    rng = random.Random(7)
    timings = []
    for _ in range(samples):
        tenant = rng.choice(tenant_ids)
        started = time.perf_counter()
        answer = server.post(query, server.token, conn, {"t": tenant})
        timings.append((time.perf_counter() - started) * 1000)
        assert len(answer["data"]["containers"]["edges"]) == 10
    return timings


def run() -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory(prefix="wharf-bench-api-") as directory:
        home = Path(directory)
        tenant_ids = fill_store(home)
        server = Server(home)
        try:
            timings = page_latency(server, tenant_ids)
            create, noop = mutations_per_second(server)
        finally:
            server.stop()
    lines.append(f"mutations   sqlite   16 clients: createContainer {create:7,.0f}/s   no-op "
                 f"ping {noop:7,.0f}/s   ratio {create / noop:6.1%}   (goal >= 50%)")
    with tempfile.TemporaryDirectory(prefix="wharf-bench-api-") as directory, \
            scratch_store("postgres") as url:
        server = Server(Path(directory), url)
        try:
            create, noop = mutations_per_second(server)
        finally:
            server.stop()
    lines.append(f"mutations   postgres 16 clients: createContainer {create:7,.0f}/s   no-op "
                 f"ping {noop:7,.0f}/s   ratio {create / noop:6.1%}   (goal >= 50%)")
    q = statistics.quantiles(timings, n=100)
    lines.append(f"page        sqlite   first 50 of a tenant's containers, 10,000 containers "
                 f"/ 1,000 tenants: p50 {q[49]:5.1f} ms   p99 {q[98]:5.1f} ms   "
                 "(goal p99 <= 25 ms)")
    for line in lines:
        print(line, flush=True)
    return lines


if __name__ == "__main__":
    run()
