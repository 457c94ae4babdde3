"""The Swarm runtime's gateway: Caddy in a container on the manager's engine, joined to the
overlay networks of balanced services, its one port published on the manager's address.

Swarm cannot publish a port on 127.0.0.1 only, and its routing mesh needs IPVS (this
kernel has none), so Wharf's own ingress reaches replicas through this container: each
request carries the route's name and the gateway's key (`routes.gateway_apps`), which
only Wharf's ingress sends; a tenant's container on the same overlay can reach the
gateway's port but not use it. The image is this machine's Caddy binary and the libraries
it links, on nothing (`FROM scratch`), built on the local engine and loaded into the
manager's; its configuration is written into the container and loaded by `caddy reload`
through the admin API on the container's own loopback.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path
from typing import Any

import docker
import docker.errors

from wharf.infra.hardening import LOG_ROTATION, PIDS_LIMIT
from wharf.infra.scheduling import LOCAL_ENGINE
from wharf.schedulers.cluster import GATEWAY_PORT as PORT
from wharf.schedulers.ports import LABEL_INSTALLATION, LABEL_MANAGED, EngineError

log = logging.getLogger(__name__)

CONFIG = "/etc/caddy/gateway.json"
_built = threading.Lock()


def caddy_binary() -> Path:
    found = shutil.which("caddy")
    if found is None:
        raise EngineError("no caddy binary on this machine for the Swarm gateway",
                          transient=False)
    return Path(found).resolve()


def image_name(binary: Path) -> str:
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
    return f"wharf-gateway:{digest}"


def _libraries(binary: Path) -> list[Path]:
    """The shared objects the binary loads (ldd's paths)."""
    listed = subprocess.run(["ldd", str(binary)], capture_output=True, text=True,
                            check=False).stdout
    return [Path(p) for p in re.findall(r"(/\S+\.so[.\d]*)", listed)]


def _context(binary: Path) -> bytes:
    """A build context: Caddy, its libraries, a first configuration, a Dockerfile."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(binary, arcname="root/usr/bin/caddy")
        for library in _libraries(binary):
            tar.add(library.resolve(), arcname=f"root{library}")
        _add(tar, f"root{CONFIG}", json.dumps({"admin": {"listen": "localhost:2019"}})
             .encode())
        _add(tar, "Dockerfile", b"FROM scratch\nCOPY root/ /\n"
                                b"ENV XDG_CONFIG_HOME=/data/config XDG_DATA_HOME=/data/data\n"
                                b'ENTRYPOINT ["/usr/bin/caddy"]\n'
                                b'CMD ["run", "--config", "' + CONFIG.encode() + b'"]\n')
    return buffer.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def ensure_image(engine: docker.APIClient) -> str:
    """The gateway's image on `engine`: built on this machine's engine once, and loaded
    into `engine` when it is another."""
    binary = caddy_binary()
    name = image_name(binary)
    try:
        engine.inspect_image(name)
        return name
    except docker.errors.ImageNotFound:
        pass
    with _built:
        local = docker.APIClient(base_url=LOCAL_ENGINE, version="1.41")
        try:
            try:
                local.inspect_image(name)
            except docker.errors.ImageNotFound:
                log.info("building the Swarm gateway's image %s", name)
                for _ in local.build(fileobj=io.BytesIO(_context(binary)),
                                     custom_context=True, tag=name, rm=True,
                                     decode=True):
                    pass
                local.inspect_image(name)  # (a failed build raises here)
            if engine.base_url != local.base_url:
                engine.load_image(local.get_image(name))
        finally:
            local.close()
    return name


def container_name(installation: str) -> str:
    return f"wharf-gateway-{installation}"


def create(api: docker.APIClient, installation: str, address: str) -> None:
    """Makes and starts the gateway's container, its port published on `address`."""
    name = container_name(installation)
    api.create_container(
        ensure_image(api), name=name, ports=[PORT],
        labels={LABEL_MANAGED: "1", LABEL_INSTALLATION: installation, "wharf.gateway": "1"},
        host_config=api.create_host_config(
            port_bindings={PORT: (address, None)}, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], pids_limit=PIDS_LIMIT, mem_limit="256m",
            tmpfs={"/data": "size=64m"}, restart_policy={"Name": "unless-stopped"},
            # (on every balanced service's overlay: it must route no packet between them)
            sysctls={"net.ipv4.ip_forward": "0", "net.ipv6.conf.all.forwarding": "0"},
            log_config={"Type": "json-file", "Config": dict(LOG_ROTATION)}))
    api.start(name)


def published(found: dict[str, Any]) -> int | None:
    bound = (found["NetworkSettings"]["Ports"] or {}).get(f"{PORT}/tcp") or []
    return int(bound[0]["HostPort"]) if bound else None


def joined(found: dict[str, Any]) -> set[str]:
    return {str(n.get("NetworkID")) for n in found["NetworkSettings"]["Networks"].values()}


def config_archive(apps: dict[str, Any]) -> bytes:
    """The configuration as the one-file archive `put_archive` writes into the container."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add(tar, Path(CONFIG).name, json.dumps(apps, sort_keys=True).encode())
    return buffer.getvalue()


RELOAD = ["/usr/bin/caddy", "reload", "--config", CONFIG, "--address", "localhost:2019"]
