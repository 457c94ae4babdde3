"""Real engines for the parts that need them: registering the configured ones as hosts,
one client per engine for the timer jobs, and an engine's capacity for the API."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.sealing import Unreadable
from wharf.domain.errors import Conflict, InvalidInput
from wharf.domain.host import address_of, check_endpoint
from wharf.domain.tls import TlsCredentials
from wharf.infra.docker_driver import DockerEngine
from wharf.infra.engine_probe import probe
from wharf.infra.host_tls import client_files
from wharf.schedulers.ports import Capacity, EngineError

log = logging.getLogger(__name__)

LOCAL_ENGINE = "unix:///var/run/docker.sock"


def register_engines(app: Wharf, endpoints: tuple[str, ...]) -> list[str]:
    """Registers each answering engine as a public host, its capacity read from the
    engine. Returns the endpoints registered now or before; skips the silent ones."""
    ready = []
    for endpoint in endpoints or (LOCAL_ENGINE,):
        engine = DockerEngine(endpoint, timeout=5)
        try:
            if not engine.ping():
                log.warning("no Docker engine answers at %s; containers will wait for a "
                            "host", endpoint)
                continue
            capacity = engine.capacity()
        finally:
            engine.close()
        with contextlib.suppress(Conflict):  # registered on an earlier start
            app.handle(m.RegisterHost(
                actor=Actor.system("setup"), endpoint=endpoint, name=endpoint,
                cpu_millis=capacity.cpu_millis, memory_mib=capacity.memory_mib))
        ready.append(endpoint)
    return ready


class Connector:
    """Makes clients for hosts' engines, each with its host's credentials (mutual TLS
    for engines off this machine, as files under WHARF_HOME/tls the SDK reads)."""

    def __init__(self, app: Wharf, home: Path, registry: str = "",
                 registry_remote: str = "", refs: dict[str, str] | None = None) -> None:
        self.app = app
        self.refs = refs  # (shared by every client it makes: see DockerClient.refs)
        self.root = home / "tls"
        # Hosts elsewhere pull images named after the registry on loopback from its twin
        # they reach over TLS.
        self.alias = (f"{registry}/", f"{registry_remote}/") if registry and \
            registry_remote else None

    def tls(self, host_id: str) -> tuple[Path, Path, Path] | None:
        try:
            credentials = self.app.host_credentials(UUID(host_id))
        except Unreadable as error:  # (a host whose owner's data key is gone: silent)
            raise EngineError(str(error), transient=False) from None
        return None if credentials is None else client_files(self.root, credentials)

    def __call__(self, host_id: str, endpoint: str, timeout: float = 60) -> DockerEngine:
        remote = address_of(endpoint) != "127.0.0.1"
        engine = DockerEngine(endpoint, self.app.installation, timeout=timeout,
                              tls=self.tls(host_id), image_alias=self.alias if remote else None)
        if self.refs is not None:
            engine.refs = self.refs
        return engine


class StatsEngines:
    """One engine client per host, for the timer jobs (metrics, disk); closing it
    closes every client it made (their pooled sockets with them)."""

    def __init__(self, installation: str,
                 connect: Callable[[str, str], DockerEngine] | None = None) -> None:
        self.installation = installation
        self.connect = connect or (lambda _, endpoint: DockerEngine(endpoint, installation))
        self._engines: dict[tuple[str, str], DockerEngine] = {}
        self._guard = threading.Lock()

    def __call__(self, host_id: str, endpoint: str) -> DockerEngine:
        with self._guard:
            key = (host_id, endpoint)
            if key not in self._engines:
                self._engines[key] = self.connect(host_id, endpoint)
            return self._engines[key]

    def close(self) -> None:
        with self._guard:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close()

    def __enter__(self) -> StatsEngines:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def engine_capacity(endpoint: str, credentials: TlsCredentials | None = None,
                    home: Path | None = None, detail: bool = True) -> Capacity:
    """What a host's engine says it has, asked with `credentials` (mutual TLS) when
    given; InvalidInput when no engine answers there, or not to them. A TCP engine gets
    a deadline on the whole exchange (`engine_probe.py`). Without `detail` (a tenant
    asking) the error does not say why: that would let a tenant map which ports answer
    on the networks Wharf reaches."""
    check_endpoint(endpoint, secured=credentials is not None)
    if endpoint.startswith("tcp://"):
        return probe(endpoint, credentials, home / "tls" / "probe" if home else None,
                     detail=detail)
    if credentials is not None:
        raise InvalidInput("tls", "an engine on a unix socket takes no TLS credentials")
    engine = DockerEngine(endpoint, timeout=5)
    try:
        return engine.capacity()
    except EngineError as error:
        raise InvalidInput("endpoint", f"no Docker engine answers at {endpoint}: "
                                       f"{error}") from None
    finally:
        engine.close()
