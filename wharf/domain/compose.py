"""Compose files: the subset of the Compose format Wharf deploys, read from hostile text.

A file is refused before it is walked when it is over MAX_BYTES or when its anchors and
aliases would expand past MAX_NODES (a 600-byte file can stand for a billion nodes:
`yaml.compose` keeps an alias as a reference to its anchor's node, so the expanded size
is counted over that graph without expanding it). Every key outside the subset is an
`InvalidInput` naming its path (`services.web.privileged`), so nothing half-understood
is ever deployed. Pure: no I/O, the env files' contents come with the request.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from wharf.domain.container_spec import ContainerSpec, check_constraints, validate_spec
from wharf.domain.errors import InvalidInput
from wharf.domain.service import (
    MAX_REPLICAS,
    UpdatePolicy,
    check_category,
    check_update_policy,
)

MAX_BYTES = 256 * 1024
MAX_NODES = 20_000  # YAML nodes once anchors and aliases are expanded
MAX_EXPANDED = 1024 * 1024  # characters of scalars once expanded (and after ${VAR})
MAX_ENV_FILES = 16  # per service
MAX_DEPTH = 50  # levels of nesting (a Compose file needs about six)
MAX_LABELS = 64
MAX_SERVICES = 32
CONDITIONS = ("service_started", "service_healthy")
VOLUME_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
SERVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
# (at most 12 digits a unit: no number past what a clock can hold is ever parsed)
DURATION = re.compile(r"^(?:(\d{1,12})h)?(?:(\d{1,12})m(?!s))?(?:(\d{1,12})s)?"
                      r"(?:(\d{1,12})ms)?(?:(\d{1,12})us)?$")
SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$", re.IGNORECASE)
VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|"
                      r"([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class ComposeService:
    name: str
    spec: ContainerSpec
    replicas: int
    balanced: tuple[int, ...]  # published ports: each asks for a load-balanced endpoint
    depends_on: Mapping[str, str]  # service -> condition
    labels: Mapping[str, str]
    update: UpdatePolicy  # deploy.update_config
    category: str = "app"  # the label wharf.category: data and disk keep a volume per replica

    def as_data(self) -> dict[str, Any]:
        return {"name": self.name, "spec": self.spec.to_data(), "replicas": self.replicas,
                "balanced": list(self.balanced), "depends_on": dict(self.depends_on),
                "labels": dict(self.labels), "update": self.update.to_data()}


@dataclass(frozen=True)
class ComposeApp:
    services: tuple[ComposeService, ...]  # in the file's order
    volumes: Mapping[str, str]  # the file's volume name -> the tenant's volume name
    warnings: tuple[str, ...] = ()
    external: frozenset[str] = frozenset()  # tenant volumes the file says exist already

    @property
    def entry(self) -> str | None:
        """The service the application's own domain reaches: the one labelled
        `wharf.entry`, else the first in the file that publishes a port."""
        for service in self.services:
            if service.labels.get("wharf.entry", "").lower() in ("true", "1", "yes"):
                return service.name
        return next((s.name for s in self.services if s.balanced), None)

    def start_order(self) -> list[list[str]]:
        """Services in waves: each wave depends only on the waves before it."""
        left = {s.name: set(s.depends_on) for s in self.services}
        waves: list[list[str]] = []
        while left:
            ready = [name for name, needs in left.items() if not needs]
            if not ready:
                raise InvalidInput("services", "depends_on has a cycle: "
                                   + ", ".join(sorted(left)))
            waves.append(ready)
            for name in ready:
                del left[name]
            for needs in left.values():
                needs.difference_update(ready)
        return waves


# -- reading the text ------------------------------------------------------------------


def load(text: str) -> Any:
    """The document, or InvalidInput: too big, expanding past the budget, or not YAML."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise InvalidInput("compose", f"the file is over {MAX_BYTES // 1024} KiB")
    try:  # (the reader refuses characters YAML does not allow as it is made)
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as error:
        raise InvalidInput("compose", f"{getattr(error, 'reason', None) or 'not YAML'} "
                                      "(YAML allows no such character)") from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise InvalidInput("compose", "the file is empty")
        _budget(node)
        return loader.construct_document(node)
    except RecursionError:
        raise InvalidInput("compose", "the file nests too deeply") from None
    except (ValueError, OverflowError) as error:  # (an integer of 5,000 digits, say)
        raise InvalidInput("compose", f"a value cannot be read: {str(error)[:100]}") \
            from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise InvalidInput("compose", f"{problem}{where}") from None
    finally:
        loader.dispose()


def _budget(root: yaml.Node) -> None:
    """Counts the nodes and the scalars' characters the document expands to, each shared
    node once per use, and stops at MAX_NODES or MAX_EXPANDED; a node that contains
    itself is refused."""
    sizes: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int = 0) -> tuple[int, int]:
        if depth > MAX_DEPTH:
            raise InvalidInput("compose", f"the file nests deeper than {MAX_DEPTH} levels")
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise InvalidInput("compose", "an alias refers to a node that contains it")
        active.add(key)
        nodes, chars = 1, 0
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children, chars = [], len(str(node.value))
        for child in children:
            more_nodes, more_chars = size(child, depth + 1)
            nodes, chars = nodes + more_nodes, chars + more_chars
            if nodes > MAX_NODES or chars > MAX_EXPANDED:
                raise InvalidInput("compose", f"the file expands to over {MAX_NODES} nodes "
                                              f"or {MAX_EXPANDED // 1024} KiB of text "
                                              "through its anchors and aliases")
        active.discard(key)
        sizes[key] = (nodes, chars)
        return nodes, chars

    size(root)


