"""The event store and the read-model store, from a database URL.

`sqlite:///path/to/wharf.db` (the embedded default) or `postgresql://user@host:port/db`.
Both use eventsourcing's own persistence modules; nothing here writes event tables.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from wharf.projections.views import PostgresReadModels, ReadModelStore, SQLiteReadModels


class StoreURLError(ValueError):
    pass


def kind_of(url: str) -> str:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    raise StoreURLError(f"unsupported database URL {url!r}: use sqlite:///FILE or "
                        "postgresql://USER@HOST:PORT/DB")


def sqlite_path(url: str) -> Path:
    parsed = urlparse(url)
    return Path(unquote(parsed.netloc + parsed.path))


def eventsourcing_env(url: str, pool_size: int = 10) -> dict[str, str]:
    """The environment eventsourcing's persistence modules read, for `url`."""
    if kind_of(url) == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    parsed = urlparse(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parsed.path.lstrip("/") or "wharf",
        "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": unquote(parsed.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parsed.password or "postgres"),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "30",
        "POSTGRES_LOCK_TIMEOUT": "30",
    }


def open_read_models(url: str) -> ReadModelStore:
    env = Environment("READMODELS", eventsourcing_env(url))
    factory = InfrastructureFactory.construct(env)
    view_class = SQLiteReadModels if kind_of(url) == "sqlite" else PostgresReadModels
    view: ReadModelStore = factory.tracking_recorder(view_class)  # type: ignore[arg-type,type-var,assignment]
    return view
