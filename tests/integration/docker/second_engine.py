"""A second Docker Engine on this machine, as ENVIRONMENT.md sets one up: its own socket,
data root and bridge. Tests start it when they need it and stop it by pid (a host loss)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import docker

from tests.integration.helpers import wait_for
from wharf.infra.docker_driver import DockerEngine

SOCKET = "/var/run/docker-h2.sock"
ENDPOINT = f"unix://{SOCKET}"
PIDFILE = Path("/var/run/docker-h2.pid")
LOG = Path("/var/log/dockerd-h2.log")
_ENGINES: list[subprocess.Popen[bytes]] = []  # kept: it outlives the test that starts it


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def _answers() -> bool:
    engine = DockerEngine(ENDPOINT, timeout=2)  # (its probe closes a refused socket)
    try:
        return engine.ping()
    finally:
        engine.close()


def _pid() -> int | None:
    try:
        pid = int(PIDFILE.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start() -> str:
    """Starts the engine unless it runs; loads the busybox image into it. Its endpoint."""
    if _answers():
        return ENDPOINT
    if subprocess.run(["ip", "link", "show", "wharf1"], capture_output=True).returncode:
        _run("ip", "link", "add", "name", "wharf1", "type", "bridge")
        _run("ip", "addr", "add", "172.31.250.1/24", "dev", "wharf1")
        _run("ip", "link", "set", "wharf1", "up")
    Path("/var/lib/docker-h2").mkdir(parents=True, exist_ok=True)
    Path("/var/run/docker-h2").mkdir(parents=True, exist_ok=True)
    with LOG.open("ab") as log:
        _ENGINES.append(subprocess.Popen(
            ["dockerd", "-H", ENDPOINT, "--data-root", "/var/lib/docker-h2",
             "--exec-root", "/var/run/docker-h2", "--pidfile", str(PIDFILE),
             "--bridge", "wharf1"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True))
    wait_for(f"the second engine to answer (see {LOG})", _answers)
    load_busybox(ENDPOINT)
    return ENDPOINT


def load_busybox(endpoint: str) -> None:
    """The local engine's busybox image, into the engine at `endpoint` unless it has it."""
    client = docker.APIClient(base_url=endpoint, version="1.41")
    try:
        if not client.images(name="busybox"):
            local = docker.APIClient(base_url="unix:///var/run/docker.sock", version="1.41")
            try:
                client.load_image(local.get_image("busybox:latest"))
            finally:
                local.close()
    finally:
        client.close()


def stop() -> None:
    """Stops the engine by its pid, as a host that goes away."""
    pid = _pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    wait_for("the second engine to stop", lambda: _pid() is None)
    for process in _ENGINES:
        if process.pid == pid:
            process.wait(10)
