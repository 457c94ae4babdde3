"""The driver against an endpoint where no engine listens: a clear EngineError, and no
socket left open per call (a lost host is asked every pass)."""

from __future__ import annotations

import gc
import socket
import warnings
from pathlib import Path

import docker.errors
import pytest

from wharf.infra.docker_driver import DockerEngine
from wharf.schedulers.ports import EngineError


def test_a_stale_socket_file_answers_engine_error_and_leaks_no_socket(tmp_path: Path) -> None:
    path = tmp_path / "killed-engine.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, as a SIGKILLed dockerd leaves it; connects are refused
    engine = DockerEngine(f"unix://{path}", "test", timeout=2)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert engine.ping() is False
            for _ in range(3):
                with pytest.raises(EngineError, match="does not answer"):
                    engine.containers()
            gc.collect()
        assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    finally:
        engine.close()


class _FullEngine:
    """An engine whose address pools are used up (the answer Docker 20.10 gives)."""

    def networks(self, **_: object) -> list[object]:
        return []

    def create_network(self, *_: object, **__: object) -> None:
        raise docker.errors.APIError(
            "500 Server Error", explanation="could not find an available, non-overlapping "
                                            "IPv4 address pool among the defaults to assign "
                                            "to the network")


def test_no_address_range_for_a_tenant_network_is_a_failure_the_tenant_sees() -> None:
    # (The local engine's socket answers the probe before each call; the calls go to the
    # full engine standing in for its API.)
    engine = DockerEngine("unix:///var/run/docker.sock", "test")
    real, engine.api = engine.api, _FullEngine()  # type: ignore[assignment]
    try:
        with pytest.raises(EngineError, match="default-address-pools") as raised:
            engine._ensure_network("tenant")
        assert raised.value.transient is False  # recorded on the container, not retried
    finally:
        real.close()
