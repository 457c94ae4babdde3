"""Builds from Git: a real repository served by `git daemon` on loopback, a push webhook
in GitHub's format, a real build on the Docker Engine, a push to Wharf's registry, and the
linked service rolled to the new image, serving the new commit's content."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.docker.conftest import Cloud
from tests.integration.helpers import free_port, wait_for
from wharf.infra.webhooks import github_signature

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Serves /www, which the built images hold and plain busybox does not (it says v0).
SERVE = ["sh", "-c", "[ -f /www/index.html ] || { mkdir -p /www && echo v0 > /www/index.html; "
                     "}; exec httpd -f -p 80 -h /www"]
CREATE_SERVICE = """mutation($input: CreateServiceInput!) { createService(input: $input) {
  __typename ... on ServicePayload { service { id } } } }"""
SERVICE = """query($id: ID!) { service(id: $id) { image version rolledOutVersion running
  containers(first: 20) { edges { node { id observed ports { containerPort hostPort } } } }
} }"""
CREATE_PIPELINE = """mutation($input: CreatePipelineInput!) { createPipeline(input: $input) {
  __typename ... on PipelineCreated { webhookSecret pipeline { id githubWebhook
    genericWebhook } }
  ... on InvalidInput { field message } ... on NotFound { message } } }"""
BUILDS = """query($id: ID!) { pipeline(id: $id) { builds(first: 20) { edges { node {
  id number trigger commit image state digest reason logTail deploy } } } } }"""
BUILD_LOG = """query($id: ID!) { buildLog(id: $id, tail: 500) { text } }"""


@dataclass
class GitServer:
    """A bare repository served by `git daemon` on loopback, and a clone to commit in."""

    url: str
    work: Path

    def commit(self, files: dict[str, str], message: str) -> str:
        for name, text in files.items():
            (self.work / name).write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD").strip()


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.io", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    base = tmp_path / "git"
    (base / "app.git").mkdir(parents=True)
    git(base / "app.git", "init", "-q", "--bare", "-b", "main")
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(base / "app.git"), str(work))
    git(work, "checkout", "-q", "-b", "main")
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--export-all", "--reuseaddr",
                               f"--base-path={base}", "--listen=127.0.0.1", f"--port={port}",
                               str(base)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("git daemon", lambda: subprocess.run(
            ["git", "ls-remote", f"git://127.0.0.1:{port}/app.git"], capture_output=True,
            timeout=10, check=False).returncode == 0, 20)
        yield GitServer(f"git://127.0.0.1:{port}/app.git", work)
    finally:
        daemon.terminate()
        daemon.wait(10)


def dockerfile(page: str) -> dict[str, str]:
    return {"Dockerfile": "FROM busybox:latest\nCOPY index.html /www/index.html\n",
            "index.html": page}


def hook(cloud: Cloud, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(f"{cloud.api.url}{path}", data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with DIRECT.open(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def push_event(cloud: Cloud, pipeline: dict[str, Any], secret: str, commit: str,
               delivery: str | None = None, signature: str | None = None,
               ref: str = "refs/heads/main") -> tuple[int, Any]:
    body = json.dumps({"ref": ref, "before": "0" * 40, "after": commit,
                       "repository": {"full_name": "acme/app"}}).encode()
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery or str(uuid.uuid4())}
    if signature != "":
        headers["X-Hub-Signature-256"] = signature or github_signature(secret, body)
    return hook(cloud, pipeline["githubWebhook"], body, headers)


def builds(cloud: Cloud, token: str, pipeline_id: str) -> list[dict[str, Any]]:
    data = cloud.api.gql(BUILDS, {"id": pipeline_id}, token=token)
    return [edge["node"] for edge in data["pipeline"]["builds"]["edges"]]


def ended(cloud: Cloud, token: str, pipeline_id: str, number: int) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = [b for b in builds(cloud, token, pipeline_id) if b["number"] == number]
        return found[0] if found and found[0]["state"] in ("succeeded", "failed") else None

    return wait_for(f"build {number} to end", check, 120)


def answer_of(cloud: Cloud, token: str, service_id: str) -> set[str]:
    """What each running replica of the service answers on its published port."""
    found = cloud.api.gql(SERVICE, {"id": service_id}, token=token)["service"]
    answers = set()
    for edge in found["containers"]["edges"]:
        node = edge["node"]
        if node["observed"] != "running" or not node["ports"]:
            continue
        port = node["ports"][0]["hostPort"]
        with contextlib.suppress(OSError), DIRECT.open(f"http://127.0.0.1:{port}/",
                                                       timeout=5) as reply:
            answers.add(reply.read().decode().strip())
    return answers


def test_a_signed_push_builds_pushes_and_rolls_the_service_to_the_new_commit(
    registry_cloud: Cloud, git_server: GitServer
) -> None:
    cloud = registry_cloud
    _, token = cloud.tenant("acme")
    first = git_server.commit(dockerfile("v1"), "first")
    service = cloud.api.gql(CREATE_SERVICE, {"input": {
        "name": "web", "image": "busybox:latest", "replicas": 2, "command": SERVE,
        "ports": [{"containerPort": 80}], "updatePolicy": {"parallelism": 1}}},
        token=token)["createService"]["service"]["id"]
    wait_for("v0 served", lambda: answer_of(cloud, token, service) == {"v0"}, 60)
    made = cloud.api.gql(CREATE_PIPELINE, {"input": {
        "name": "web", "gitUrl": git_server.url, "repository": "acme/web",
        "service": service, "tagPattern": "{branch}-{short}"}},
        token=token)["createPipeline"]
    assert made["__typename"] == "PipelineCreated", made
    pipeline, secret = made["pipeline"], made["webhookSecret"]

    second = git_server.commit({"index.html": f"v2 {first[:7]}"}, "second")
    delivery = str(uuid.uuid4())
    status, answer = push_event(cloud, pipeline, secret, second, delivery)
    assert status == 202 and answer["duplicate"] is False, answer
    done = ended(cloud, token, pipeline["id"], 1)
    assert done["state"] == "succeeded", done
    assert done["commit"] == second and done["trigger"] == "push"
    assert done["image"].endswith(f"/acme/web:main-{second[:12]}")
    assert done["digest"].startswith("sha256:") and done["deploy"] == "rolled"
    # The service runs the new image, by its digest, and answers with the new content.
    wait_for("the new version served", lambda: answer_of(cloud, token, service) == {
        f"v2 {first[:7]}"}, 90)
    rolled = cloud.api.gql(SERVICE, {"id": service}, token=token)["service"]
    assert rolled["image"].endswith(f"/acme/web@{done['digest']}")
    log = [line["text"] for line in
           cloud.api.gql(BUILD_LOG, {"id": done["id"]}, token=token)["buildLog"]]
    assert any("COPY index.html" in line for line in log), log
    assert any(line.startswith("[wharf] pushed ") for line in log)
    # The image is in the tenant's repository list, tagged as the pattern says.
    repositories = cloud.api.gql("""{ repositories { edges { node { name tags { tag digest }
      } } } }""", token=token)["repositories"]["edges"]
    tags = {t["tag"]: t["digest"] for e in repositories if e["node"]["name"] == "acme/web"
            for t in e["node"]["tags"]}
    assert tags == {f"main-{second[:12]}": done["digest"]}

    # The same delivery again builds nothing more; nor does a replay of it under another
    # delivery id (the id is not signed: the commit is what builds once).
    status, again = push_event(cloud, pipeline, secret, second, delivery)
    assert status == 200 and again["duplicate"] is True and again["build"] == answer["build"]
    status, replayed = push_event(cloud, pipeline, secret, second, str(uuid.uuid4()))
    assert status == 200 and replayed["duplicate"] is True
    # A wrong or missing signature, or another branch, starts nothing.
    assert push_event(cloud, pipeline, secret, second, signature="sha256=" + "0" * 64)[0] \
        == 401
    assert push_event(cloud, pipeline, secret, second, signature="")[0] == 401
    assert push_event(cloud, pipeline, "not-the-secret", second)[0] == 401
    assert push_event(cloud, pipeline, secret, second, ref="refs/heads/other")[0] == 202
    # (nothing to wait for: a build asked for is in the list when the hook answers)
    assert [b["number"] for b in builds(cloud, token, pipeline["id"])] == [1]


def test_a_failing_dockerfile_fails_the_build_with_its_error_and_leaves_the_service(
    registry_cloud: Cloud, git_server: GitServer
) -> None:
    cloud = registry_cloud
    _, token = cloud.tenant("acme")
    service = cloud.api.gql(CREATE_SERVICE, {"input": {
        "name": "web", "image": "busybox:latest", "replicas": 1,
        "command": ["sleep", "600"]}}, token=token)["createService"]["service"]["id"]
    before = cloud.api.gql(SERVICE, {"id": service}, token=token)["service"]
    made = cloud.api.gql(CREATE_PIPELINE, {"input": {
        "name": "web", "gitUrl": git_server.url, "repository": "acme/web",
        "service": service}}, token=token)["createPipeline"]
    pipeline, secret = made["pipeline"], made["webhookSecret"]
    broken = git_server.commit({"Dockerfile": "FROM busybox:latest\n"
                                              "RUN echo boom-marker-1234 && exit 3\n"}, "broken")
    # The generic webhook, with the secret as its token.
    status, answer = hook(cloud, pipeline["genericWebhook"],
                          json.dumps({"commit": broken}).encode(),
                          {"Authorization": f"Bearer {secret}"})
    assert status == 202, answer
    assert hook(cloud, pipeline["genericWebhook"], b"{}",
                {"Authorization": "Bearer nope"})[0] == 401
    done = ended(cloud, token, pipeline["id"], 1)
    assert done["state"] == "failed" and done["trigger"] == "generic"
    assert "returned a non-zero code: 3" in done["reason"], done
    assert "boom-marker-1234" in done["logTail"]
    after = cloud.api.gql(SERVICE, {"id": service}, token=token)["service"]
    assert (after["image"], after["version"]) == (before["image"], before["version"])


RUN_PIPELINE = """mutation($id: ID!) { runPipeline(input: {id: $id}) { __typename } }"""


def test_a_build_takes_nothing_from_another_tenant_the_host_or_forever(
    registry_cloud: Cloud, git_server: GitServer, tmp_path: Path
) -> None:
    from tests.integration.docker.test_registry import DockerCli, push

    cloud = registry_cloud
    registry = cloud.api.wiring.settings.registry
    _, acme = cloud.tenant("acme")
    _, rival = cloud.tenant("rival")
    owner = DockerCli(tmp_path / "docker")
    assert owner.login(registry, acme).returncode == 0
    push(owner, f"{registry}/acme/secret:1")  # on the build host too, until pushed away
    image_id = cloud.docker.inspect_image("busybox:latest")["Id"]
    commit = git_server.commit({
        "other.Dockerfile": f"FROM {registry}/acme/secret:1\nRUN cat /etc/hostname\n",
        "copy.Dockerfile": f"FROM busybox\nCOPY --from={registry}/acme/secret:1 /bin/sh /x\n",
        "by-id.Dockerfile": f"FROM {image_id.removeprefix('sha256:')[:8]}\n",
        "fetch.Dockerfile": f"FROM busybox\nADD {cloud.api.url}/healthz /h\n",
        "slow.Dockerfile": "FROM busybox\nRUN sleep 300\n",
        "index.html": "x"}, "hostile")
    (git_server.work / "linked").symlink_to("/etc")
    git_server.commit({}, "a link out of the checkout")
    cases = {"other": ("other.Dockerfile", "image not found"),
             "copy": ("copy.Dockerfile", "image not found"),
             "by-id": ("by-id.Dockerfile", "image not found"),
             "fetch": ("fetch.Dockerfile", "do not fetch URLs"),
             "linked": ("linked/hostname", "regular file"),
             "slow": ("slow.Dockerfile", "out of time")}
    # A Git server that takes the connection and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    hang_url = f"http://127.0.0.1:{silent.getsockname()[1]}/x.git"
    cases["hang"] = ("Dockerfile", "out of time")
    started = time.monotonic()
    ids = {}
    for name, (path, _) in cases.items():
        made = cloud.api.gql(CREATE_PIPELINE, {"input": {
            "name": name, "gitUrl": hang_url if name == "hang" else git_server.url,
            "repository": "rival/app", "dockerfile": path, "timeoutS": 10}},
            token=rival)["createPipeline"]
        assert made["__typename"] == "PipelineCreated", made
        ids[name] = made["pipeline"]["id"]
        assert cloud.api.gql(RUN_PIPELINE, {"id": ids[name]}, token=rival)["runPipeline"][
            "__typename"] == "BuildPayload"
    for name, (_, reason) in cases.items():
        done = ended(cloud, rival, ids[name], 1)
        assert done["state"] == "failed" and reason in done["reason"], (name, done)
    assert time.monotonic() - started < 60  # (the silent step ended at its deadline)
    assert commit
    # A .dockerignore that is a link (docker-py would read it on Wharf's host) is refused.
    (git_server.work / ".dockerignore").symlink_to("/dev/zero")
    git_server.commit({}, "a linked .dockerignore")
    linked = cloud.api.gql(CREATE_PIPELINE, {"input": {
        "name": "ignore", "gitUrl": git_server.url, "repository": "rival/app",
        "dockerfile": "fetch.Dockerfile", "timeoutS": 10}}, token=rival)["createPipeline"]
    cloud.api.gql(RUN_PIPELINE, {"id": linked["pipeline"]["id"]}, token=rival)
    done = ended(cloud, rival, linked["pipeline"]["id"], 1)
    assert done["state"] == "failed" and ".dockerignore" in done["reason"], done
    # The git that hung was killed with every helper it started (SIGKILLed processes
    # of a loaded machine take a moment to go: polled, while the silent server still
    # holds them, so none could end by itself).
    def helpers() -> list[str]:
        return subprocess.run(["pgrep", "-f", hang_url], capture_output=True, text=True,
                              check=False).stdout.split()

    try:
        wait_for("the hung git and its helpers gone", lambda: not helpers(), 30)
    finally:
        silent.close()
    # Nothing reached rival's repository.
    repositories = cloud.api.gql("{ repositories { edges { node { name tags { tag } } } } }",
                                 token=rival)["repositories"]["edges"]
    assert all(not e["node"]["tags"] for e in repositories if e["node"]["name"] == "rival/app")


BUILD_LOG_FOLLOWED = """subscription($id: ID!) { buildLog(id: $id) { text } }"""


def test_a_plan_runs_its_builds_one_at_a_time_and_the_log_streams_live(
    registry_cloud: Cloud, git_server: GitServer
) -> None:
    from websockets.sync.client import connect

    cloud = registry_cloud
    _, token = cloud.tenant("acme", plan="s")  # concurrent_builds: 1
    git_server.commit({"Dockerfile": "FROM busybox\nRUN echo step-one && sleep 2 && "
                                     "echo step-two\n"}, "slow")
    made = cloud.api.gql(CREATE_PIPELINE, {"input": {
        "name": "web", "gitUrl": git_server.url, "repository": "acme/web"}},
        token=token)["createPipeline"]
    pipeline = made["pipeline"]["id"]
    first = cloud.api.gql("""mutation($id: ID!) { runPipeline(input: {id: $id}) {
      ... on BuildPayload { build { id } } } }""", {"id": pipeline},
                          token=token)["runPipeline"]["build"]["id"]
    cloud.api.gql(RUN_PIPELINE, {"id": pipeline}, token=token)
    url = cloud.api.url.replace("http://", "ws://") + "/graphql"
    with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init",
                            "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": BUILD_LOG_FOLLOWED, "variables": {"id": first}}}))
        lines = []
        while True:  # the subscription ends with the build
            message = json.loads(ws.recv(timeout=60))
            if message["type"] == "complete":
                break
            assert message["type"] == "next", message
            lines.append(message["payload"]["data"]["buildLog"]["text"])
    assert any("step-one" in line for line in lines)
    assert any(line.startswith("[wharf] pushed ") for line in lines)
    one, two = ended(cloud, token, pipeline, 1), ended(cloud, token, pipeline, 2)
    assert one["state"] == two["state"] == "succeeded"
    times = {e["node"]["number"]: e["node"] for e in cloud.api.gql(
        """query($id: ID!) { pipeline(id: $id) { builds { edges { node { number
        startedAt finishedAt } } } } }""", {"id": pipeline},
        token=token)["pipeline"]["builds"]["edges"]}
    assert times[2]["startedAt"] >= times[1]["finishedAt"]  # one at a time
