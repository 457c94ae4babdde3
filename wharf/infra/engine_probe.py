"""Asking an engine that is joining what it is, with a deadline on the whole exchange.

A host joins at an address its owner gives; the engine there may be slow or hostile. The
SDK's timeout bounds each read, so an engine answering one byte every few seconds holds
a caller for as long as it likes (and a tenant with a few such requests held every API
thread). Here one GET of `/info` over mutual TLS gets `DEADLINE` seconds in all: a
watchdog shuts the socket down when they are up, and at most `MAX_BODY` bytes are read.
How many probes run at once is bounded too, in all and per caller.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from wharf.domain.errors import Conflict, InvalidInput
from wharf.domain.host import ENDPOINT, check_endpoint
from wharf.domain.tls import TlsCredentials
from wharf.infra.host_tls import client_files, tls_failure
from wharf.schedulers.ports import Capacity

DEADLINE = 5.0
MAX_BODY = 256 * 1024
AT_ONCE = 8  # probes in flight in this process
PER_CALLER = 2
API_VERSION = "1.41"

_guard = threading.Lock()
_in_flight: dict[str, int] = {}


@contextmanager
def probe_slot(caller: str) -> Iterator[None]:
    """A place among the probes in flight; Conflict when there is none (try again)."""
    with _guard:
        if sum(_in_flight.values()) >= AT_ONCE or _in_flight.get(caller, 0) >= PER_CALLER:
            raise Conflict("too many hosts are being checked now; try again in a few "
                           "seconds")
        _in_flight[caller] = _in_flight.get(caller, 0) + 1
    try:
        yield
    finally:
        with _guard:
            _in_flight[caller] -= 1
            if not _in_flight[caller]:
                del _in_flight[caller]


def is_this_machine(address: str) -> bool:
    """Whether `address` is one of this machine's own: only those can be bound here."""
    try:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
        return True
    except OSError:
        return False


def probe(endpoint: str, credentials: TlsCredentials | None, scratch: Path | None = None,
          deadline: float = DEADLINE, detail: bool = True) -> Capacity:
    """What the engine at tcp://HOST:PORT says it has (asked over mutual TLS with
    `credentials`, else plain on loopback); InvalidInput when it does not answer as an
    engine within `deadline` seconds. Without `detail` the error does not say why."""
    check_endpoint(endpoint, secured=credentials is not None)
    match = ENDPOINT.fullmatch(endpoint)
    assert match is not None and match.group(2) is not None
    host, port = match.group(2), int(match.group(3))
    if credentials is not None:
        credentials.check()
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=scratch) as directory:
        try:
            info = _info(host, port, credentials, Path(directory), deadline)
        except (OSError, http.client.HTTPException, ValueError, RecursionError) as error:
            reason = f": {_reason(error)}" if detail else \
                " over mutual TLS with these credentials"
            raise InvalidInput("endpoint", f"no Docker engine answers at {endpoint}"
                                           f"{reason}") from None
    try:
        return Capacity(cpu_millis=int(info["NCPU"]) * 1000,
                        memory_mib=int(info["MemTotal"]) // (1024 * 1024),
                        engine_version=str(info.get("ServerVersion") or "")[:40])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise InvalidInput("endpoint", f"{endpoint} did not answer as a Docker engine") \
            from None


def _info(host: str, port: int, credentials: TlsCredentials | None, directory: Path,
          deadline: float) -> dict[str, Any]:
    connection: http.client.HTTPConnection
    if credentials is None:
        connection = http.client.HTTPConnection(host, port, timeout=deadline)
    else:
        ca, cert, key = client_files(directory, credentials)
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        connection = http.client.HTTPSConnection(host, port, timeout=deadline,
                                                 context=context)

    expired = threading.Event()

    def give_up() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(deadline, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("GET", f"/v{API_VERSION}/info", headers={"Host": "docker"})
        response = connection.getresponse()
        body = response.read(MAX_BODY + 1)
        if response.status != 200:
            raise ValueError(f"it answered HTTP {response.status}")
        if len(body) > MAX_BODY:
            raise ValueError("its answer is too long for an engine's")
        found = json.loads(body)
        if not isinstance(found, dict):
            raise ValueError("its answer is not an engine's")
        return found
    except (OSError, http.client.HTTPException, ValueError, RecursionError):
        if expired.is_set():
            raise TimeoutError(f"it did not answer within {deadline:g} s") from None
        raise
    finally:
        watchdog.cancel()
        connection.close()


def _reason(error: Exception) -> str:
    if isinstance(error, ssl.SSLError):
        return f"it refused the TLS handshake ({tls_failure(error)})"
    if isinstance(error, TimeoutError):
        return str(error) or f"it did not answer within {DEADLINE:g} s"
    return str(error)[:200] or type(error).__name__
