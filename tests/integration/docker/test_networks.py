"""Each tenant's containers share a network of their own: they reach each other by name,
no other tenant's container reaches them, and a network no container needs is removed."""

from __future__ import annotations

import docker

from tests.integration.docker.conftest import Cloud, wait_for
from tests.integration.docker.test_lifecycle import BY_ID, WEB, by_id, create
from wharf.infra.docker_networks import network_name
from wharf.infra.scheduling import StatsEngines
from wharf.schedulers.networks import prune_networks
from wharf.schedulers.ports import LABEL_INSTALLATION, LABEL_MANAGED, LABEL_TENANT, docker_name


def run_in(client: docker.APIClient, container_id: str, *command: str) -> tuple[int, str]:
    """Runs a command inside the container (`docker exec`): its exit code and output."""
    made = client.exec_create(docker_name(container_id), list(command))
    output = client.exec_start(made["Id"]).decode(errors="replace")
    return int(client.exec_inspect(made["Id"])["ExitCode"]), output


def networks_of(client: docker.APIClient, container_id: str) -> dict[str, str]:
    """The container's networks and its address on each."""
    settings = client.inspect_container(docker_name(container_id))["NetworkSettings"]
    return {name: net["IPAddress"] for name, net in settings["Networks"].items()}


def test_tenants_reach_their_own_containers_by_name_and_never_another_s(cloud: Cloud) -> None:
    acme, acme_token = cloud.tenant("acme")
    globex, globex_token = cloud.tenant("globex")
    a_net, g_net = network_name(acme, cloud.installation), network_name(globex, cloud.installation)
    web = create(cloud, acme_token, name="web-x9q", command=WEB,
                 ports=[{"containerPort": 80, "publish": False}])
    client = create(cloud, acme_token, name="client", command=["sleep", "600"])
    spy = create(cloud, globex_token, name="spy", command=["sleep", "600"])
    for token, cid in ((acme_token, web), (acme_token, client), (globex_token, spy)):
        cloud.wait_observed(token, cid, "running")

    [(net, address)] = networks_of(cloud.docker, web).items()
    assert net == a_net  # not Docker's default bridge
    assert list(networks_of(cloud.docker, spy)) == [g_net]

    def fetch(container_id: str, host: str) -> tuple[int, str]:
        """GET / of the host, from inside the container (busybox's static wget crashes
        here; its nc does not)."""
        return run_in(cloud.docker, container_id, "sh", "-c",
                      f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {host} 80")

    def served() -> str | None:
        code, output = fetch(client, address)
        return output if code == 0 and " 200 " in output else None  # (httpd may be starting)

    # (A name no DNS outside Docker's answers.)
    code, answer = run_in(cloud.docker, client, "nslookup", "web-x9q")
    assert code == 0 and address in answer
    page = wait_for("acme's client to reach web", served)
    assert page.rstrip().endswith(web[:12])  # web's page is its hostname
    # Another tenant's container reaches it neither by name nor by address.
    code, answer = run_in(cloud.docker, spy, "nslookup", "web-x9q")
    assert code != 0 and address not in answer
    assert run_in(cloud.docker, spy, "which", "nc")[0] == 0  # nc itself is there
    code, answer = fetch(spy, address)
    assert code != 0 and " 200 " not in answer

    # A tenant whose only container is stopped keeps its network (Docker would let it
    # go: a stopped container holds no endpoint on it).
    assert by_id(cloud, globex_token, "stopContainer", spy)["__typename"] == "ContainerPayload"
    cloud.wait_observed(globex_token, spy, "exited")

    # Once acme has no container left, its network goes in the pass that removed the
    # last one; globex's stays.
    for cid in (web, client):
        deleted = cloud.api.gql(BY_ID % "deleteContainer", {"id": cid}, token=acme_token)
        assert deleted["deleteContainer"]["__typename"] == "ContainerPayload"
    for cid in (web, client):
        cloud.wait_observed(acme_token, cid, "removed")
    wait_for("acme's network to go", lambda: not cloud.docker.networks(names=[a_net]) or None)
    assert cloud.docker.networks(names=[g_net]) != []

    # What a crash between the two would leave behind, the network timer removes.
    cloud.docker.create_network(a_net, driver="bridge", labels={
        LABEL_MANAGED: "1", LABEL_INSTALLATION: cloud.installation, LABEL_TENANT: acme})
    with StatsEngines(cloud.api.wiring.app.installation) as engines:
        assert prune_networks(cloud.api.wiring.view, engines) == [a_net]
        assert prune_networks(cloud.api.wiring.view, engines) == []
    names = {n["Name"] for n in cloud.docker.networks()}
    assert a_net not in names and g_net in names

    # A new container of acme's makes the network again.
    again = create(cloud, acme_token, name="again", command=["sleep", "600"])
    cloud.wait_observed(acme_token, again, "running")
    assert list(networks_of(cloud.docker, again)) == [a_net]


def test_a_container_whose_network_was_removed_behind_wharf_s_back_runs_again(
    cloud: Cloud,
) -> None:
    acme, token = cloud.tenant("acme")
    cid = create(cloud, token, name="app", command=["sleep", "600"])
    cloud.wait_observed(token, cid, "running")
    assert by_id(cloud, token, "stopContainer", cid)["__typename"] == "ContainerPayload"
    cloud.wait_observed(token, cid, "exited")
    [gone] = cloud.docker.networks(names=[network_name(acme, cloud.installation)])
    cloud.docker.remove_network(gone["Id"])  # allowed: a stopped container holds no endpoint

    assert by_id(cloud, token, "startContainer", cid)["__typename"] == "ContainerPayload"
    cloud.wait_observed(token, cid, "running")  # created again, on a network made again
    [made] = cloud.docker.networks(names=[network_name(acme, cloud.installation)])
    assert made["Id"] != gone["Id"]
    assert cloud.docker.inspect_container(docker_name(cid))["HostConfig"]["NetworkMode"] == \
        made["Id"]
