"""Settings: read once from the environment into a frozen object and passed down.

Each field names its environment variable and says what it does; `wharf --help` lists
them from here (`described()`), so the help cannot forget one.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wharf.domain.errors import InvalidInput
from wharf.domain.host import check_endpoint

ON = ("1", "true", "yes", "on")
OFF = ("0", "false", "no", "off")


def _setting(env: str, default: Any, help: str, shown: str | None = None,
             choices: tuple[str, ...] = (), within: tuple[float, float] | None = None,
             check: Callable[[str], Any] | None = None) -> Any:
    """A setting: its variable, what it does, and what values it takes (`within`: the
    bounds of a number; `check`: a parser that says what is wrong with a value)."""
    return field(default=default,
                 metadata={"env": env, "help": help, "shown": shown, "choices": choices,
                           "within": within, "check": check})


def _address(raw: str) -> str:
    _, colon, port = raw.rpartition(":")
    if not colon or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError("HOST:PORT, with a port from 0 to 65535")
    return raw


def _loopback(raw: str) -> str:
    host, _, _ = _address(raw).rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        raise ValueError("127.0.0.1:PORT (Caddy's admin API stays on loopback)")
    return raw


def _registry_address(raw: str) -> str:
    if raw.lower() in OFF:
        return ""
    host, _, port = _address(raw).rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not 1 <= int(port) <= 65535:
        raise ValueError("127.0.0.1:PORT (Docker trusts a registry without TLS on "
                         "loopback only), or off")
    return raw


def _remote_registry(raw: str) -> str:
    if raw.lower() in OFF:
        return ""
    host, _, port = _address(raw).rpartition(":")
    if host in ("127.0.0.1", "localhost", "0.0.0.0") or not 1 <= int(port) <= 65535:
        raise ValueError("the ADDRESS:PORT hosts elsewhere reach this machine at (not "
                         "loopback, not 0.0.0.0), or off")
    return raw


def _brokers(raw: str) -> str:
    """HOST:PORT[,HOST:PORT...] of a Kafka cluster (an IPv6 host in brackets)."""
    servers = [server.strip() for server in raw.split(",") if server.strip()]
    for server in servers:
        host, _, port = _address(server).rpartition(":")
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        unbracketed_v6 = ":" in bare and bare == host
        if not bare or any(c.isspace() for c in bare) or unbracketed_v6 \
                or not 1 <= int(port) <= 65535:
            raise ValueError("HOST:PORT[,HOST:PORT...], a host name or address and a port "
                             "from 1 to 65535 (an IPv6 address in brackets)")
    return ",".join(servers)


def _domain_name(raw: str) -> str:
    name = raw.strip().lower().strip(".")
    labels = name.split(".")
    if not all(label and len(label) <= 63 and label.replace("-", "").isalnum()
               and label.isascii() for label in labels):
        raise ValueError("a domain name such as apps.example.com")
    return name


def _timezone(raw: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("an IANA time zone such as UTC or Asia/Shanghai") from None
    return raw.strip()


def _networks(raw: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in raw.split(",") if part.strip())
    for part in parts:
        try:
            ipaddress.ip_network(part)  # (strict, as uvicorn reads it: 10.0.0.0/8, not 10.0.0.1/8)
        except ValueError:
            raise ValueError(f"addresses or networks (such as 10.0.0.1 or 10.0.0.0/8); "
                             f"{part!r} is neither") from None
    return parts


def _endpoints(raw: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in raw.split(",") if part.strip())
    for part in parts:
        scheme, sep, rest = part.partition("://")
        if not sep or scheme not in ("unix", "tcp") or not rest:
            raise ValueError(f"engine endpoints such as unix:///var/run/docker.sock or "
                             f"tcp://127.0.0.1:2375; {part!r} is not one")
        try:
            check_endpoint(part)
        except InvalidInput as error:
            raise ValueError(f"{part!r}: {error.message} (hosts elsewhere join with "
                             "`wharf host join`)") from None
    return parts


def _database(raw: str) -> str:
    if not (raw.startswith("sqlite:///") or raw.startswith(("postgresql://", "postgres://"))):
        raise ValueError("sqlite:///FILE or postgresql://USER@HOST:PORT/DB")
    return raw


DAY = 86400.0


@dataclass(frozen=True)
class Settings:
    home: Path = _setting("WHARF_HOME", Path("./var"), "data directory", shown="./var")
    database_url: str = _setting(
        "WHARF_DATABASE_URL", "", "sqlite:///FILE or postgresql://...",
        shown="sqlite:///WHARF_HOME/wharf.db", check=_database)
    listen: str = _setting("WHARF_LISTEN", "127.0.0.1:8080", "the API's address", check=_address)
    dev: bool = _setting("WHARF_DEV", False, "on: GraphiQL and introspection")
    docker_hosts: tuple[str, ...] = _setting(
        "WHARF_DOCKER_HOSTS", (), "engines `wharf up` registers, comma-separated",
        shown="unix:///var/run/docker.sock", check=_endpoints)
    rate_limit: float = _setting("WHARF_RATE_LIMIT", 50.0,
                                 "API requests a second per token and per member; 0: none",
                                 within=(0, 1e6))
    placement: str = _setting("WHARF_PLACEMENT", "spread", "spread or binpack",
                              choices=("spread", "binpack"))
    runtime: str = _setting(
        "WHARF_RUNTIME", "direct", "direct (Wharf places containers on each host's engine) "
        "or swarm (a Docker Swarm cluster runs them; see WHARF_SWARM_MANAGER)",
        choices=("direct", "swarm"))
    swarm_manager: str = _setting(
        "WHARF_SWARM_MANAGER", "", "with WHARF_RUNTIME=swarm: the registered host (name or "
        "id) that is the cluster's manager", shown="unset")
    scheduler_interval: float = _setting(
        "WHARF_SCHEDULER_INTERVAL", 5.0,
        "seconds between the scheduler's full passes when nothing wakes it", within=(0.1, 3600))
    host_grace: float = _setting(
        "WHARF_HOST_GRACE", 30.0, "seconds a silent engine has before its host is lost",
        within=(1, DAY))
    metrics_every: float = _setting("WHARF_METRICS_EVERY", 15.0,
                                    "seconds between samples of every running container",
                                    within=(1, DAY))
    autoscale_every: float = _setting(
        "WHARF_AUTOSCALE_EVERY", 15.0,
        "seconds between evaluations of services' autoscale policies", within=(1, 3600))
    disk_grace: float = _setting("WHARF_DISK_GRACE", 600.0,
                                 "seconds a container may stay over its disk limit",
                                 within=(0, 30 * DAY))
    disk_every: float = _setting("WHARF_DISK_EVERY", 60.0,
                                 "seconds between measurements of disk use", within=(1, DAY))
    scheduler: bool = _setting("WHARF_SCHEDULER", True,
                               "off: `wharf up` runs no scheduler and no timers (API only)")
    trusted_proxies: tuple[str, ...] = _setting(
        "WHARF_TRUSTED_PROXIES", (),
        "addresses whose X-Forwarded-For is believed, comma-separated", shown="none",
        check=_networks)
    max_body: int = _setting("WHARF_MAX_BODY", 1 << 20, "bytes in one request body",
                            within=(1024, 1 << 30))
    read_timeout: float = _setting(
        "WHARF_READ_TIMEOUT", 10.0, "seconds a client may take to send a request",
        within=(0.1, 3600))
    ws_per_member: int = _setting(
        "WHARF_WS_PER_MEMBER", 10, "open WebSockets per member (per address: 4x)",
        within=(1, 100_000))
    subscriptions_per_member: int = _setting(
        "WHARF_SUBSCRIPTIONS_PER_MEMBER", 50, "live subscriptions per member (per address: 4x)",
        within=(1, 100_000))
    db_pool: int = _setting("WHARF_DB_POOL", 10,
                            "connections each store (log, read side) may open at most",
                            within=(2, 1000))
    master_key: str | None = _setting(
        "WHARF_MASTER_KEY", None, "base64 key-encryption key of the secrets",
        shown="WHARF_HOME/master.key")
    ingress: bool = _setting("WHARF_INGRESS", True,
                             "on: Wharf runs Caddy and balances services' HTTP ports")
    caddy_admin: str = _setting("WHARF_CADDY_ADMIN", "", "Caddy's admin API (loopback)",
                                shown="a free loopback port", check=_loopback)
    http_port: int = _setting("WHARF_HTTP_PORT", 0,
                              "the ingress's HTTP port on loopback (applications' domains)",
                              shown="a free port", within=(0, 65535))
    https_port: int = _setting("WHARF_HTTPS_PORT", 0,
                               "the ingress's HTTPS port on loopback (Caddy's own CA)",
                               shown="a free port", within=(0, 65535))
    apps_domain: str = _setting("WHARF_APPS_DOMAIN", "apps.localhost",
                                "platform subdomains: <app>.<tenant>.<domain>",
                                check=_domain_name)
    timezone: str = _setting("WHARF_TIMEZONE", "UTC",
                             "day and month boundaries of bills", check=_timezone)
    registry: str = _setting(
        "WHARF_REGISTRY", "127.0.0.1:5000", "the image registry Wharf runs (loopback "
        "HOST:PORT; images named under it are checked per tenant; off: none)",
        check=_registry_address)
    registry_remote: str = _setting(
        "WHARF_REGISTRY_REMOTE", "", "where hosts elsewhere pull from Wharf's registry, "
        "over TLS from Wharf's registry CA (ADDRESS:PORT of this machine)",
        shown="off: engines on this machine only", check=_remote_registry)
    build_private_git: bool = _setting(
        "WHARF_BUILD_PRIVATE_GIT", False, "on: builds may clone from loopback and private "
        "addresses (the platform's own network)")
    kafka_bootstrap: str = _setting(
        "WHARF_KAFKA_BOOTSTRAP", "", "Kafka brokers (HOST:PORT,...): `wharf up` relays the log "
        "to them", shown="unset: no relay", check=_brokers)
    url: str = _setting("WHARF_URL", "", "the API `wharf logs` talks to",
                        shown="http://WHARF_LISTEN")
    token: str | None = _setting("WHARF_TOKEN", None, "the token `wharf logs` sends",
                                 shown="the operator token in WHARF_HOME")

    def __repr__(self) -> str:  # (no secret in a log or a traceback)
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for secret in ("master_key", "token"):
            if shown[secret] is not None:
                shown[secret] = "***"
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives; ValueError naming a bad one."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for setting in dataclasses.fields(cls):
            raw = env.get(setting.metadata["env"], "")
            if raw != "":
                values[setting.name] = _parse(setting, raw)
        settings = cls(**values)
        home = settings.home.resolve()
        return dataclasses.replace(
            settings, home=home,
            database_url=settings.database_url or f"sqlite:///{home / 'wharf.db'}",
            url=settings.url or f"http://{settings.listen}")

    @classmethod
    def described(cls) -> list[tuple[str, str]]:
        """(variable, what it does and its default) for each setting, for `--help`."""
        lines = []
        for setting in dataclasses.fields(cls):
            default = setting.metadata["shown"] or _shown(setting.default)
            lines.append((setting.metadata["env"],
                          f"{setting.metadata['help']} (default {default})"))
        return lines


def _parse(setting: dataclasses.Field[Any], raw: str) -> Any:
    name, kind = setting.metadata["env"], str(setting.type)
    try:
        if kind == "Path":
            return Path(raw)
        if kind == "bool":
            if raw.lower() in ON:
                return True
            if raw.lower() in OFF:
                return False
            raise ValueError("on or off (1/0, true/false, yes/no)")
        if setting.metadata["check"] is not None:
            return setting.metadata["check"](raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if kind in ("int", "float"):
            return _number(raw, int if kind == "int" else float, setting.metadata["within"])
        if setting.metadata["choices"] and raw not in setting.metadata["choices"]:
            raise ValueError(" or ".join(setting.metadata["choices"]))
        return raw
    except ValueError as error:
        raise ValueError(f"{name}={raw!r}: must be {error}") from None


def _number(raw: str, kind: type[int] | type[float],
            within: tuple[float, float] | None) -> int | float:
    low, high = within or (0, math.inf)
    what = "a whole number" if kind is int else "a number"
    bounds = f"{what} of {_shown(low)} or more" if high == math.inf else \
        f"{what} from {_shown(low)} to {_shown(high)}"
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(bounds) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(bounds)
    return value


def _shown(default: Any) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)
