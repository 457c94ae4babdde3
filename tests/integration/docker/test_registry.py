"""Wharf's own image registry, with Wharf as its token server: `docker login`, `docker
push` and `docker pull` by hand against a real registry and a real Docker Engine, each
tenant held to its own namespace, and hosts pulling what they lack."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import docker

from tests.integration.docker.conftest import Cloud, caught_up
from tests.integration.helpers import wait_for
from wharf.infra.registry import RegistryClient, reconcile, signer_of

REPOSITORIES = """query { repositories(first: 50) { edges { node {
  id name public reference description tags { tag digest size pushedAt } } } } }"""
REPOSITORY = """query($name: String!) { repository(name: $name) {
  id name tags { tag digest size } } }"""
CREATE = """mutation($name: String!, $image: String!) {
  createContainer(input: {name: $name, image: $image, command: ["sleep", "600"]}) {
    __typename ... on ContainerPayload { container { id } }
    ... on NotFound { message } ... on InvalidInput { field message } } }"""
DELETE_IMAGE = """mutation($repository: ID!, $tag: String!, $confirm: Boolean!) {
  deleteImage(input: {repository: $repository, tag: $tag, confirm: $confirm}) {
    __typename ... on ImageDeletion { digest tags deleted }
    ... on NotFound { message } ... on Conflict { message } } }"""


class DockerCli:
    """The docker command line with a configuration of its own (its logins)."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "DOCKER_CONFIG": str(home)}

    def run(self, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True,
                              input=password, timeout=120, check=False)

    def ok(self, *args: str, password: str | None = None) -> str:
        done = self.run(*args, password=password)
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
        return done.stdout

    def login(self, registry: str, token: str) -> subprocess.CompletedProcess[str]:
        return self.run("login", registry, "-u", "anyone", "--password-stdin", password=token)


def registry_of(cloud: Cloud) -> str:
    return cloud.api.wiring.settings.registry


def repositories(cloud: Cloud, token: str) -> dict[str, dict[str, Any]]:
    data = cloud.api.gql(REPOSITORIES, token=token)
    return {edge["node"]["name"]: edge["node"] for edge in data["repositories"]["edges"]}


def push(cli: DockerCli, reference: str, source: str = "busybox:latest") -> None:
    cli.ok("tag", source, reference)
    try:
        cli.ok("push", reference)
    finally:
        cli.run("rmi", reference)


def test_a_push_by_hand_appears_in_the_tenants_list_and_nowhere_else(
    registry_cloud: Cloud, tmp_path: Path
) -> None:
    cloud, registry = registry_cloud, registry_of(registry_cloud)
    _, acme = cloud.tenant("acme")
    _, rival = cloud.tenant("rival")
    owner = DockerCli(tmp_path / "acme-docker")
    assert owner.login(registry, acme).returncode == 0
    # A bad password is refused at login.
    assert DockerCli(tmp_path / "bad").login(registry, "wharf_" + "0" * 32 + "_x") \
        .returncode != 0

    push(owner, f"{registry}/acme/web:1")

    def listed() -> dict[str, Any] | None:
        found = repositories(cloud, acme).get("acme/web")
        return found if found and found["tags"] else None

    web = wait_for("the push to be recorded", listed, timeout=30)
    assert web["public"] is False and web["reference"] == f"{registry}/acme/web"
    [tag] = web["tags"]
    assert tag["tag"] == "1" and tag["digest"].startswith("sha256:") and tag["size"] > 0

    # Another tenant sees nothing of it, and can neither pull nor push it.
    assert "acme/web" not in repositories(cloud, rival)
    assert cloud.api.gql(REPOSITORY, {"name": "acme/web"}, token=rival)["repository"] is None
    other = DockerCli(tmp_path / "rival-docker")
    assert other.login(registry, rival).returncode == 0
    refused = other.run("pull", f"{registry}/acme/web:1")
    assert refused.returncode != 0 and "denied" in refused.stderr.lower() + refused.stdout
    other.ok("tag", "busybox:latest", f"{registry}/acme/web:evil")
    try:
        assert other.run("push", f"{registry}/acme/web:evil").returncode != 0
    finally:
        other.run("rmi", f"{registry}/acme/web:evil")
    # Nor can anyone without a token.
    nobody = DockerCli(tmp_path / "nobody-docker")
    assert nobody.run("pull", f"{registry}/acme/web:1").returncode != 0

    # Nor run it: by name, by digest or by the image's id, it is not found.
    local = docker.APIClient()
    try:
        image_id = local.inspect_image("busybox:latest")["Id"]
    finally:
        local.close()
    for image in (f"{registry}/acme/web:1", f"{registry}/acme/web@{tag['digest']}", image_id,
                  image_id.removeprefix("sha256:")[:12]):
        made = cloud.api.gql(CREATE, {"name": "thief", "image": image}, token=rival)
        assert made["createContainer"]["__typename"] == "NotFound", (image, made)
    assert "acme/web" not in repositories(cloud, rival)