# -- interpolation ---------------------------------------------------------------------


def interpolate(value: Any, variables: Mapping[str, str], path: str,
                warnings: list[str]) -> Any:
    """${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, $VAR and $$, as Compose
    reads them, from the variables sent with the file (its .env); a variable not set is
    empty, with a warning."""
    if isinstance(value, str):
        _check_text(path, value)

        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group(1) or match.group(4)
            operator, default = match.group(2), match.group(3)
            found = variables.get(name)
            if operator in (":-", ":?") and not found:
                found = None
            if found is None:
                if operator in (":?", "?"):
                    raise InvalidInput(path, f"${{{name}}} is required: {default}")
                if operator in (":-", "-"):
                    return default or ""
                warnings.append(f"{path}: ${{{name}}} is not set; it is empty")
                return ""
            return found

        made = VARIABLE.sub(one, value)
        _check_text(path, made)
        return made
    if isinstance(value, dict):
        return {k: interpolate(v, variables, f"{path}.{k}" if path else str(k), warnings)
                for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables, f"{path}[{i}]", warnings) for i, v in enumerate(value)]
    return value


def _check_text(path: str, text: str) -> None:
    """Text every store can hold, of a bounded size (as commands/inputs.py rules for
    every command's own fields: these are the file's)."""
    if len(text) > MAX_EXPANDED:
        raise InvalidInput(path or "compose", f"over {MAX_EXPANDED // 1024} KiB of text")
    if "\x00" in text:
        raise InvalidInput(path or "compose", "must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(path or "compose", "must not contain unpaired surrogate "
                                              "characters") from None


