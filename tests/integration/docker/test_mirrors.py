"""Pull-through mirrors: a second local registry plays the upstream (no outside registry
is reachable here); Wharf runs a proxy-mode registry for it and hosts pull through it."""

from __future__ import annotations

import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.docker.conftest import Cloud, caught_up
from tests.integration.docker.test_registry import CREATE, DockerCli
from tests.integration.helpers import free_port, wait_for
from wharf.infra.mirrors import MirrorSupervisor

CREATE_MIRROR = """mutation($input: CreateMirrorInput!) { createMirror(input: $input) {
  __typename ... on MirrorPayload { mirror { id name address state detail public } }
  ... on Forbidden { message } ... on InvalidInput { field message } } }"""
MIRRORS = "{ mirrors { id name address state detail public } }"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[str]:
    """A plain registry (no auth) on loopback: the upstream a mirror serves from."""
    address = f"127.0.0.1:{free_port()}"
    config = tmp_path / "upstream.yml"
    config.write_text(yaml.safe_dump({
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "upstream")}},
        "http": {"addr": address}}))
    process = subprocess.Popen(["docker-registry", "serve", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers() -> bool:
            try:
                with DIRECT.open(f"http://{address}/v2/", timeout=2):
                    return True
            except OSError:
                return False

        wait_for("the upstream registry", answers, 20)
        yield address
    finally:
        process.terminate()
        process.wait(10)


def mirrors(cloud: Cloud, token: str) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in cloud.api.gql(MIRRORS, token=token)["mirrors"]}


def test_a_mirror_serves_an_image_only_its_upstream_holds_and_only_to_its_owners(
    registry_cloud: Cloud, upstream: str, tmp_path: Path
) -> None:
    cloud = registry_cloud
    wiring = cloud.api.wiring
    _, acme = cloud.tenant("acme")
    _, rival = cloud.tenant("rival")
    path = f"library/only-upstream-{uuid.uuid4().hex[:8]}"
    cli = DockerCli(tmp_path / "docker")
    cli.ok("tag", "busybox:latest", f"{upstream}/{path}:1")
    try:
        cli.ok("push", f"{upstream}/{path}:1")
    finally:
        cli.run("rmi", f"{upstream}/{path}:1")

    made = cloud.api.gql(CREATE_MIRROR, {"input": {
        "name": "hub", "upstream": f"http://{upstream}", "public": True}},
        token=cloud.api.operator_token)["createMirror"]
    assert made["__typename"] == "MirrorPayload" and made["mirror"]["public"] is True
    assert cloud.api.gql(CREATE_MIRROR, {"input": {
        "name": "sneaky", "upstream": f"http://{upstream}", "public": True}},
        token=acme)["createMirror"]["__typename"] == "Forbidden"
    own = cloud.api.gql(CREATE_MIRROR, {"input": {
        "name": "mine", "upstream": f"http://{upstream}"}}, token=acme)["createMirror"]
    assert own["__typename"] == "MirrorPayload" and own["mirror"]["public"] is False
    down_port = free_port()  # nothing listens there
    cloud.api.gql(CREATE_MIRROR, {"input": {
        "name": "down", "upstream": f"http://127.0.0.1:{down_port}", "public": True}},
        token=cloud.api.operator_token)

    supervisor: MirrorSupervisor = wiring.mirrors()
    try:
        supervisor.pass_once()
        caught_up(wiring)
        seen = mirrors(cloud, acme)
        assert seen["hub"]["state"] == "running" and seen["hub"]["address"]
        assert seen["mine"]["state"] == "running"
        assert seen["down"]["state"] == "unreachable"
        assert "connection refused" in seen["down"]["detail"]
        assert "mine" not in mirrors(cloud, rival)  # another tenant's mirror is not shown

        # A host that lacks the image pulls it through the mirror, and runs it.
        image = f"{seen['hub']['address']}/{path}:1"
        assert not cloud.docker.images(name=image)
        container = cloud.api.gql(CREATE, {"name": "web", "image": image},
                                  token=rival)["createContainer"]["container"]["id"]
        cloud.wait_observed(rival, container, "running", timeout=60)
        assert cloud.docker.images(name=image)
        # Another tenant's mirror is not found, as its images would not be.
        theirs = f"{seen['mine']['address']}/{path}:1"
        refused = cloud.api.gql(CREATE, {"name": "thief", "image": theirs}, token=rival)
        assert refused["createContainer"]["__typename"] == "NotFound"

        # A mirror whose process dies is started again on the next pass.
        supervisor.processes[seen["hub"]["id"]].stop()
        supervisor.pass_once()
        assert supervisor.processes[seen["hub"]["id"]].alive
    finally:
        supervisor.close()
        for held in cloud.docker.images(name=f"*/{path}"):
            for tag in held.get("RepoTags") or []:
                cloud.docker.remove_image(tag)