def test_a_host_that_lacks_the_image_pulls_it_with_the_owners_token(
    registry_cloud: Cloud, tmp_path: Path, docker_api: docker.APIClient
) -> None:
    cloud, registry = registry_cloud, registry_of(registry_cloud)
    _, acme = cloud.tenant("acme")
    owner = DockerCli(tmp_path / "docker")
    assert owner.login(registry, acme).returncode == 0
    name = f"pulled-{uuid.uuid4().hex[:8]}"
    image = f"{registry}/acme/{name}:1"
    push(owner, image)
    assert not docker_api.images(name=image)  # the engine holds it no more

    made = cloud.api.gql(CREATE, {"name": "web", "image": image}, token=acme)
    container = made["createContainer"]["container"]["id"]
    cloud.wait_observed(acme, container, "running", timeout=60)
    assert docker_api.images(name=image), "the host pulled the image"
    docker_api.remove_image(image, force=True)

    # An image the registry does not have is the container's failure, as the pull says.
    missing = cloud.api.gql(CREATE, {"name": "ghost", "image": f"{registry}/acme/nothing:1"},
                            token=acme)["createContainer"]["container"]["id"]

    def failed() -> str | None:
        row = cloud.container(acme, missing)
        return row["failure"] or None

    failure = wait_for("the failed pull to show", failed, timeout=60)
    assert "pulling" in failure and "acme/nothing" in failure


def test_deleting_a_tag_shows_the_tags_sharing_its_image_first(
    registry_cloud: Cloud, tmp_path: Path
) -> None:
    cloud, registry = registry_cloud, registry_of(registry_cloud)
    _, acme = cloud.tenant("acme")
    _, rival = cloud.tenant("rival")
    owner = DockerCli(tmp_path / "docker")
    assert owner.login(registry, acme).returncode == 0
    push(owner, f"{registry}/acme/app:1")
    push(owner, f"{registry}/acme/app:latest")

    def both() -> dict[str, Any] | None:
        found = repositories(cloud, acme).get("acme/app")
        return found if found and len(found["tags"]) == 2 else None

    app = wait_for("both tags to be recorded", both, timeout=30)
    ask = {"repository": app["id"], "tag": "1", "confirm": False}
    assert cloud.api.gql(DELETE_IMAGE, {**ask}, token=rival)["deleteImage"]["__typename"] \
        == "NotFound"
    shown = cloud.api.gql(DELETE_IMAGE, ask, token=acme)["deleteImage"]
    assert shown["tags"] == ["1", "latest"] and shown["deleted"] is False
    assert len(repositories(cloud, acme)["acme/app"]["tags"]) == 2  # only asked

    done = cloud.api.gql(DELETE_IMAGE, {**ask, "confirm": True}, token=acme)["deleteImage"]
    assert done == {"__typename": "ImageDeletion", "digest": shown["digest"],
                    "tags": ["1", "latest"], "deleted": True}
    assert repositories(cloud, acme)["acme/app"]["tags"] == []
    wiring = cloud.api.wiring
    client = RegistryClient(registry, signer_of(wiring.settings.home, wiring.app.clock),
                            wiring.app.clock)
    assert client.tags("acme/app") == []


