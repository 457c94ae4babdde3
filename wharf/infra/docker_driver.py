"""A Docker Engine as the scheduler's `Engine`: hardened creates, lookups by label.

Uses the SDK's low-level APIClient: a create is one call and a start another (the
high-level `containers.run` inspects in between). About four concurrent calls saturate an
engine on two cores (ENVIRONMENT.md), so each engine admits four at a time; more queue.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig

from wharf.schedulers.ports import (
    LABEL_CONTAINER,
    LABEL_GENERATION,
    LABEL_INSTALLATION,
    LABEL_MANAGED,
    LABEL_TENANT,
    LABEL_VOLUME,
    Capacity,
    EngineError,
    Observed,
    RunSpec,
    docker_name,
)

log = logging.getLogger(__name__)

API_VERSION = "1.41"  # Docker 20.10, the oldest engine Wharf supports
CONCURRENT_CALLS = 4
HELPER_IMAGE = "busybox"  # for backup and restore helpers, which are never started
# Everything else is dropped: enough for common images to switch users and bind low ports.
CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID", "NET_BIND_SERVICE",
                "KILL"]
PIDS_LIMIT = 512
LOG_ROTATION = {"max-size": "10m", "max-file": "3"}
LOG_CHUNK = 256 * 1024  # bytes read at once from a log stream
T = TypeVar("T")


def network_name(tenant_id: str, installation: str) -> str:
    """A tenant's network on an engine (tenant ids repeat across installations that
    share an engine, as tests and a developer's `wharf up` do)."""
    return f"wharf-net-{tenant_id}-{installation[:8]}"


def volume_name(volume_id: str) -> str:
    return f"wharf-vol-{volume_id}"


_KNOWN_NETWORKS: dict[tuple[str, str], tuple[dict[str, str], threading.Lock]] = {}
_KNOWN_GUARD = threading.Lock()


