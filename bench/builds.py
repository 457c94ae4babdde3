"""From a push to the new version serving: Wharf's pipeline (a signed GitHub webhook, then
clone, build, push to Wharf's registry and the service's rolling update, all Wharf's)
versus the same steps run by hand in the same run (`git clone`, `docker build`, `docker
push`, then `updateService` to the new tag), each waited on until every replica answers
with the new commit's page. Goal: Wharf <= 1.2x by hand.

Against `wharf up` in its own process (its registry on a free port, its builder on the
scheduler's leader), a repository served by `git daemon` on loopback, and a service of
two replicas of busybox's httpd.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from bench.api import Server, free_port

ROUNDS = 3
REPLICAS = 2
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
SERVE = ["sh", "-c", "[ -f /www/index.html ] || { mkdir -p /www && echo v0 > /www/index.html; "
                     "}; exec httpd -f -p 80 -h /www"]
DOCKERFILE = "FROM busybox:latest\nCOPY index.html /www/index.html\n"
REPLICA_PORTS = """query($id: ID!) { service(id: $id) { containers(first: 20) { edges {
  node { observed ports { hostPort } } } } } }"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b.io", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def run_cmd(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(list(args), capture_output=True, text=True, timeout=300, check=True,
                   env=env)


class Bench:
    def __init__(self, root: Path) -> None:
        self.root = root
        base = root / "git"
        (base / "app.git").mkdir(parents=True)
        git(base / "app.git", "init", "-q", "--bare", "-b", "main")
        self.work = root / "work"
        git(root, "clone", "-q", str(base / "app.git"), str(self.work))
        git(self.work, "checkout", "-q", "-b", "main")
        port = free_port()
        self.daemon = subprocess.Popen(
            ["git", "daemon", "--export-all", "--reuseaddr", f"--base-path={base}",
             "--listen=127.0.0.1", f"--port={port}", str(base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"git://127.0.0.1:{port}/app.git"
        self.registry = f"127.0.0.1:{free_port()}"
        self.server = Server(root / "home", scheduler=True, WHARF_REGISTRY=self.registry,
                             WHARF_INGRESS="off", WHARF_SCHEDULER_INTERVAL="1",
                             WHARF_BUILD_PRIVATE_GIT="on")
        self.conn = self.server.connect()
        self.docker_env = {**os.environ, "DOCKER_CONFIG": str(root / "docker")}
        self.round = 0

    def gql(self, query: str, token: str, variables: dict[str, Any] | None = None
            ) -> dict[str, Any]:
        data: dict[str, Any] = self.server.post(query, token, self.conn, variables)["data"]
        return data

    def commit(self, page: str) -> str:
        (self.work / "Dockerfile").write_text(DOCKERFILE)
        (self.work / "index.html").write_text(page)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", page)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD").strip()

    def setup(self) -> None:
        created = self.gql("""mutation { createTenant(input: {name: "acme", owner: "o@acme.io",
          plan: "unlimited"}) { ... on TenantCreated { ownerToken } } }""", self.server.token)
        self.token = created["createTenant"]["ownerToken"]
        run_cmd("docker", "login", self.registry, "-u", "bench", "-p", self.token,
                env=self.docker_env)
        self.commit("v1")
        self.service = self.gql("""mutation($c: [String!]!) { createService(input: {
          name: "web", image: "busybox:latest", replicas: 2, command: $c,
          ports: [{containerPort: 80}]}) { ... on ServicePayload { service { id } } } }""",
                                self.token, {"c": SERVE})["createService"]["service"]["id"]
        self.wait_serving("v0", 60)
        made = self.gql("""mutation($url: String!, $service: ID!) { createPipeline(input: {
          name: "web", gitUrl: $url, repository: "acme/web", service: $service}) {
          ... on PipelineCreated { webhookSecret pipeline { githubWebhook } } } }""",
                        self.token, {"url": self.url, "service": self.service})
        self.secret = made["createPipeline"]["webhookSecret"]
        self.hook = made["createPipeline"]["pipeline"]["githubWebhook"]

    def answers(self) -> set[str]:
        found = self.gql(REPLICA_PORTS, self.token, {"id": self.service})["service"]
        seen = set()
        for edge in found["containers"]["edges"]:
            node = edge["node"]
            if node["observed"] != "running" or not node["ports"]:
                continue
            with contextlib.suppress(OSError), DIRECT.open(
                    f"http://127.0.0.1:{node['ports'][0]['hostPort']}/", timeout=5) as reply:
                seen.add(reply.read().decode().strip())
        return seen

    def wait_serving(self, page: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.answers() != {page}:
            assert time.monotonic() < deadline, f"{page} was never served"
            time.sleep(0.05)

    def by_wharf(self) -> float:
        self.round += 1
        page = f"wharf {self.round} {uuid.uuid4().hex[:8]}"
        commit = self.commit(page)
        body = json.dumps({"ref": "refs/heads/main", "after": commit}).encode()
        signature = "sha256=" + hmac.new(self.secret.encode(), body,
                                         hashlib.sha256).hexdigest()
        started = time.perf_counter()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.server.port}{self.hook}", data=body, method="POST",
            headers={"Content-Type": "application/json", "X-GitHub-Event": "push",
                     "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature})
        with DIRECT.open(request, timeout=30) as answer:
            assert answer.status == 202
        self.wait_serving(page)
        return time.perf_counter() - started

    def by_hand(self) -> float:
        self.round += 1
        page = f"hand {self.round} {uuid.uuid4().hex[:8]}"
        self.commit(page)
        checkout = self.root / f"clone-{self.round}"
        image = f"{self.registry}/acme/web:hand-{self.round}"
        started = time.perf_counter()
        run_cmd("git", "clone", "-q", "--single-branch", "--branch", "main", self.url,
                str(checkout))
        run_cmd("docker", "build", "-q", "-t", image, str(checkout), env=self.docker_env)
        run_cmd("docker", "push", image, env=self.docker_env)
        self.gql("""mutation($id: ID!, $image: String!, $c: [String!]!) { updateService(
          input: {id: $id, image: $image, command: $c, ports: [{containerPort: 80}]}) {
          __typename } }""", self.token, {"id": self.service, "image": image, "c": SERVE})
        self.wait_serving(page)
        return time.perf_counter() - started

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.gql("""mutation($id: ID!) { deleteService(input: {id: $id}) { __typename }
              }""", self.token, {"id": self.service})
            time.sleep(3)  # (its replicas go with `wharf up`'s scheduler)
        self.server.stop()
        self.daemon.terminate()
        self.daemon.wait(10)
        subprocess.run(["sh", "-c", f"docker images -q '{self.registry}/*' | sort -u | "
                                    "xargs -r docker rmi -f"], capture_output=True, check=False)


def run() -> list[str]:
    print("\n== builds: push to serving, Wharf's pipeline vs by hand ==", flush=True)
    with tempfile.TemporaryDirectory(prefix="wharf-bench-builds-") as scratch:
        bench = Bench(Path(scratch))
        try:
            bench.setup()
            wharf, hand = [], []
            for _ in range(ROUNDS):  # alternating, so that drift hits both alike
                wharf.append(bench.by_wharf())
                hand.append(bench.by_hand())
                print(f"  webhook to serving {wharf[-1]:.2f} s, by hand {hand[-1]:.2f} s",
                      flush=True)
        finally:
            bench.close()
    w, h = statistics.median(wharf), statistics.median(hand)
    line = (f"builds: push to {REPLICAS} replicas serving the new commit: Wharf {w:.2f} s, "
            f"by hand (clone, build, push, updateService) {h:.2f} s: {w / h:.2f}x "
            "(goal <= 1.2x)")
    print(line, flush=True)
    return [line]


if __name__ == "__main__":
    run()