def env_file_variables(text: str, path: str) -> dict[str, str]:
    """NAME=VALUE lines (comments and blank lines skipped, quotes taken off)."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, equals, value = line.partition("=")
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            raise InvalidInput(f"{path}:{number}", "not a NAME=VALUE line")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[name.strip()] = value
    return found


# -- the subset ------------------------------------------------------------------------


TOP = ("version", "name", "services", "volumes", "networks", "secrets")
SERVICE_KEYS = ("image", "build", "command", "entrypoint", "environment", "env_file",
                "ports", "expose", "volumes", "networks", "secrets", "depends_on",
                "healthcheck", "restart", "deploy", "labels", "logging")


def parse(text: str, app: str, env_files: Mapping[str, str] | None = None,
          variables: Mapping[str, str] | None = None) -> ComposeApp:
    """The application the file describes, or InvalidInput naming the first key or
    value outside the subset. `env_files` holds the contents of the files its services'
    `env_file` names, by path; `variables`, what `${VAR}` is read from."""
    document = load(text)
    warnings: list[str] = []
    root = _mapping(document, "compose")
    for key in root:
        if key not in TOP and not key.startswith("x-"):
            raise InvalidInput(key, "not supported (top-level keys: " + ", ".join(TOP)
                               + ", x-*)")
    root = interpolate({k: v for k, v in root.items() if not k.startswith("x-")},
                       variables or {}, "", warnings)
    volumes = _top_volumes(root.get("volumes"), app)
    networks = _top_networks(root.get("networks"))
    secrets = _top_secrets(root.get("secrets"))
    raw_services = _mapping(root.get("services"), "services")
    if not raw_services:
        raise InvalidInput("services", "the file has no services")
    if len(raw_services) > MAX_SERVICES:
        raise InvalidInput("services", f"at most {MAX_SERVICES} services")
    services = []
    for name, raw in raw_services.items():
        path = f"services.{name}"
        if not isinstance(name, str) or not SERVICE_NAME.fullmatch(name):
            raise InvalidInput(path, "a service name of 1-32 lower-case letters, digits "
                                     "or '-' (it names the service in Wharf)")
        services.append(_service(name, _mapping(raw, path), path, volumes, networks,
                                 secrets, env_files or {}, warnings))
    names = {s.name for s in services}
    for service in services:
        for needed in service.depends_on:
            if needed not in names:
                raise InvalidInput(f"services.{service.name}.depends_on",
                                   f"no service named {needed}")
    external = frozenset(volumes[name] for name, volume in
                         _mapping(root.get("volumes"), "volumes").items()
                         if isinstance(volume, dict) and volume.get("external"))
    made = ComposeApp(tuple(services), volumes, tuple(warnings), external)
    made.start_order()  # (refuses a cycle)
    if len(json.dumps([s.as_data() for s in services])) > MAX_EXPANDED:
        raise InvalidInput("compose", f"the services come to over {MAX_EXPANDED // 1024} "
                                      "KiB once their variables are read")
    return made


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InvalidInput(path, "must be a mapping with string keys")
    return value


def _only(raw: dict[str, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in raw:
        if key not in allowed and not key.startswith("x-"):
            raise InvalidInput(f"{path}.{key}", "not supported (supported here: "
                               + ", ".join(allowed) + ")")


def _top_volumes(raw: Any, app: str) -> dict[str, str]:
    found = {}
    for name, volume in _mapping(raw, "volumes").items():
        path = f"volumes.{name}"
        volume = _mapping(volume, path)
        _only(volume, ("name", "external", "labels"), path)
        if volume.get("external"):
            found[name] = str(volume.get("name") or name)  # the tenant's own volume
        else:
            found[name] = f"{app}-{name}"
        if not isinstance(name, str) or not VOLUME_NAME.fullmatch(found[name]):
            raise InvalidInput(path, "a volume name of lower-case letters, digits or '-' "
                                     "(it names the tenant's volume)")
    return found


def _top_networks(raw: Any) -> set[str]:
    for name, network in _mapping(raw, "networks").items():
        path = f"networks.{name}"
        network = _mapping(network, path)
        _only(network, ("driver", "name", "labels"), path)
        if network.get("driver") not in (None, "bridge", "overlay"):
            raise InvalidInput(f"{path}.driver", "an application has one network of its own")
    return {"default", *_mapping(raw, "networks")}


def _top_secrets(raw: Any) -> dict[str, str]:
    found = {}
    for name, secret in _mapping(raw, "secrets").items():
        path = f"secrets.{name}"
        secret = _mapping(secret, path)
        if "file" in secret or "environment" in secret:
            raise InvalidInput(f"{path}.{'file' if 'file' in secret else 'environment'}",
                               "secrets are the tenant's Wharf secrets, bound by name "
                               "(setSecret); no file is read")
        _only(secret, ("external", "name"), path)
        found[name] = str(secret.get("name") or name)
    return found


def _service(name: str, raw: dict[str, Any], path: str, volumes: Mapping[str, str],
             networks: set[str], secrets: Mapping[str, str], env_files: Mapping[str, str],
             warnings: list[str]) -> ComposeService:
    if "build" in raw:
        raise InvalidInput(f"{path}.build", "Wharf does not build from a Compose file: push "
                           "the image, or build it with a pipeline, and name it in image")
    _only(raw, SERVICE_KEYS, path)
    if "logging" in raw:
        warnings.append(f"{path}.logging is ignored: Wharf keeps every replica's logs")
    image = raw.get("image")
    if not isinstance(image, str):
        raise InvalidInput(f"{path}.image", "every service names its image")
    env = _env_files(raw.get("env_file"), f"{path}.env_file", env_files)
    env.update(_environment(raw.get("environment"), f"{path}.environment"))
    ports, balanced = _ports(raw.get("ports"), raw.get("expose"), path)
    for network in _names(raw.get("networks"), f"{path}.networks"):
        if network not in networks:
            raise InvalidInput(f"{path}.networks", f"no network named {network}")
    deploy = _mapping(raw.get("deploy"), f"{path}.deploy")
    _only(deploy, ("replicas", "resources", "update_config", "placement"), f"{path}.deploy")
    cpu, memory = _resources(deploy.get("resources"), f"{path}.deploy.resources")
    placement = _mapping(deploy.get("placement"), f"{path}.deploy.placement")
    _only(placement, ("constraints",), f"{path}.deploy.placement")
    spec: dict[str, Any] = {
        "image": image, "command": _command(raw.get("command"), f"{path}.command"),
        "entrypoint": _command(raw.get("entrypoint"), f"{path}.entrypoint"), "env": env,
        "secrets": _secret_refs(raw.get("secrets"), f"{path}.secrets", secrets),
        "ports": ports, "volumes": _mounts(raw.get("volumes"), f"{path}.volumes", volumes),
        "restart_policy": _restart(raw.get("restart"), f"{path}.restart"),
        "cpu_millis": cpu, "memory_mib": memory,
    }
    health = _healthcheck(raw.get("healthcheck"), f"{path}.healthcheck", warnings)
    if health is not None:
        spec["health_check"] = health
    if placement.get("constraints") is not None:
        check_constraints(placement["constraints"], f"{path}.deploy.placement.constraints")
        spec["constraints"] = placement["constraints"]
    try:
        validated = validate_spec(spec)
    except InvalidInput as error:
        raise InvalidInput(f"{path}.{error.field}", error.message) from None
    replicas = deploy.get("replicas", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int) \
            or not 0 <= replicas <= MAX_REPLICAS:
        raise InvalidInput(f"{path}.deploy.replicas", f"a whole number from 0 to {MAX_REPLICAS}")
    labels = _labels(raw.get("labels"), f"{path}.labels")
    try:
        category = check_category(labels.get("wharf.category", "app"))
    except InvalidInput as error:
        raise InvalidInput(f"{path}.labels.wharf.category", error.message) from None
    return ComposeService(
        name=name, spec=validated, replicas=replicas, balanced=tuple(balanced),
        depends_on=_depends_on(raw.get("depends_on"), f"{path}.depends_on"),
        labels=labels, category=category,
        update=_update_config(deploy.get("update_config"), f"{path}.deploy.update_config"))


def _names(raw: Any, path: str) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        return raw
    if isinstance(raw, dict):
        return list(_mapping(raw, path))
    raise InvalidInput(path, "a list of names, or a mapping by name")


def _command(raw: Any, path: str) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            return shlex.split(raw)
        except ValueError as error:
            raise InvalidInput(path, f"cannot be split as a shell would: {error}") from None
    if isinstance(raw, list) and all(isinstance(v, str | int | float) for v in raw):
        return [str(v) for v in raw]
    raise InvalidInput(path, "a string or a list of strings")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError


def _environment(raw: Any, path: str) -> dict[str, str]:
    found: dict[str, str] = {}
    if raw is None:
        return found
    if isinstance(raw, list):
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                raise InvalidInput(f"{path}[{i}]", "NAME=VALUE")
            name, _, value = item.partition("=")
            found[name] = value
        return found
    for name, value in _mapping(raw, path).items():
        try:
            found[name] = _scalar(value)
        except ValueError:
            raise InvalidInput(f"{path}.{name}", "a string, number or boolean") from None
    return found


def _env_files(raw: Any, path: str, contents: Mapping[str, str]) -> dict[str, str]:
    files = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if raw is None:
        return {}
    if files is None:
        raise InvalidInput(path, "a path or a list of paths")
    if len(files) > MAX_ENV_FILES:
        raise InvalidInput(path, f"at most {MAX_ENV_FILES} env files")
    found: dict[str, str] = {}
    read: set[str] = set()
    for i, item in enumerate(files):
        name = item.get("path") if isinstance(item, dict) else item
        if isinstance(name, str) and name in read:
            continue  # (named twice: read once)
        required = item.get("required", True) if isinstance(item, dict) else True
        if not isinstance(name, str):
            raise InvalidInput(f"{path}[{i}]", "a path")
        if name not in contents:
            if not required:
                continue
            raise InvalidInput(f"{path}[{i}]", f"{name} was not sent with the file "
                               "(`wharf app deploy` sends the env files it names)")
        found.update(env_file_variables(contents[name], name))
        read.add(name)
    return found


def _port_number(value: Any, path: str) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise InvalidInput(path, f"{value!r} is not a port (ranges are not supported)") \
            from None
    if not 1 <= port <= 65535:
        raise InvalidInput(path, "a port from 1 to 65535")
    return port


def _ports(raw: Any, expose: Any, path: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Published ports ask for a load-balanced endpoint (TCP: HTTP through Caddy; UDP is
    published per replica); exposed ones are reachable on the application's network."""
    ports: list[dict[str, Any]] = []
    balanced: list[int] = []
    if raw is not None and not isinstance(raw, list):
        raise InvalidInput(f"{path}.ports", "a list")
    for i, item in enumerate(raw or []):
        where = f"{path}.ports[{i}]"
        if isinstance(item, dict):
            _only(item, ("target", "published", "protocol", "host_ip", "mode", "name"), where)
            target = _port_number(item.get("target"), f"{where}.target")
            protocol = str(item.get("protocol", "tcp"))
        elif isinstance(item, str | int):
            text = str(item)
            text, _, protocol = text.partition("/")
            protocol = protocol or "tcp"
            if "-" in text:
                raise InvalidInput(where, "port ranges are not supported")
            target = _port_number(text.rsplit(":", 1)[-1], where)
        else:
            raise InvalidInput(where, 'a port such as "8080", "80:8080" or a mapping')
        if protocol not in ("tcp", "udp"):
            raise InvalidInput(where, "tcp or udp")
        ports.append({"container_port": target, "protocol": protocol})
        if protocol == "tcp":
            balanced.append(target)
    if expose is not None and not isinstance(expose, list):
        raise InvalidInput(f"{path}.expose", "a list")
    for i, item in enumerate(expose or []):
        text, _, protocol = str(item).partition("/")
        port = _port_number(text, f"{path}.expose[{i}]")
        if not any(p["container_port"] == port and p["protocol"] == (protocol or "tcp")
                   for p in ports):
            ports.append({"container_port": port, "protocol": protocol or "tcp",
                          "publish": False})
    return ports, sorted(set(balanced))


