"""A whole Wharf on a real Docker Engine: the API on uvicorn, the projector, and the
scheduler, each in a thread of the test process (as `wharf up` runs them)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import pytest

from tests.integration.graphql.conftest import Api, _serve, new_tenant
from tests.integration.helpers import free_port, wait_for
from wharf.commands.ports import SystemClock
from wharf.infra.api import Limits
from wharf.infra.bootstrap import Wiring
from wharf.infra.builder import Builder
from wharf.infra.scheduling import LOCAL_ENGINE, register_engines
from wharf.schedulers.ports import LABEL_INSTALLATION
from wharf.schedulers.scheduler import Scheduler

T = TypeVar("T")

CONTAINER = """query($id: ID!) { container(id: $id) { id desired observed exitCode oomKilled
  restarts hostId failure diskOverSince ports { containerPort hostIp hostPort }
  unschedulable hostRejections { host reason }
} }"""


def caught_up(wiring: Wiring) -> None:
    """Waits for the API's own projector thread to reach the log's head."""
    wiring.projector.wait(wiring.app.recorder.max_notification_id() or 0, 10)


@dataclass
class Cloud:
    api: Api
    scheduler: Scheduler
    docker: docker.APIClient
    installation: str
    builder: Builder | None = None  # with a registry: the builder, running

    def tenant(self, name: str = "acme", plan: str = "unlimited") -> tuple[str, str]:
        return new_tenant(self.api, name, plan)

    def container(self, token: str, container_id: str) -> dict[str, Any]:
        data = self.api.gql(CONTAINER, {"id": container_id}, token=token)
        found: dict[str, Any] = data["container"]
        return found

    def wait_observed(self, token: str, container_id: str, observed: str,
                      timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            row = self.container(token, container_id)
            ok = row["observed"] == observed and all(row[k] == v for k, v in fields.items())
            return row if ok else None

        return wait_for(f"container {container_id} to be {observed} {fields}", check, timeout)

    def ours(self) -> list[dict[str, Any]]:
        """This Wharf's containers on the engine, as `docker ps -a` lists them."""
        listed: list[dict[str, Any]] = self.docker.containers(
            all=True, filters={"label": f"{LABEL_INSTALLATION}={self.installation}"})
        return listed


@pytest.fixture(scope="session")
def docker_api() -> Iterator[docker.APIClient]:
    client = docker.APIClient(base_url=LOCAL_ENGINE)
    try:
        client.ping()
    except Exception as error:  # the suite's set-up (scripts/services.sh) starts it
        pytest.fail(f"no Docker Engine at {LOCAL_ENGINE} ({error}); run `make services`")
    yield client
    client.close()


def _cloud(tmp_path: Path, docker_api: docker.APIClient, url: str,
           loop: bool, interval: float = 2.0, ingress: bool = False,
           registry: bool = False, **settings: str) -> Iterator[Cloud]:
    # Real engines live in real time: the one clock of this cloud is the system's. Its
    # registry (`registry`) listens on a free port, as `wharf up` runs it.
    env = {"WHARF_REGISTRY": f"127.0.0.1:{free_port()}" if registry else "off",
           "WHARF_BUILD_PRIVATE_GIT": "on",  # (its test repositories are on loopback)
           **settings}
    served = _serve(url, tmp_path, dev=False, limits=Limits(rate=1000.0, burst=1000),
                    clock=SystemClock(), **env)
    api = next(served)
    wiring = api.wiring
    if registry:
        wiring.registry(api.url)
    assert register_engines(wiring.app, ()) == [LOCAL_ENGINE]
    caught_up(wiring)
    scheduler = wiring.scheduler(in_process=True, ingress=ingress)
    thread = None
    if loop:
        thread = threading.Thread(target=scheduler.run_forever, args=(interval,),
                                  daemon=True)
        thread.start()
    cloud = Cloud(api, scheduler, docker_api, wiring.app.installation)
    building = threading.Event()
    if registry:  # its builder, as the leader of `wharf up` runs it
        cloud.builder = wiring.builder()
        threading.Thread(target=cloud.builder.run_forever, args=(building,),
                         daemon=True).start()
    try:
        yield cloud
    finally:
        building.set()
        scheduler.close()
        if thread is not None:
            thread.join(30)
        for row in cloud.ours():
            docker_api.remove_container(row["Id"], force=True)
        volumes = docker_api.volumes(filters={"label": f"{LABEL_INSTALLATION}="
                                                       f"{cloud.installation}"})
        for volume in volumes.get("Volumes") or []:
            docker_api.remove_volume(volume["Name"], force=True)
        remove_networks(docker_api, cloud.installation)
        if registry:  # what its hosts pulled and its builds made
            for image in docker_api.images():
                names = (image.get("RepoTags") or []) + (image.get("RepoDigests") or [])
                for name in names:  # (a deploy pulls by digest: no tag names those)
                    if name.startswith(wiring.settings.registry + "/"):
                        with contextlib.suppress(docker.errors.NotFound):
                            docker_api.remove_image(name)
        next(served, None)


