"""Settings: read once from the environment into a frozen object and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    listen: str
    dev: bool
    docker_hosts: tuple[str, ...]
    apps_domain: str
    kafka_bootstrap: str | None
    timezone: str
    rate_limit: float  # API requests a second per token and per member; 0: no limit
    placement: str = "spread"  # or "binpack"
    scheduler_interval: float = 5.0  # seconds between full passes when nothing wakes it
    host_grace: float = 30.0  # seconds a host's engine may stay silent before it is lost
    metrics_every: float = 15.0  # seconds between samples of every running container
    disk_grace: float = 600.0  # seconds a container may stay over its disk limit
    disk_every: float = 60.0  # seconds between measurements of disk use (docker system df)
    scheduler: bool = True  # off: `wharf up` runs no scheduler (the API and projector only)
    trusted_proxies: tuple[str, ...] = ()  # addresses whose X-Forwarded-For is believed
    max_body: int = 1 << 20  # bytes in one request body (413 beyond)
    read_timeout: float = 10.0  # seconds a client may take to send a request's head or body
    ws_per_member: int = 10  # open WebSockets per member (per address: four times as many)
    subscriptions_per_member: int = 50  # live subscriptions per member (per address: 4x)
    db_pool: int = 10  # database connections each store (log, read side) may open at most
    master_key: str | None = None  # base64 key-encryption key (else WHARF_HOME/master.key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("WHARF_HOME", "./var")).resolve()
        return cls(
            home=home,
            database_url=env.get("WHARF_DATABASE_URL") or f"sqlite:///{home / 'wharf.db'}",
            listen=env.get("WHARF_LISTEN", "127.0.0.1:8080"),
            dev=env.get("WHARF_DEV", "").lower() in ("1", "true", "yes", "on"),
            docker_hosts=tuple(h for h in env.get("WHARF_DOCKER_HOSTS", "").split(",") if h),
            apps_domain=env.get("WHARF_APPS_DOMAIN", "apps.localhost"),
            kafka_bootstrap=env.get("WHARF_KAFKA_BOOTSTRAP") or None,
            timezone=env.get("WHARF_TIMEZONE", "UTC"),
            rate_limit=float(env.get("WHARF_RATE_LIMIT", "50")),
            placement=env.get("WHARF_PLACEMENT", "spread"),
            scheduler_interval=float(env.get("WHARF_SCHEDULER_INTERVAL", "5")),
            host_grace=float(env.get("WHARF_HOST_GRACE", "30")),
            metrics_every=float(env.get("WHARF_METRICS_EVERY", "15")),
            disk_grace=float(env.get("WHARF_DISK_GRACE", "600")),
            disk_every=float(env.get("WHARF_DISK_EVERY", "60")),
            scheduler=env.get("WHARF_SCHEDULER", "on").lower() not in ("0", "off", "no",
                                                                         "false"),
            trusted_proxies=tuple(a.strip() for a in
                                  env.get("WHARF_TRUSTED_PROXIES", "").split(",") if a.strip()),
            max_body=int(env.get("WHARF_MAX_BODY", str(1 << 20))),
            read_timeout=float(env.get("WHARF_READ_TIMEOUT", "10")),
            ws_per_member=int(env.get("WHARF_WS_PER_MEMBER", "10")),
            subscriptions_per_member=int(env.get("WHARF_SUBSCRIPTIONS_PER_MEMBER", "50")),
            db_pool=int(env.get("WHARF_DB_POOL", "10")),
            master_key=env.get("WHARF_MASTER_KEY") or None,
        )
