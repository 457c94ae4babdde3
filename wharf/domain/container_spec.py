"""A container's spec: validated once, from the untrusted shape a client (or a Compose
file) sends, into frozen dataclasses that travel unchanged to the engine call.

Events carry the spec as plain data (`ContainerSpec.to_data`), and everything that reads
it back (the aggregate, the read models) turns it into the dataclasses again
(`ContainerSpec.from_data`), so nothing past validation indexes a dict by a string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast, get_args

from wharf.domain.errors import InvalidInput
from wharf.domain.host import check_labels

IMAGE = re.compile(
    r"^(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MOUNT_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")
RestartPolicy = Literal["no", "on-failure", "always", "unless-stopped"]
Protocol = Literal["tcp", "udp"]
RESTART_POLICIES: tuple[RestartPolicy, ...] = get_args(RestartPolicy)
PROTOCOLS: tuple[Protocol, ...] = get_args(Protocol)
# Host ports a tenant may ask for; anything else is chosen by Docker.
HOST_PORT_RANGE = (20000, 29999)
FORBIDDEN_MOUNTS = ("/var/run/docker.sock", "/run/docker.sock")
MAX_ARGS = 64
MAX_ENV = 256  # (the API refuses any list over 256 before converting it)


@dataclass(frozen=True)
class Port:
    container_port: int
    protocol: Protocol = "tcp"
    host_port: int | None = None  # None: the engine picks one
    publish: bool = True

    @property
    def key(self) -> str:
        """How Docker names it: "80/tcp"."""
        return f"{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class Mount:
    volume: str  # the tenant's volume, by name
    path: str
    read_only: bool = False


@dataclass(frozen=True)
class SecretRef:
    name: str  # the tenant's secret, by name
    env: str  # the variable it is given as


@dataclass(frozen=True)
class HealthCheck:
    """A command run inside the container; it is healthy while the command exits 0."""

    test: tuple[str, ...]
    interval_s: int = 30
    timeout_s: int = 10
    retries: int = 3
    start_period_s: int = 0


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[SecretRef, ...] = ()
    ports: tuple[Port, ...] = ()
    cpu_millis: int | None = None  # None: the plan's default
    memory_mib: int | None = None
    volumes: tuple[Mount, ...] = ()
    restart_policy: RestartPolicy = "no"
    health_check: HealthCheck | None = None
    constraints: tuple[str, ...] = ()  # host labels it must run on, "key=value"

    def to_data(self) -> dict[str, Any]:
        """The spec as events and read models store it (JSON-ready)."""
        data = asdict(self)
        data["env"] = dict(self.env)
        for key in ("command", "entrypoint"):
            data[key] = list(data[key])
        for key in ("secrets", "ports", "volumes"):
            data[key] = list(data[key])
        if self.constraints:
            data["constraints"] = list(self.constraints)
        else:
            del data["constraints"]  # (as specs before constraints were stored)
        if self.health_check is None:
            del data["health_check"]  # (as specs before health checks were stored)
        else:
            data["health_check"]["test"] = list(self.health_check.test)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ContainerSpec:
        """A spec validated when it was stored (by this code or an older one)."""
        health = data.get("health_check")
        return cls(
            image=data["image"],
            command=tuple(data.get("command") or ()),
            entrypoint=tuple(data.get("entrypoint") or ()),
            env=dict(data.get("env") or {}),
            secrets=tuple(SecretRef(**s) for s in data.get("secrets") or ()),
            ports=tuple(Port(**p) for p in data.get("ports") or ()),
            cpu_millis=data.get("cpu_millis"),
            memory_mib=data.get("memory_mib"),
            volumes=tuple(Mount(**v) for v in data.get("volumes") or ()),
            restart_policy=data.get("restart_policy", "no"),
            health_check=(HealthCheck(**{**health, "test": tuple(health["test"])})
                          if health else None),
            constraints=tuple(data.get("constraints") or ()),
        )

    @property
    def volume_names(self) -> list[str]:
        return [mount.volume for mount in self.volumes]


def _strings(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(field, "must be a list of strings")
    if len(value) > MAX_ARGS:
        raise InvalidInput(field, f"at most {MAX_ARGS} items")
    return tuple(value)


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "must be an integer")
    if not low <= value <= high:
        raise InvalidInput(field, f"must be between {low} and {high}")
    return value


KNOWN = frozenset({
    "image", "command", "entrypoint", "env", "secrets", "ports", "cpu_millis", "memory_mib",
    "volumes", "restart_policy", "health_check", "privileged", "network_mode", "binds",
    "constraints"})
# `host.labels.zone == eu-1`, or as Compose and Swarm write it, `node.labels.zone == eu-1`
CONSTRAINT = re.compile(r"^\s*(?:host|node)\.labels\.([^\s=!]+)\s*==\s*(\S+)\s*$")
MAX_CONSTRAINTS = 10


def validate_spec(raw: Mapping[str, Any]) -> ContainerSpec:
    """Returns the spec or raises InvalidInput naming the bad field.

    Host mounts, the Docker socket, host networking and privileged mode are refused
    outright: tenants share hosts.
    """
    for key in raw:
        if key not in KNOWN:
            raise InvalidInput(key, "unknown field")
    if raw.get("privileged"):
        raise InvalidInput("privileged", "privileged containers are not allowed")
    if raw.get("network_mode") not in (None, "", "bridge", "default"):
        raise InvalidInput("network_mode", "only Wharf's own networks are allowed")
    if raw.get("binds"):
        raise InvalidInput("binds", "host mounts are not allowed; use a volume")

    image = raw.get("image")
    if not isinstance(image, str) or not image or len(image) > 255 or not IMAGE.fullmatch(image):
        raise InvalidInput("image", "not an image reference such as busybox:1 or "
                                    "127.0.0.1:5000/team/app:2")
    env = _env(raw.get("env"))
    restart = raw.get("restart_policy", "no")
    if restart not in RESTART_POLICIES:
        raise InvalidInput("restart_policy", f"must be one of {', '.join(RESTART_POLICIES)}")
    cpu, memory = raw.get("cpu_millis"), raw.get("memory_mib")
    return ContainerSpec(
        image=image,
        command=_strings(raw.get("command"), "command"),
        entrypoint=_strings(raw.get("entrypoint"), "entrypoint"),
        env=env,
        secrets=_secrets(raw.get("secrets"), env),
        ports=_ports(raw.get("ports")),
        cpu_millis=None if cpu is None else _int(cpu, "cpu_millis", 10, 64000),
        memory_mib=None if memory is None else _int(memory, "memory_mib", 6, 262144),
        volumes=_mounts(raw.get("volumes")),
        restart_policy=cast(RestartPolicy, restart),
        health_check=_health_check(raw.get("health_check")),
        constraints=check_constraints(raw.get("constraints")),
    )


def check_constraints(raw: Any, field: str = "constraints") -> tuple[str, ...]:
    """Placement constraints on host labels, as "key=value" (sorted, each once)."""
    found = set()
    for index, text in enumerate(_strings(raw, field)):
        match = CONSTRAINT.fullmatch(text) if len(text) <= 200 else None
        if match is None:
            raise InvalidInput(f"{field}[{index}]", "must be host.labels.KEY == VALUE "
                                                    "(or node.labels.KEY == VALUE)")
        key, value = match.groups()
        try:
            check_labels({key: value})
        except InvalidInput as error:
            raise InvalidInput(f"{field}[{index}]", error.message) from None
        found.add(f"{key}={value}")
    if len(found) > MAX_CONSTRAINTS:
        raise InvalidInput(field, f"at most {MAX_CONSTRAINTS} constraints")
    return tuple(sorted(found))


def _env(raw: Any) -> dict[str, str]:
    env = raw or {}
    if not isinstance(env, dict):
        raise InvalidInput("env", "must be a map of names to strings")
    if len(env) > MAX_ENV:
        raise InvalidInput("env", f"at most {MAX_ENV} variables")
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            raise InvalidInput(f"env.{name}", "not a valid variable name")
        if not isinstance(value, str) or len(value) > 32768:
            raise InvalidInput(f"env.{name}", "must be a string of at most 32 KiB")
    return dict(env)


def _list(raw: Any, field: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput(field, "must be a list")
    if len(raw) > MAX_ARGS:
        raise InvalidInput(field, f"at most {MAX_ARGS} items")
    return raw


def _secrets(raw: Any, env: Mapping[str, str]) -> tuple[SecretRef, ...]:
    secrets: list[SecretRef] = []
    for i, ref in enumerate(_list(raw, "secrets")):
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
            raise InvalidInput(f"secrets[{i}]", "must name a secret")
        var = ref.get("env") or ref["name"].upper().replace("-", "_")
        if not isinstance(var, str) or not ENV_NAME.fullmatch(var):
            raise InvalidInput(f"secrets[{i}].env", "not a valid variable name")
        if var in env:
            raise InvalidInput(f"secrets[{i}].env", f"{var} is also set in env")
        if any(s.env == var for s in secrets):
            raise InvalidInput(f"secrets[{i}].env", f"{var} is set by another secret too")
        secrets.append(SecretRef(name=ref["name"], env=var))
    return tuple(secrets)


def _ports(raw: Any) -> tuple[Port, ...]:
    ports: list[Port] = []
    for i, port in enumerate(_list(raw, "ports")):
        if not isinstance(port, dict):
            raise InvalidInput(f"ports[{i}]", "must be an object")
        container_port = _int(port.get("container_port"), f"ports[{i}].container_port", 1, 65535)
        protocol = port.get("protocol", "tcp")
        if protocol not in PROTOCOLS:
            raise InvalidInput(f"ports[{i}].protocol", "must be tcp or udp")
        host_port = port.get("host_port")
        if host_port is not None:
            host_port = _int(host_port, f"ports[{i}].host_port", *HOST_PORT_RANGE)
        made = Port(container_port, protocol, host_port, bool(port.get("publish", True)))
        if any(p.key == made.key for p in ports):
            raise InvalidInput(f"ports[{i}]", "port listed twice")
        if host_port is not None and any(
                (p.host_port, p.protocol) == (host_port, protocol) for p in ports):
            raise InvalidInput(f"ports[{i}].host_port", f"host port {host_port} asked for twice")
        ports.append(made)
    return tuple(ports)


def _mounts(raw: Any) -> tuple[Mount, ...]:
    mounts: list[Mount] = []
    for i, mount in enumerate(_list(raw, "volumes")):
        if not isinstance(mount, dict) or not isinstance(mount.get("volume"), str):
            raise InvalidInput(f"volumes[{i}]", "must name a volume")
        path = mount.get("path")
        if not isinstance(path, str) or not MOUNT_PATH.fullmatch(path) or path == "/":
            raise InvalidInput(f"volumes[{i}].path", "must be an absolute path other than /")
        if path in FORBIDDEN_MOUNTS or mount["volume"].startswith("/"):
            raise InvalidInput(f"volumes[{i}]", "host mounts are not allowed")
        if any(m.path == path for m in mounts):
            raise InvalidInput(f"volumes[{i}].path", "mounted twice")
        mounts.append(Mount(mount["volume"], path, bool(mount.get("read_only", False))))
    return tuple(mounts)


def _health_check(raw: Any) -> HealthCheck | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput("health_check", "must be an object")
    for key in raw:
        if key not in ("test", "interval_s", "timeout_s", "retries", "start_period_s"):
            raise InvalidInput(f"health_check.{key}", "unknown field")
    test = _strings(raw.get("test"), "health_check.test")
    if not test or not test[0]:
        raise InvalidInput("health_check.test", "must name a command to run")
    return HealthCheck(
        test=test,
        interval_s=_int(raw.get("interval_s", 30), "health_check.interval_s", 1, 3600),
        timeout_s=_int(raw.get("timeout_s", 10), "health_check.timeout_s", 1, 3600),
        retries=_int(raw.get("retries", 3), "health_check.retries", 1, 100),
        start_period_s=_int(raw.get("start_period_s", 0), "health_check.start_period_s",
                            0, 3600),
    )
