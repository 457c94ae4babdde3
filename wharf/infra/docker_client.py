"""A connection to one Docker Engine, shared by the driver's parts (docker_driver.py for
containers, docker_networks.py, docker_volumes.py): its API client, the four call slots
an engine on two cores can take at once (ENVIRONMENT.md), the mapping of the SDK's errors
to `EngineError`, and the labels that mark this Wharf's objects.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import docker
import docker.errors
import docker.tls
import requests.exceptions

from wharf.domain.host import address_of
from wharf.infra.host_tls import tls_failure
from wharf.schedulers.ports import LABEL_INSTALLATION, LABEL_MANAGED, EngineError

API_VERSION = "1.41"  # Docker 20.10, the oldest engine Wharf supports
CONCURRENT_CALLS = 4
PROBE_AFTER = 10.0  # seconds after an answer before a TCP engine is probed again
T = TypeVar("T")

_KNOWN_NETWORKS: dict[tuple[str, str], tuple[dict[str, str], threading.Lock]] = {}
_KNOWN_GUARD = threading.Lock()


class DockerClient:
    def __init__(self, endpoint: str, installation: str = "", timeout: float = 60,
                 tls: tuple[Path, Path, Path] | None = None,
                 image_alias: tuple[str, str] | None = None) -> None:
        """`tls`: the CA, client certificate and key files of an engine that asks for
        mutual TLS (`--tlsverify`). `image_alias` (prefix, its stand-in): an image named
        under `prefix` is pulled and run from the stand-in (Wharf's registry on
        loopback, as a host elsewhere reaches it)."""
        self.image_alias = image_alias
        # Wharf's container id -> the engine's own id of the container running it, where
        # that is not `wharf-<id>` (a swarm task's container).
        self.refs: dict[str, str] = {}
        self.endpoint = endpoint
        self.installation = installation  # only this Wharf's objects are listed
        # A fixed API version: the SDK would otherwise ask the engine at construction
        # (a call, and a leaked socket when nothing answers). Newer engines serve it too.
        config = None if tls is None else docker.tls.TLSConfig(
            client_cert=(str(tls[1]), str(tls[2])), ca_cert=str(tls[0]), verify=True)
        self.api = docker.APIClient(base_url=endpoint, timeout=timeout, version=API_VERSION,
                                    tls=config or False)
        # requests would let REQUESTS_CA_BUNDLE (set on these machines) replace the
        # engine's CA, and HTTPS_PROXY route the engine's API through a proxy.
        self.api.trust_env = False
        tcp = endpoint.removeprefix("tcp://").rsplit(":", 1) if endpoint.startswith(
            "tcp://") else None
        self._tcp = (tcp[0], int(tcp[1])) if tcp is not None and len(tcp) == 2 else None
        # Ports are published where Wharf (and its ingress) reach the host: loopback for
        # an engine on this machine, the host's own address for one elsewhere.
        self.publish_address = address_of(endpoint)
        self._answered_at = -PROBE_AFTER  # monotonic time of its last answer
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
        socket of a failed unix connect open, one leaked socket per call to a lost host.
        A TCP endpoint is probed with a short connect: the SDK's own would wait the whole
        call timeout for a host that is gone."""
        if self._tcp is not None:
            # (Not again within seconds of an answer: each probe is a connection the
            # engine logs as a failed TLS handshake.)
            if time.monotonic() - self._answered_at < PROBE_AFTER:
                return
            try:
                socket.create_connection(self._tcp, timeout=3).close()
            except OSError as error:
                raise EngineError(f"{self.endpoint} does not answer: {error}") from None
            return
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
                self._answered_at = time.monotonic()
            except docker.errors.APIError as error:
                self._answered_at = time.monotonic()  # (it answered, with a refusal)
                status = error.status_code or 500
                raise EngineError(f"{self.endpoint}: {error.explanation or error}",
                                  transient=status >= 500) from error
            except requests.exceptions.SSLError as error:
                raise EngineError(f"{self.endpoint} refused the TLS handshake: "
                                  f"{tls_failure(error)}") from error
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


    def aliased(self, image: str) -> str:
        if self.image_alias is not None and image.startswith(self.image_alias[0]):
            return self.image_alias[1] + image[len(self.image_alias[0]):]
        return image

    def _ours(self) -> list[str]:
        return [f"{LABEL_MANAGED}=1", f"{LABEL_INSTALLATION}={self.installation}"]

    def close(self) -> None:
        self.api.close()