class DockerEngine:
    def __init__(self, endpoint: str, installation: str = "", timeout: float = 60) -> None:
        self.endpoint = endpoint
        self.installation = installation  # only this Wharf's objects are listed
        # A fixed API version: the SDK would otherwise ask the engine at construction
        # (a call, and a leaked socket when nothing answers). Newer engines serve it too.
        self.api = docker.APIClient(base_url=endpoint, timeout=timeout, version=API_VERSION)
        self._slots = threading.BoundedSemaphore(CONCURRENT_CALLS)
        self.calls: dict[str, int] = {}  # mutating calls by kind, for tests and metrics
        # Tenant id -> its network's id on this engine, shared by every client of the
        # engine in this process: the prune job's removals are seen by the scheduler's.
        with _KNOWN_GUARD:
            self._networks, self._network_guard = _KNOWN_NETWORKS.setdefault(
                (endpoint, installation), ({}, threading.Lock()))

    def _reachable(self) -> None:
        """A unix endpoint where nothing listens (no socket file, or the stale file of a
        killed engine) fails here, by a probe that closes its socket: the SDK leaves the
        socket of a failed unix connect open, one leaked socket per call to a lost host."""
        if not self.endpoint.startswith("unix://"):
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            try:
                probe.connect(self.endpoint[len("unix://"):])
            except BlockingIOError:
                return  # a full accept queue: a busy engine, not a silent one
            except OSError as error:
                raise EngineError(f"{self.endpoint} does not answer: {error}") from None

    @contextmanager
    def _call(self, kind: str | None = None, slot: bool = True) -> Iterator[None]:
        self._reachable()
        with self._slots if slot else contextlib.nullcontext():
            if kind is not None:
                self.calls[kind] = self.calls.get(kind, 0) + 1
            try:
                yield
            except docker.errors.APIError as error:
                status = error.status_code or 500
                raise EngineError(f"{self.endpoint}: {error.explanation or error}",
                                  transient=status >= 500) from error
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    OSError) as error:
                raise EngineError(f"{self.endpoint} does not answer: {error}") from error

    def _quiet(self, kind: str, call: Callable[[], T], *ok: int) -> T | None:
        """A call whose listed HTTP statuses mean "already so" (304 started, 404 gone)."""
        try:
            with self._call(kind):
                return call()
        except EngineError as error:
            cause = error.__cause__
            if isinstance(cause, docker.errors.APIError) and cause.status_code in ok:
                return None
            raise

    def capacity(self) -> Capacity:
        with self._call():
            info = self.api.info()
        return Capacity(cpu_millis=int(info["NCPU"]) * 1000,
                        memory_mib=int(info["MemTotal"]) // (1024 * 1024))

    def ping(self) -> bool:
        try:
            with self._call():
                return bool(self.api.ping())
        except EngineError:
            return False

    def containers(self) -> list[Observed]:
        with self._call():
            rows = self.api.containers(all=True, filters={"label": self._ours()})
        return [_from_summary(row) for row in rows if LABEL_CONTAINER in row["Labels"]]

    def inspect(self, container_id: str) -> Observed | None:
        try:
            with self._call():
                return _from_inspect(self.api.inspect_container(docker_name(container_id)))
        except EngineError as error:
            cause = error.__cause__
            if isinstance(cause, docker.errors.NotFound):
                return None
            raise

    def create(self, spec: RunSpec) -> str:
        """Creates the container, or adopts the one a crashed attempt already made;
        returns the engine's id for it."""
        exposed, bindings = [], {}
        for port in spec.ports:
            key = f"{port['container_port']}/{port['protocol']}"
            exposed.append((port["container_port"], port["protocol"]))
            if port["publish"]:
                bindings[key] = ("127.0.0.1", port["host_port"] or None)
        binds = {volume_name(m["volume_id"]): {"bind": m["path"],
                                               "mode": "ro" if m["read_only"] else "rw"}
                 for m in spec.volumes}
        host_config = self.api.create_host_config(
            port_bindings=bindings, binds=binds, nano_cpus=spec.cpu_millis * 1_000_000,
            mem_limit=f"{spec.memory_mib}m", memswap_limit=f"{spec.memory_mib}m",
            pids_limit=PIDS_LIMIT, cap_drop=["ALL"], cap_add=CAPABILITIES,
            security_opt=["no-new-privileges"], init=True, privileged=False,
            restart_policy={"Name": "no"},  # Wharf owns restarts: each one is an event
            log_config=LogConfig(type="json-file", config=LOG_ROTATION),
        )
        labels = {LABEL_MANAGED: "1", LABEL_INSTALLATION: self.installation,
                  LABEL_TENANT: spec.tenant_id, LABEL_CONTAINER: spec.container_id,
                  LABEL_GENERATION: str(spec.generation)}
        network = self._ensure_network(spec.tenant_id)
        host_config["NetworkMode"] = network
        joined = self.api.create_networking_config({network: self.api.create_endpoint_config(
            aliases=[spec.alias] if spec.alias else None)})
        try:
            with self._call("create"):
                made = self.api.create_container(
                    spec.image, command=spec.command or None,
                    entrypoint=spec.entrypoint or None, environment=spec.env,
                    ports=exposed, labels=labels, name=spec.name, host_config=host_config,
                    hostname=spec.container_id[:12], networking_config=joined,
                )
            return str(made["Id"])
        except EngineError as error:
            if self._network_gone(error):  # (engines that check at create; 20.10 does not)
                raise EngineError(f"{spec.name}: its tenant network is gone; made again on "
                                  "the next attempt") from error
            cause = error.__cause__
            if not (isinstance(cause, docker.errors.APIError) and cause.status_code == 409):
                raise
        log.info("adopting existing Docker container %s", spec.name)
        observed = self.inspect(spec.container_id)
        if observed is None:
            raise EngineError(f"{spec.name} vanished right after its create")
        return observed.docker_id

    def start(self, container_id: str) -> None:
        try:
            self._quiet("start", lambda: self.api.start(docker_name(container_id)), 304)
        except EngineError as error:
            if not self._network_gone(error):
                raise
            # Its tenant's network went after the create: the next pass creates the
            # container again, and its network with it.
            self._quiet("remove", lambda: self.api.remove_container(
                docker_name(container_id), force=True), 404, 409)
            raise EngineError(f"{container_id}: its network is gone; created again "
                              "on the next pass") from error

    def stop(self, container_id: str, timeout: int = 10) -> None:
        self._quiet("stop", lambda: self.api.stop(docker_name(container_id), timeout=timeout),
                    304, 404)

    def unpause(self, container_id: str) -> None:
        # 409: not paused (any more).
        self._quiet("unpause", lambda: self.api.unpause(docker_name(container_id)), 404, 409)

    def remove(self, container_id: str) -> None:
        # 409: a removal already in progress.
        self._quiet("remove", lambda: self.api.remove_container(docker_name(container_id),
                                                                force=True), 404, 409)

    def remove_by_docker_id(self, docker_id: str) -> None:
        """Removes a container by the engine's own id (strangers and stale copies)."""
        self._quiet("remove", lambda: self.api.remove_container(docker_id, force=True),
                    404, 409)

    def stats(self, container_id: str) -> dict[str, Any] | None:
        """One `docker stats` answer (the engine takes about a second: it samples twice),
        or None when the container is gone."""
        try:
            # No slot: the engine spends the second sampling, not working.
            with self._call(slot=False):
                answer: dict[str, Any] = self.api.stats(docker_name(container_id),
                                                        stream=False)
                return answer
        except EngineError as error:
            if isinstance(error.__cause__, docker.errors.NotFound):
                return None
            raise

    def disk_usage(self) -> tuple[dict[str, int], dict[str, int]]:
        """Bytes in each of Wharf's containers' writable layers and volumes, by Wharf id
        (one `docker system df`, which walks the files: slow on big hosts)."""
        with self._call():
            answer = self.api.df()
        containers = {c["Labels"][LABEL_CONTAINER]: int(c.get("SizeRw") or 0)
                      for c in answer.get("Containers") or []
                      if (c.get("Labels") or {}).get(LABEL_INSTALLATION) == self.installation
                      and LABEL_CONTAINER in c["Labels"]}
        volumes = {v["Labels"][LABEL_VOLUME]: max(0, int((v.get("UsageData") or {})
                                                         .get("Size") or 0))
                   for v in answer.get("Volumes") or []
                   if (v.get("Labels") or {}).get(LABEL_INSTALLATION) == self.installation
                   and LABEL_VOLUME in v["Labels"]}
        return containers, volumes

    def tail_logs(self, container_id: str, count: int | None) -> Generator[str, None, None]:
        """The last `count` lines (None: all) the engine holds of the container's output,
        oldest first, each "<time> <text>", as they stream in (a consistent view: see
        schedulers/logs.py); closing the generator ends the read."""
        # The SDK's stream reads each frame (a line) with two small socket reads: half
        # the speed of `docker logs`. Read big chunks and take the frames apart here.
        response = self._log_stream(container_id, timestamps=1, follow=0,
                                    tail="all" if count is None else count)
        try:
            buffer, pending = b"", b""
            while chunk := response.raw.read(LOG_CHUNK):
                buffer += chunk
                payloads, at = [], 0
                while len(buffer) - at >= 8:  # header: stream, 0, 0, 0, size (big endian)
                    size = int.from_bytes(buffer[at + 4:at + 8], "big")
                    if len(buffer) - at - 8 < size:
                        break
                    payloads.append(buffer[at + 8:at + 8 + size])
                    at += 8 + size
                buffer = buffer[at:]
                *complete, pending = (pending + b"".join(payloads)).split(b"\n")
                for line in complete:
                    yield line.decode("utf-8", errors="replace")
            if pending:
                yield pending.decode("utf-8", errors="replace")
        except docker.errors.DockerException as error:
            raise EngineError(f"logs of {container_id}: {error}") from error
        finally:
            response.close()

    def watch_logs(self, container_id: str, from_start: bool = False
                   ) -> Generator[None, None, None]:
        """Yields whenever the container prints (what it prints is read with tail_logs),
        and at once if `from_start` and it printed anything already; ends when it stops."""
        response = self._log_stream(container_id, follow=1, timestamps=0,
                                    tail="all" if from_start else 0)
        try:
            while response.raw.read1(LOG_CHUNK):  # whatever arrived: a wake
                yield None
        except docker.errors.DockerException as error:
            raise EngineError(f"logs of {container_id}: {error}") from error
        finally:
            response.close()  # (the SDK's own stream left its socket for the collector)

    def _log_stream(self, container_id: str, **params: Any) -> Any:
        """A streamed GET of the container's logs, its body read raw (the caller closes
        it, which closes its socket too)."""
        self._reachable()
        response = self.api._get(
            self.api._url("/containers/{0}/logs", docker_name(container_id)), stream=True,
            params={"stdout": 1, "stderr": 1, **params})
        try:
            self.api._raise_for_status(response)
        except docker.errors.DockerException as error:
            response.close()
            raise EngineError(f"logs of {container_id}: {error}") from error
        return response

    # -- tenant networks --------------------------------------------------------------

    def _ensure_network(self, tenant_id: str) -> str:
        """Each tenant's containers share a bridge network of their own on each host:
        they reach each other by name, and no other tenant's container reaches them
        (Docker isolates user-defined bridges from each other). Returns its id."""
        with self._network_guard:
            known = self._networks.get(tenant_id)
            if known is not None:
                return known
            name = network_name(tenant_id, self.installation)
            with self._call("network"):
                found = [n for n in self.api.networks(names=[name]) if n["Name"] == name]
                if found:  # the oldest, should an older Wharf have made two
                    network_id = str(min(found, key=lambda n: n["Created"])["Id"])
                else:
                    try:
                        network_id = str(self.api.create_network(
                            name, driver="bridge", labels={
                                LABEL_MANAGED: "1", LABEL_INSTALLATION: self.installation,
                                LABEL_TENANT: tenant_id})["Id"])
                    except docker.errors.APIError as error:
                        if "address pool" not in str(error.explanation or ""):
                            raise
                        # Shown on the container: retrying will not help.
                        raise EngineError(
                            f"{self.endpoint} has no address range left for another tenant "
                            "network; give its daemon larger default-address-pools",
                            transient=False) from error
            self._networks[tenant_id] = network_id
            return network_id

    def _network_gone(self, error: EngineError) -> bool:
        """Whether the engine refused a call because a tenant network it names no longer
        exists (pruned, or removed by hand); if so, the known networks are forgotten, so
        that the next attempt makes it again."""
        cause = error.__cause__
        if not (isinstance(cause, docker.errors.NotFound) and
                "network" in str(cause.explanation or "")):
            return False
        with self._network_guard:
            self._networks.clear()
        return True

    def prune_networks(self, keep: set[str]) -> list[str]:
        """Removes this Wharf's tenant networks whose tenant is not in `keep` (tenants
        with containers in the read side) and has no container on this engine; returns
        the names removed. (A create racing a removal makes its network again.)"""
        with self._call():
            networks = self.api.networks(filters={"label": self._ours()})
            used = {row["Labels"].get(LABEL_TENANT) for row in self.api.containers(
                all=True, filters={"label": self._ours()})}
        removed = []
        for network in networks:
            tenant = network["Labels"].get(LABEL_TENANT)
            if tenant in keep or tenant in used:
                continue
            with self._network_guard:
                self._networks.pop(tenant, None)
            try:
                with self._call("remove-network"):
                    self.api.remove_network(network["Id"])
                removed.append(network["Name"])
            except EngineError as error:  # in use after all (a create raced us), or gone
                log.debug("network %s stays: %s", network["Name"], error)
        return removed

    # -- volumes --------------------------------------------------------------------

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

    def events(self, since: int | None = None) -> Iterator[dict[str, Any]]:
        """The engine's container events for Wharf's objects, until the engine stops."""
        self._reachable()
        stream = self.api.events(since=since, decode=True,
                                 filters={"type": "container", "label": self._ours()})
        try:
            yield from stream
        finally:
            stream.close()

    def _ours(self) -> list[str]:
        return [f"{LABEL_MANAGED}=1", f"{LABEL_INSTALLATION}={self.installation}"]

    def close(self) -> None:
        self.api.close()


def _ports(raw: Any) -> dict[str, int]:
    ports: dict[str, int] = {}
    for key, bindings in (raw or {}).items():
        for binding in bindings or []:
            if binding.get("HostPort"):
                ports[key] = int(binding["HostPort"])
    return ports


def _from_summary(row: dict[str, Any]) -> Observed:
    ports = {f"{p['PrivatePort']}/{p['Type']}": int(p["PublicPort"])
             for p in row.get("Ports") or [] if p.get("PublicPort")}
    return Observed(container_id=row["Labels"][LABEL_CONTAINER], docker_id=row["Id"],
                    state=row["State"], ports=ports)


def _time(value: str | None) -> str:
    """Docker's time, or "" for its zero time (never started, never finished)."""
    return "" if not value or value.startswith("0001-") else value


def _from_inspect(data: dict[str, Any]) -> Observed:
    state = data["State"]
    return Observed(
        container_id=data["Config"]["Labels"][LABEL_CONTAINER], docker_id=data["Id"],
        state=state["Status"], exit_code=int(state.get("ExitCode") or 0),
        oom_killed=bool(state.get("OOMKilled")), started_at=_time(state.get("StartedAt")),
        finished_at=_time(state.get("FinishedAt")),
        ports=_ports(data.get("NetworkSettings", {}).get("Ports")),
    )
