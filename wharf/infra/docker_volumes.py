"""Volumes on an engine: named Docker volumes labelled as Wharf's, and their backup
and restore through a helper container that is never started."""

from __future__ import annotations

import hashlib
from pathlib import Path

import docker.errors

from wharf.infra.docker_client import DockerClient
from wharf.schedulers.ports import (
    LABEL_INSTALLATION,
    LABEL_MANAGED,
    LABEL_TENANT,
    LABEL_VOLUME,
    EngineError,
)

HELPER_IMAGE = "busybox"  # for backup and restore helpers, which are never started


def volume_name(volume_id: str) -> str:
    return f"wharf-vol-{volume_id}"


class DockerVolumes(DockerClient):
    def ensure_volume(self, volume_id: str, tenant_id: str) -> None:
        """Creates the named volume, labelled as Wharf's, unless it exists (Docker answers
        an existing name with the volume itself)."""
        with self._call("create-volume"):
            self.api.create_volume(volume_name(volume_id), labels={
                LABEL_MANAGED: "1", LABEL_INSTALLATION: self.installation,
                LABEL_TENANT: tenant_id, LABEL_VOLUME: volume_id})

    def volumes(self) -> list[str]:
        """The ids of this Wharf's volumes on the engine."""
        with self._call():
            answer = self.api.volumes(filters={"label": self._ours()})
        return [v["Labels"][LABEL_VOLUME] for v in answer.get("Volumes") or []
                if LABEL_VOLUME in (v.get("Labels") or {})]

    def remove_volume(self, volume_id: str) -> bool:
        """Removes the volume; False while a container still uses it."""
        try:
            self._quiet("remove-volume", lambda: self.api.remove_volume(volume_name(volume_id)),
                        404)
        except EngineError as error:
            cause = error.__cause__
            if isinstance(cause, docker.errors.APIError) and cause.status_code == 409:
                return False
            raise
        return True

    def _helper(self, volume_id: str, purpose: str, read_only: bool) -> str:
        """A container that is never started, only there to reach the volume's files."""
        name = f"wharf-{purpose}-{volume_id}"
        self._quiet("remove", lambda: self.api.remove_container(name, force=True), 404)
        host_config = self.api.create_host_config(
            binds={volume_name(volume_id): {"bind": "/data", "mode": "ro" if read_only
                                            else "rw"}},
            network_mode="none", cap_drop=["ALL"], security_opt=["no-new-privileges"])
        with self._call("create"):
            self.api.create_container(HELPER_IMAGE, command=["true"], name=name,
                                      host_config=host_config,
                                      labels={LABEL_MANAGED: "1",
                                              LABEL_INSTALLATION: self.installation})
        return name

    def backup_volume(self, volume_id: str, archive: Path) -> tuple[int, str]:
        """Writes the volume's files to `archive` (a tar); returns its size and sha256."""
        helper = self._helper(volume_id, "backup", read_only=True)
        digest = hashlib.sha256()
        size = 0
        partial = archive.with_suffix(".partial")
        archive.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._call(), partial.open("wb") as out:
                stream, _ = self.api.get_archive(helper, "/data")
                for chunk in stream:
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            partial.replace(archive)  # whole or not at all
        finally:
            self._quiet("remove", lambda: self.api.remove_container(helper, force=True), 404)
        return size, digest.hexdigest()

    def restore_volume(self, volume_id: str, tenant_id: str, archive: Path) -> None:
        """Fills the (new) volume with the files of a backup archive."""
        self.ensure_volume(volume_id, tenant_id)
        helper = self._helper(volume_id, "restore", read_only=False)
        try:
            with self._call("restore"), archive.open("rb") as source:
                # The archive's top directory is `data`, the volume's mount point.
                self.api.put_archive(helper, "/", source.read())
        finally:
            self._quiet("remove", lambda: self.api.remove_container(helper, force=True), 404)
