"""Volumes on a real engine: data outlives containers, in-use volumes stay, backups
restore into new volumes, and deleted volumes leave the engine."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.integration.docker.conftest import Cloud, wait_for
from tests.integration.docker.test_lifecycle import by_id, create
from wharf.infra.docker_volumes import volume_name
from wharf.schedulers.ports import docker_name

VOLUME = """query($id: ID!) { volume(id: $id) { id state hostId
  backups { id state sizeBytes sha256 } } }"""


def mutate(cloud: Cloud, token: str, query: str, **variables: Any) -> dict[str, Any]:
    data = cloud.api.gql(query, variables, token=token)
    answer: dict[str, Any] = next(iter(data.values()))
    return answer


def read_file(cloud: Cloud, container_id: str, path: str) -> str:
    """`cat path` inside the running container, through the engine's exec API."""
    run = cloud.docker.exec_create(docker_name(container_id), ["cat", path])
    return str(cloud.docker.exec_start(run["Id"]).decode())


def volume(cloud: Cloud, token: str, volume_id: str) -> dict[str, Any]:
    found: dict[str, Any] = cloud.api.gql(VOLUME, {"id": volume_id}, token=token)["volume"]
    return found


def test_data_outlives_its_container_and_a_backup_restores_it(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    made = mutate(cloud, token, """mutation { createVolume(input: {name: "data", sizeGib: 1})
        { __typename ... on VolumePayload { volume { id } } } }""")
    data_id = made["volume"]["id"]
    writer = create(cloud, token, name="writer", volumes=[{"volume": "data", "path": "/data"}],
                    command=["sh", "-c", "echo hello-$(hostname) > /data/f; sleep 600"])
    cloud.wait_observed(token, writer, "running")
    expected = f"hello-{writer[:12]}\n"
    wait_for("the file", lambda: read_file(cloud, writer, "/data/f") == expected)
    assert volume(cloud, token, data_id)["hostId"] is not None

    # In use: refused, and nothing changes.
    refused = mutate(cloud, token, """mutation($id: ID!) { deleteVolume(input: {id: $id}) {
        __typename ... on Conflict { message } } }""", id=data_id)
    assert refused == {"__typename": "Conflict", "message": "volume data is in use by writer"}

    # Delete the container, make a new one on the same volume: the file is there.
    by_id(cloud, token, "deleteContainer", writer)
    cloud.wait_observed(token, writer, "removed")
    reader = create(cloud, token, name="reader", command=["sleep", "600"],
                    volumes=[{"volume": "data", "path": "/srv", "readOnly": True}])
    cloud.wait_observed(token, reader, "running")
    assert read_file(cloud, reader, "/srv/f") == expected

    # Back it up, restore the backup into a new volume, mount that: the same file.
    asked = mutate(cloud, token, """mutation($id: ID!) { backupVolume(input: {id: $id}) {
        __typename ... on BackupRequested { backupId } } }""", id=data_id)
    assert asked["__typename"] == "BackupRequested"
    backup = wait_for("the backup", lambda: next(
        (b for b in volume(cloud, token, data_id)["backups"] if b["state"] == "done"), None))
    assert backup["id"] == asked["backupId"] and backup["sizeBytes"] > 0
    archive = cloud.scheduler.archive(data_id, backup["id"])
    assert archive.is_file() and str(archive).startswith(str(cloud.api.wiring.settings.home))
    restored = mutate(cloud, token, """mutation($v: ID!, $b: ID!) { restoreVolume(input:
        {volume: $v, backup: $b, name: "copy"}) { __typename
        ... on VolumePayload { volume { id state } } } }""", v=data_id, b=backup["id"])
    copy_id = restored["volume"]["id"]
    assert restored["volume"]["state"] == "restoring"
    wait_for("the restore", lambda: volume(cloud, token, copy_id)["state"] == "active")
    twin = create(cloud, token, name="twin", command=["sleep", "600"],
                  volumes=[{"volume": "copy", "path": "/data"}])
    cloud.wait_observed(token, twin, "running")
    assert read_file(cloud, twin, "/data/f") == expected

    history = [type(e).__name__ for e in
               cloud.api.wiring.app.repository.event_store.get(UUID(copy_id))]
    assert history == ["Created", "RestoreRequested", "Restored"]

    # Deleted volumes leave the engine once nothing uses them.
    for container_id in (reader, twin):
        by_id(cloud, token, "deleteContainer", container_id)
        cloud.wait_observed(token, container_id, "removed")
    for volume_id in (data_id, copy_id):
        gone = mutate(cloud, token, """mutation($id: ID!) { deleteVolume(input: {id: $id}) {
            __typename } }""", id=volume_id)
        assert gone["__typename"] == "VolumePayload"

    def engine_volumes() -> set[str]:
        listed = cloud.docker.volumes(filters={"label": f"wharf.installation="
                                                        f"{cloud.installation}"})
        return {v["Name"] for v in listed.get("Volumes") or []}

    wait_for("the Docker volumes to go", lambda: not engine_volumes() & {
        volume_name(data_id), volume_name(copy_id)} or None)


def test_one_volume_mounted_at_two_paths_is_both(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    mutate(cloud, token, """mutation { createVolume(input: {name: "data", sizeGib: 1})
        { __typename } }""")
    both = create(cloud, token, name="both", command=["sh", "-c", "echo hi > /a/f; sleep 600"],
                  volumes=[{"volume": "data", "path": "/a"},
                           {"volume": "data", "path": "/b", "readOnly": True}])
    cloud.wait_observed(token, both, "running")
    wait_for("the file written at /a read at /b", lambda: read_file(cloud, both, "/b/f")
             == "hi\n")
    mounts = {m["Destination"]: m["RW"] for m in
              cloud.docker.inspect_container(docker_name(both))["Mounts"]}
    assert mounts == {"/a": True, "/b": False}