def remove_networks(client: docker.APIClient, installation: str) -> None:
    """The tenant networks this Wharf made (its containers are gone by now)."""
    for network in client.networks(filters={"label": f"{LABEL_INSTALLATION}={installation}"}):
        client.remove_network(network["Id"])


@pytest.fixture
def cloud(tmp_path: Path, docker_api: docker.APIClient) -> Iterator[Cloud]:
    """Wharf with its scheduler looping, on SQLite."""
    yield from _cloud(tmp_path, docker_api, f"sqlite:///{tmp_path / 'home' / 'wharf.db'}",
                      loop=True)


@pytest.fixture
def ingress_cloud(tmp_path: Path, docker_api: docker.APIClient) -> Iterator[Cloud]:
    """`cloud` with Wharf's own Caddy balancing services' HTTP ports."""
    yield from _cloud(tmp_path, docker_api, f"sqlite:///{tmp_path / 'home' / 'wharf.db'}",
                      loop=True, ingress=True)


@pytest.fixture
def registry_cloud(tmp_path: Path, docker_api: docker.APIClient) -> Iterator[Cloud]:
    """`cloud` with Wharf's own image registry (and Wharf its token server)."""
    yield from _cloud(tmp_path, docker_api, f"sqlite:///{tmp_path / 'home' / 'wharf.db'}",
                      loop=True, registry=True)


@pytest.fixture
def event_driven_cloud(tmp_path: Path, docker_api: docker.APIClient) -> Iterator[Cloud]:
    """Wharf whose scheduler passes every 60 s unless woken: what it learns within
    seconds, it learned from the engine's event stream (or its own actions)."""
    yield from _cloud(tmp_path, docker_api, f"sqlite:///{tmp_path / 'home' / 'wharf.db'}",
                      loop=True, interval=60.0)


@pytest.fixture
def still_cloud(tmp_path: Path, docker_api: docker.APIClient) -> Iterator[Cloud]:
    """Wharf whose scheduler passes only when the test says (`cloud.scheduler.run_pass`)."""
    yield from _cloud(tmp_path, docker_api, f"sqlite:///{tmp_path / 'home' / 'wharf.db'}",
                      loop=False)


@pytest.fixture
def two_hosts(still_cloud: Cloud) -> Iterator[Cloud]:
    """`still_cloud` with the second engine registered as a second public host."""
    yield from _with_second_engine(still_cloud)


@pytest.fixture
def registry_two_hosts(tmp_path: Path, docker_api: docker.APIClient) -> Iterator[Cloud]:
    """`two_hosts` with Wharf's own image registry."""
    for cloud in _cloud(tmp_path, docker_api, f"sqlite:///{tmp_path / 'home' / 'wharf.db'}",
                        loop=False, registry=True):
        yield from _with_second_engine(cloud)


def _with_second_engine(still_cloud: Cloud) -> Iterator[Cloud]:
    from tests.integration.docker import second_engine

    endpoint = second_engine.start()
    wiring = still_cloud.api.wiring
    assert register_engines(wiring.app, (LOCAL_ENGINE, endpoint)) == [LOCAL_ENGINE, endpoint]
    caught_up(wiring)
    try:
        yield still_cloud
    finally:
        second_engine.start()  # a test that stopped it leaves it running for the next
        client = docker.APIClient(base_url=endpoint)
        for row in client.containers(
                all=True, filters={"label": f"{LABEL_INSTALLATION}={still_cloud.installation}"}):
            client.remove_container(row["Id"], force=True)
        remove_networks(client, still_cloud.installation)
        client.close()