def _mounts(raw: Any, path: str, volumes: Mapping[str, str]) -> list[dict[str, Any]]:
    mounts = []
    if raw is not None and not isinstance(raw, list):
        raise InvalidInput(path, "a list")
    for i, item in enumerate(raw or []):
        where = f"{path}[{i}]"
        if isinstance(item, dict):
            _only(item, ("type", "source", "target", "read_only"), where)
            if item.get("type", "volume") != "volume":
                raise InvalidInput(f"{where}.type", "only named volumes (host mounts and "
                                   "tmpfs are not allowed)")
            source, target = item.get("source"), item.get("target")
            read_only = bool(item.get("read_only", False))
        elif isinstance(item, str):
            parts = item.split(":")
            if len(parts) == 1:
                raise InvalidInput(where, "name the volume (anonymous volumes are not kept)")
            source, target = parts[0], parts[1]
            mode = parts[2] if len(parts) > 2 else "rw"
            if mode not in ("ro", "rw") or len(parts) > 3:
                raise InvalidInput(where, "NAME:PATH[:ro|rw]")
            read_only = mode == "ro"
        else:
            raise InvalidInput(where, "NAME:PATH or a mapping")
        if not isinstance(source, str) or source.startswith(("/", ".", "~")):
            raise InvalidInput(where, "host mounts are not allowed; use a named volume")
        if source not in volumes:
            raise InvalidInput(where, f"no volume named {source} in the file's volumes")
        mounts.append({"volume": volumes[source], "path": target, "read_only": read_only})
    return mounts


