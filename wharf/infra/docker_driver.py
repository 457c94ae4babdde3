"""A Docker Engine as the scheduler's `Engine`: hardened creates, lookups by label.

Uses the SDK's low-level APIClient: a create is one call and a start another (the
high-level `containers.run` inspects in between). The connection and its four call slots
are in docker_client.py, tenant networks in docker_networks.py, volumes in
docker_volumes.py; containers, their logs and stats are here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Generator, Iterator
from typing import Any

import docker
import docker.errors
from docker.types import LogConfig

from wharf.domain.container_spec import HealthCheck
from wharf.domain.registry import parse_image
from wharf.infra.docker_networks import DockerNetworks
from wharf.infra.docker_volumes import DockerVolumes, volume_name
from wharf.infra.hardening import CAPABILITIES, LOG_ROTATION, PIDS_LIMIT
from wharf.schedulers.ports import (
    LABEL_CONTAINER,
    LABEL_GENERATION,
    LABEL_INSTALLATION,
    LABEL_MANAGED,
    LABEL_NETWORK,
    LABEL_TENANT,
    LABEL_VOLUME,
    Capacity,
    EngineError,
    Observed,
    RunSpec,
    docker_name,
)

log = logging.getLogger(__name__)

LOG_CHUNK = 256 * 1024  # bytes read at once from a log stream


class DockerEngine(DockerNetworks, DockerVolumes):
    """The `Engine` port on Docker: containers here, networks and volumes in their own
    modules, the connection in docker_client.py."""

    def capacity(self) -> Capacity:
        with self._call():
            info = self.api.info()
        return Capacity(cpu_millis=int(info["NCPU"]) * 1000,
                        memory_mib=int(info["MemTotal"]) // (1024 * 1024),
                        engine_version=str(info.get("ServerVersion") or "")[:40])

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

    def pull(self, image: str, registry_token: str,
             progress: Callable[[int, int], None]) -> None:
        """Pulls `image` from Wharf's registry with a token that lets it pull that one
        repository (Docker sends it as is), calling `progress(bytes done, bytes in all)` as
        layers download. Refused (no such image, not allowed): a non-transient
        EngineError, the container's failure."""
        ref = parse_image(self.aliased(image))
        repository = f"{ref.registry}/{ref.repository}"
        layers: dict[str, tuple[int, int]] = {}
        failed = ""
        try:
            # No slot: a pull waits on the network, not on the engine's CPU.
            with self._call("pull", slot=False):
                stream = self.api.pull(repository, tag=ref.digest or ref.tag or "latest",
                                       stream=True, decode=True,
                                       auth_config={"registrytoken": registry_token})
                for line in stream:
                    if "error" in line:
                        failed = str(line.get("error"))[:500]
                        break
                    detail = line.get("progressDetail") or {}
                    if line.get("id") and detail.get("total"):
                        layers[line["id"]] = (int(detail.get("current") or 0),
                                              int(detail["total"]))
                        progress(sum(d for d, _ in layers.values()),
                                 sum(t for _, t in layers.values()))
        except EngineError as error:
            text = str(error).removeprefix(f"{self.endpoint}: ")
            raise EngineError(f"{self.endpoint}: pulling {image}: {text}",
                              transient=error.transient and not _refused(text)) from error
        if failed:
            raise EngineError(f"{self.endpoint}: pulling {image}: {failed}",
                              transient=not _refused(failed))

    def create(self, spec: RunSpec) -> str:
        """Creates the container, or adopts the one a crashed attempt already made;
        returns the engine's id for it."""
        exposed, bindings = [], {}
        for port in spec.ports:
            exposed.append((port.container_port, port.protocol))
            if port.publish:
                bindings[port.key] = (self.publish_address, port.host_port or None)
        # (a list, not a map by volume: one volume may be mounted at two paths)
        binds = [f"{volume_name(m.volume_id)}:{m.path}:{'ro' if m.read_only else 'rw'}"
                 for m in spec.volumes]
        host_config = self.api.create_host_config(
            port_bindings=bindings, binds=binds, nano_cpus=spec.cpu_millis * 1_000_000,
            mem_limit=f"{spec.memory_mib}m", memswap_limit=f"{spec.memory_mib}m",
            pids_limit=PIDS_LIMIT, cap_drop=["ALL"], cap_add=CAPABILITIES,
            security_opt=["no-new-privileges"], init=True, privileged=False,
            restart_policy={"Name": "no"},  # Wharf owns restarts: each one is an event
            log_config=LogConfig(type="json-file", config=LOG_ROTATION),
        )
        key = spec.network or spec.tenant_id
        labels = {LABEL_MANAGED: "1", LABEL_INSTALLATION: self.installation,
                  LABEL_TENANT: spec.tenant_id, LABEL_CONTAINER: spec.container_id,
                  LABEL_GENERATION: str(spec.generation), LABEL_NETWORK: key}
        network = self._ensure_network(key)
        host_config["NetworkMode"] = network
        joined = self.api.create_networking_config({network: self.api.create_endpoint_config(
            aliases=[spec.alias] if spec.alias else None)})
        try:
            with self._call("create"):
                made = self.api.create_container(
                    self.aliased(spec.image), command=list(spec.command) or None,
                    entrypoint=list(spec.entrypoint) or None, environment=spec.env,
                    ports=exposed, labels=labels, name=spec.name, host_config=host_config,
                    hostname=spec.container_id[:12], networking_config=joined,
                    healthcheck=_healthcheck(spec.health_check),
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
                answer: dict[str, Any] = self.api.stats(
                    self.refs.get(container_id) or docker_name(container_id), stream=False)
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
            self.api._url("/containers/{0}/logs", self.refs.get(container_id)
                          or docker_name(container_id)), stream=True,
            params={"stdout": 1, "stderr": 1, **params})
        try:
            self.api._raise_for_status(response)
        except docker.errors.DockerException as error:
            response.close()
            raise EngineError(f"logs of {container_id}: {error}") from error
        return response

    def events(self, since: int | None = None) -> Iterator[dict[str, Any]]:
        """The engine's container events for Wharf's objects, until the engine stops."""
        self._reachable()
        stream = self.api.events(since=since, decode=True,
                                 filters={"type": "container", "label": self._ours()})
        try:
            yield from stream
        finally:
            # (Over TLS, the socket of a stream the engine or Wharf already closed
            # refuses the SDK's shutdown: there is nothing left to close.)
            with contextlib.suppress(OSError):
                stream.close()


def _healthcheck(check: HealthCheck | None) -> dict[str, Any] | None:
    """Docker's form of a health check (its durations in nanoseconds)."""
    if check is None:
        return None
    second = 1_000_000_000
    return {"test": ["CMD", *check.test], "interval": check.interval_s * second,
            "timeout": check.timeout_s * second, "retries": check.retries,
            "start_period": check.start_period_s * second}


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
                    state=row["State"], ports=ports, health=_health(row.get("Status") or ""))


def _health(status: str) -> str:
    """The health verdict in a listing's status text: "Up 3 minutes (healthy)",
    "(unhealthy)", "(health: starting)"; "" without a check."""
    for marker, verdict in (("(healthy)", "healthy"), ("(unhealthy)", "unhealthy"),
                            ("(health: starting)", "starting")):
        if status.endswith(marker):
            return verdict
    return ""


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
        health=str((state.get("Health") or {}).get("Status") or ""),
    )


def _refused(text: str) -> bool:
    """Whether a pull's error is the registry's answer (it will not change by retrying),
    not a failure to reach it."""
    lowered = text.lower()
    return any(word in lowered for word in (
        "not found", "manifest unknown", "denied", "unauthorized", "invalid reference"))
