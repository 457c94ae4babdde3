"""A container's spec, validated into plain data that events can carry."""

from __future__ import annotations

import re
from typing import Any

from wharf.domain.errors import InvalidInput

IMAGE = re.compile(
    r"^(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MOUNT_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")
RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")
PROTOCOLS = ("tcp", "udp")
# Host ports a tenant may ask for; anything else is chosen by Docker.
HOST_PORT_RANGE = (20000, 29999)
FORBIDDEN_MOUNTS = ("/var/run/docker.sock", "/run/docker.sock")
MAX_ARGS = 64


def _strings(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(field, "must be a list of strings")
    if len(value) > MAX_ARGS:
        raise InvalidInput(field, f"at most {MAX_ARGS} items")
    return list(value)


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "must be an integer")
    if not low <= value <= high:
        raise InvalidInput(field, f"must be between {low} and {high}")
    return value


def validate_spec(raw: dict[str, Any]) -> dict[str, Any]:
    """Returns the normalised spec or raises InvalidInput naming the bad field.

    Host mounts, the Docker socket, host networking and privileged mode are refused
    outright: tenants share hosts.
    """
    known = {"image", "command", "entrypoint", "env", "secrets", "ports", "cpu_millis",
             "memory_mib", "volumes", "restart_policy", "privileged", "network_mode",
             "binds"}
    for key in raw:
        if key not in known:
            raise InvalidInput(key, "unknown field")
    if raw.get("privileged"):
        raise InvalidInput("privileged", "privileged containers are not allowed")
    if raw.get("network_mode") not in (None, "", "bridge", "default"):
        raise InvalidInput("network_mode", "only Wharf's own networks are allowed")
    if raw.get("binds"):
        raise InvalidInput("binds", "host mounts are not allowed; use a volume")

    image = raw.get("image")
    if not isinstance(image, str) or not image or len(image) > 255 or not IMAGE.match(image):
        raise InvalidInput("image", "not an image reference such as busybox:1 or "
                                    "127.0.0.1:5000/team/app:2")

    env = raw.get("env") or {}
    if not isinstance(env, dict):
        raise InvalidInput("env", "must be a map of names to strings")
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise InvalidInput(f"env.{name}", "not a valid variable name")
        if not isinstance(value, str) or len(value) > 32768:
            raise InvalidInput(f"env.{name}", "must be a string of at most 32 KiB")

    secrets = []
    for i, ref in enumerate(raw.get("secrets") or []):
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
            raise InvalidInput(f"secrets[{i}]", "must name a secret")
        var = ref.get("env") or ref["name"].upper().replace("-", "_")
        if not ENV_NAME.match(var):
            raise InvalidInput(f"secrets[{i}].env", "not a valid variable name")
        if var in env:
            raise InvalidInput(f"secrets[{i}].env", f"{var} is also set in env")
        secrets.append({"name": ref["name"], "env": var})

    ports = []
    seen_ports = set()
    for i, port in enumerate(raw.get("ports") or []):
        if not isinstance(port, dict):
            raise InvalidInput(f"ports[{i}]", "must be an object")
        container_port = _int(port.get("container_port"), f"ports[{i}].container_port", 1, 65535)
        protocol = port.get("protocol", "tcp")
        if protocol not in PROTOCOLS:
            raise InvalidInput(f"ports[{i}].protocol", "must be tcp or udp")
        host_port = port.get("host_port")
        if host_port is not None:
            host_port = _int(host_port, f"ports[{i}].host_port", *HOST_PORT_RANGE)
        publish = bool(port.get("publish", True))
        if (container_port, protocol) in seen_ports:
            raise InvalidInput(f"ports[{i}]", "port listed twice")
        seen_ports.add((container_port, protocol))
        ports.append({"container_port": container_port, "protocol": protocol,
                      "host_port": host_port, "publish": publish})

    volumes = []
    paths = set()
    for i, mount in enumerate(raw.get("volumes") or []):
        if not isinstance(mount, dict) or not isinstance(mount.get("volume"), str):
            raise InvalidInput(f"volumes[{i}]", "must name a volume")
        path = mount.get("path")
        if not isinstance(path, str) or not MOUNT_PATH.match(path) or path == "/":
            raise InvalidInput(f"volumes[{i}].path", "must be an absolute path other than /")
        if path in FORBIDDEN_MOUNTS or mount["volume"].startswith("/"):
            raise InvalidInput(f"volumes[{i}]", "host mounts are not allowed")
        if path in paths:
            raise InvalidInput(f"volumes[{i}].path", "mounted twice")
        paths.add(path)
        volumes.append({"volume": mount["volume"], "path": path,
                        "read_only": bool(mount.get("read_only", False))})

    restart = raw.get("restart_policy", "no")
    if restart not in RESTART_POLICIES:
        raise InvalidInput("restart_policy", f"must be one of {', '.join(RESTART_POLICIES)}")

    spec: dict[str, Any] = {
        "image": image,
        "command": _strings(raw.get("command"), "command"),
        "entrypoint": _strings(raw.get("entrypoint"), "entrypoint"),
        "env": dict(env),
        "secrets": secrets,
        "ports": ports,
        "cpu_millis": None,
        "memory_mib": None,
        "volumes": volumes,
        "restart_policy": restart,
    }
    if raw.get("cpu_millis") is not None:
        spec["cpu_millis"] = _int(raw["cpu_millis"], "cpu_millis", 10, 64000)
    if raw.get("memory_mib") is not None:
        spec["memory_mib"] = _int(raw["memory_mib"], "memory_mib", 6, 262144)
    return spec
