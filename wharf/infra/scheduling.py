"""Real engines for the parts that need them: registering the configured ones as hosts,
one client per engine for the timer jobs, and an engine's capacity for the API."""

from __future__ import annotations

import contextlib
import logging
import threading

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.domain.errors import Conflict, InvalidInput
from wharf.domain.host import check_endpoint
from wharf.infra.docker_driver import DockerEngine
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


class StatsEngines:
    """One engine client per endpoint, for the timer jobs (metrics, disk); closing it
    closes every client it made (their pooled sockets with them)."""

    def __init__(self, installation: str) -> None:
        self.installation = installation
        self._engines: dict[str, DockerEngine] = {}
        self._guard = threading.Lock()

    def __call__(self, host_id: str, endpoint: str) -> DockerEngine:
        with self._guard:
            if endpoint not in self._engines:
                self._engines[endpoint] = DockerEngine(endpoint, self.installation)
            return self._engines[endpoint]

    def close(self) -> None:
        with self._guard:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close()

    def __enter__(self) -> StatsEngines:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def engine_capacity(endpoint: str) -> Capacity:
    """What a host's engine says it has; InvalidInput when no engine answers there."""
    engine = DockerEngine(check_endpoint(endpoint), timeout=5)
    try:
        return engine.capacity()
    except EngineError as error:
        raise InvalidInput("endpoint", f"no Docker engine answers at {endpoint}: "
                                       f"{error}") from None
    finally:
        engine.close()