def _secret_refs(raw: Any, path: str, secrets: Mapping[str, str]) -> list[dict[str, str]]:
    """Each secret is given to the replicas as an environment variable: its target (or
    its name) in upper case."""
    refs = []
    if raw is not None and not isinstance(raw, list):
        raise InvalidInput(path, "a list")
    for i, item in enumerate(raw or []):
        where = f"{path}[{i}]"
        if isinstance(item, dict):
            _only(item, ("source", "target"), where)
            source, target = item.get("source"), item.get("target") or item.get("source")
        else:
            source = target = item
        if not isinstance(source, str) or source not in secrets:
            raise InvalidInput(where, f"no secret named {source} in the file's secrets")
        env = re.sub(r"[^A-Za-z0-9_]", "_", str(target).rsplit("/", 1)[-1]).upper()
        refs.append({"name": secrets[source], "env": env})
    return refs


def _restart(raw: Any, path: str) -> str:
    if raw is None or raw is False:
        return "always"  # a replica that exits is run again (Compose's default is "no")
    text = str(raw)
    if text.startswith("on-failure"):
        return "on-failure"
    if text not in ("no", "always", "unless-stopped"):
        raise InvalidInput(path, "no, always, on-failure or unless-stopped")
    return text


def duration(raw: Any, path: str) -> int:
    """A Compose duration ("1m30s", "10s", 5) in whole seconds (at least 1)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return max(1, raw)
    match = DURATION.fullmatch(str(raw)) if isinstance(raw, str) and raw else None
    if match is None:
        raise InvalidInput(path, "a duration such as 10s, 1m30s or 500ms")
    h, m, s, ms, us = (int(g or 0) for g in match.groups())
    micros = ((h * 60 + m) * 60 + s) * 1_000_000 + ms * 1000 + us
    return max(1, (micros + 999_999) // 1_000_000)  # (whole seconds, rounded up)


def _healthcheck(raw: Any, path: str, warnings: list[str]) -> dict[str, Any] | None:
    if raw is None:
        return None
    check = _mapping(raw, path)
    _only(check, ("test", "interval", "timeout", "retries", "start_period", "start_interval",
                  "disable"), path)
    if check.get("disable"):
        return None
    test = check.get("test")
    if isinstance(test, str):
        command = ["sh", "-c", test]
    elif isinstance(test, list) and test and all(isinstance(t, str) for t in test):
        if test[0] == "NONE":
            return None
        if test[0] == "CMD":
            command = test[1:]
        elif test[0] == "CMD-SHELL":
            command = ["sh", "-c", " ".join(test[1:])]
        else:
            raise InvalidInput(f"{path}.test", 'starts with "CMD", "CMD-SHELL" or "NONE"')
    else:
        raise InvalidInput(f"{path}.test", "a command")
    if "start_interval" in check:
        warnings.append(f"{path}.start_interval is ignored (Docker 20.10 has none)")
    made: dict[str, Any] = {"test": command}
    for key, name in (("interval", "interval_s"), ("timeout", "timeout_s"),
                      ("start_period", "start_period_s")):
        if key in check:
            made[name] = duration(check[key], f"{path}.{key}")
    if "retries" in check:
        made["retries"] = check["retries"]
    return made


def _resources(raw: Any, path: str) -> tuple[int | None, int | None]:
    resources = _mapping(raw, path)
    _only(resources, ("limits",), path)
    limits = _mapping(resources.get("limits"), f"{path}.limits")
    _only(limits, ("cpus", "memory"), f"{path}.limits")
    cpu = memory = None
    if "cpus" in limits:
        try:
            cpus = float(str(limits["cpus"]))
        except ValueError:
            cpus = math.nan
        if not math.isfinite(cpus) or not 0 < cpus <= 64:
            raise InvalidInput(f"{path}.limits.cpus", "a number of CPUs such as 0.5 (at "
                                                      "most 64)")
        cpu = round(cpus * 1000)
    if "memory" in limits:
        match = SIZE.fullmatch(str(limits["memory"]).strip())
        if match is None:
            raise InvalidInput(f"{path}.limits.memory", "a size such as 512M or 1G")
        scale = {"": 1 / 2**20, "b": 1 / 2**20, "k": 1 / 1024, "m": 1, "g": 1024}
        amount = float(match.group(1)) * scale[match.group(2).lower()] \
            if len(match.group(1)) <= 12 else math.inf
        if not math.isfinite(amount) or amount > 262144:
            raise InvalidInput(f"{path}.limits.memory", "at most 256G")
        memory = int(amount)
    return cpu, memory


def _depends_on(raw: Any, path: str) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        return {str(name): "service_started" for name in raw}
    found = {}
    for name, how in _mapping(raw, path).items():
        how = _mapping(how, f"{path}.{name}")
        _only(how, ("condition", "restart", "required"), f"{path}.{name}")
        condition = how.get("condition", "service_started")
        if condition not in CONDITIONS:
            raise InvalidInput(f"{path}.{name}.condition",
                               f"{condition} is not supported ({', '.join(CONDITIONS)})")
        found[name] = condition
    return found


def _labels(raw: Any, path: str) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        found = {k: v for k, _, v in (str(item).partition("=") for item in raw)}
    else:
        found = {}
        for key, value in _mapping(raw, path).items():
            try:
                found[key] = _scalar(value)
            except ValueError:
                raise InvalidInput(f"{path}.{key}", "a string, number or boolean") from None
    if len(found) > MAX_LABELS:
        raise InvalidInput(path, f"at most {MAX_LABELS} labels")
    for key, value in found.items():
        if len(key) > 256 or len(value) > 4096:
            raise InvalidInput(f"{path}.{key[:40]}", "a label is at most 256 characters "
                                                     "and its value 4,096")
    return found


def _update_config(raw: Any, path: str) -> UpdatePolicy:
    config = _mapping(raw, path)
    _only(config, ("parallelism", "delay", "failure_action", "monitor", "order",
                   "max_failure_ratio"), path)
    number: Callable[[str, int], int] = lambda key, default: _whole(  # noqa: E731
        config.get(key, default), f"{path}.{key}")
    action = config.get("failure_action", "rollback")
    if action not in ("rollback", "pause", "continue"):
        raise InvalidInput(f"{path}.failure_action", "rollback, pause or continue")
    order = config.get("order", "start-first")
    if order not in ("start-first", "stop-first"):
        raise InvalidInput(f"{path}.order", "start-first or stop-first")
    parallelism = max(1, number("parallelism", 1))
    monitor = duration(config["monitor"], f"{path}.monitor") if "monitor" in config else 5
    delay = duration(config["delay"], f"{path}.delay") if "delay" in config else 0
    try:  # (the bounds an update policy has, whoever gives it)
        return check_update_policy(parallelism=parallelism, monitor_s=monitor,
                                   failure_action=action, order=order, delay_s=delay)
    except InvalidInput as error:
        key = {"monitor_s": "monitor", "delay_s": "delay"}.get(error.field, error.field)
        raise InvalidInput(f"{path}.{key}", error.message) from None


def _whole(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise InvalidInput(path, "a whole number from 0 to 1000")
    return value