def test_the_reconcile_records_what_the_notifications_missed(
    registry_cloud: Cloud, tmp_path: Path
) -> None:
    from wharf.commands import messages as m
    from wharf.commands.actors import Actor

    cloud, registry = registry_cloud, registry_of(registry_cloud)
    _, acme = cloud.tenant("acme")
    owner = DockerCli(tmp_path / "docker")
    assert owner.login(registry, acme).returncode == 0
    push(owner, f"{registry}/acme/kept:1")
    wait_for("the push to be recorded",
             lambda: repositories(cloud, acme).get("acme/kept", {}).get("tags"), timeout=30)
    wiring = cloud.api.wiring
    system = Actor.system("test")
    # The log forgets the push (as if its notification was lost), and holds a tag the
    # registry never had.
    wiring.app.handle(m.RecordImagesGone(actor=system, name="acme/kept", tags=["1"]))
    wiring.app.handle(m.RecordPush(actor=system, name="acme/kept", tag="phantom",
                                   digest="sha256:" + "ab" * 32, size=1,
                                   pushed_at="2026-01-01T00:00:00+00:00"))
    caught_up(wiring)
    assert [t["tag"] for t in repositories(cloud, acme)["acme/kept"]["tags"]] == ["phantom"]

    client = RegistryClient(registry, signer_of(wiring.settings.home, wiring.app.clock),
                            wiring.app.clock)
    assert reconcile(wiring.app, wiring.view, client) == 2
    caught_up(wiring)
    [tag] = repositories(cloud, acme)["acme/kept"]["tags"]
    assert tag["tag"] == "1" and tag["size"] > 0
    assert reconcile(wiring.app, wiring.view, client) == 0  # nothing more to say


def test_a_container_on_a_second_engine_that_lacks_the_image_pulls_it_and_runs(
    registry_two_hosts: Cloud, tmp_path: Path
) -> None:
    from tests.integration.docker import second_engine
    from tests.integration.docker.test_hosts import hosts, running_on
    from tests.integration.docker.test_reconcile import settle
    from wharf.infra.scheduling import LOCAL_ENGINE

    cloud, registry = registry_two_hosts, registry_of(registry_two_hosts)
    _, acme = cloud.tenant("acme")
    owner = DockerCli(tmp_path / "docker")
    assert owner.login(registry, acme).returncode == 0
    image = f"{registry}/acme/far-{uuid.uuid4().hex[:8]}:1"
    push(owner, image)
    far = docker.APIClient(base_url=second_engine.ENDPOINT)
    try:
        assert not far.images(name=image)
        # The first host is drained: the container can only run on the second.
        drained = cloud.api.gql("""mutation($id: ID!) { drainHost(input: {id: $id}) {
            __typename } }""", {"id": hosts(cloud)[LOCAL_ENGINE]["id"]},
                                token=cloud.api.operator_token)
        assert drained["drainHost"]["__typename"] == "HostPayload"
        made = cloud.api.gql(CREATE, {"name": "far", "image": image}, token=acme)
        container = made["createContainer"]["container"]["id"]
        settle(cloud)
        assert container in running_on(cloud, second_engine.ENDPOINT)
        assert far.images(name=image), "the second engine pulled the image"
    finally:
        if far.images(name=image):  # (the name only: busybox shares its layers)
            far.remove_image(image)
        far.close()


GC = """mutation { collectImageGarbage { __typename ... on GarbageCollected { freedBytes }
  ... on Forbidden { message } ... on Conflict { message } } }"""


def test_garbage_collection_frees_a_deleted_images_space_and_keeps_the_rest(
    registry_cloud: Cloud, tmp_path: Path
) -> None:
    cloud, registry = registry_cloud, registry_of(registry_cloud)
    _, acme = cloud.tenant("acme")
    owner = DockerCli(tmp_path / "docker")
    assert owner.login(registry, acme).returncode == 0
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        "FROM busybox:latest\nRUN head -c 3000000 /dev/urandom > /blob\n")
    local = f"wharf-test/blob-{uuid.uuid4().hex[:8]}"
    owner.ok("build", "-q", "-t", local, str(context))
    try:
        push(owner, f"{registry}/acme/blob:1", source=local)
        push(owner, f"{registry}/acme/kept:1")
    finally:
        owner.run("rmi", local)
    blob = wait_for("the push to be recorded",
                    lambda: repositories(cloud, acme).get("acme/blob", {}).get("tags"))
    assert blob[0]["size"] > 3_000_000
    assert cloud.api.gql(GC, token=acme)["collectImageGarbage"]["__typename"] == "Forbidden"

    app = repositories(cloud, acme)["acme/blob"]
    deleted = cloud.api.gql(DELETE_IMAGE, {"repository": app["id"], "tag": "1",
                                           "confirm": True}, token=acme)["deleteImage"]
    assert deleted["deleted"] is True
    collected = cloud.api.gql(GC, token=cloud.api.operator_token)["collectImageGarbage"]
    assert collected["__typename"] == "GarbageCollected"
    assert collected["freedBytes"] > 3_000_000
    # What is still tagged is still there, and the registry takes pushes again.
    owner.ok("pull", f"{registry}/acme/kept:1")
    owner.run("rmi", f"{registry}/acme/kept:1")
    push(owner, f"{registry}/acme/kept:2")
