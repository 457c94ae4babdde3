"""The event store and the read-model store, from a database URL.

`sqlite:///path/to/wharf.db` (the embedded default) or `postgresql://user@host:port/db`.
Both use eventsourcing's own persistence modules; nothing here writes event tables.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

import psycopg
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    InternalError,
    OperationalError,
)
from eventsourcing.utils import Environment

from wharf.projections.views import PostgresReadModels, ReadModelStore, SQLiteReadModels

T = TypeVar("T")
log = logging.getLogger(__name__)


class StoreURLError(ValueError):
    pass


class StoreUnavailable(ValueError):
    """The database refused a connection: said at once, naming the cause, instead of
    waiting on a pool that can never fill."""


CONNECT_TIMEOUT = 5  # seconds to connect, and to wait for a pooled connection


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
    """The environment eventsourcing's persistence modules read, for `url`.

    A PostgreSQL pool opens one connection at start and grows to `pool_size` under load
    (psycopg_pool closes what stays idle for ten minutes), so an idle process holds a
    few connections and a busy one at most its pools' sizes (WHARF_DB_POOL)."""
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
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_MAX_OVERFLOW": str(max(pool_size - 1, 0)),
        "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "POSTGRES_LOCK_TIMEOUT": "30",
    }


def probe(url: str) -> None:
    """Connects once, to fail fast with the server's own reason (a full server, a wrong
    database) before any pool starts waiting for connections that will not come."""
    if kind_of(url) != "postgres":
        return
    env = eventsourcing_env(url)
    where = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
    try:
        psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                        port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                        password=env["POSTGRES_PASSWORD"],
                        connect_timeout=CONNECT_TIMEOUT).close()
    except psycopg.OperationalError as error:
        reason = " ".join(str(error).split()) or repr(error)
        if "FATAL:" in reason:  # the server's own words, without libpq's preamble
            reason = reason[reason.index("FATAL:"):]
        hint = ""
        if "too many" in reason:
            hint = (" PostgreSQL's max_connections is shared by every process on the server; "
                    "each Wharf process opens at most twice WHARF_DB_POOL (its log and its "
                    "read side) and three more: lower WHARF_DB_POOL or raise "
                    "max_connections.")
        raise StoreUnavailable(f"PostgreSQL at {where} refused a connection: {reason}."
                               f"{hint}") from None


def with_schema_retry(make: Callable[[], T]) -> T:
    """Runs `make`, retrying when another process creates the same tables at that moment.

    Both persistence modules run CREATE TABLE IF NOT EXISTS on start; on PostgreSQL two
    processes doing so at once can fail with "tuple concurrently updated".
    """
    for attempt in range(10):
        try:
            return make()
        except (InternalError, IntegrityError, OperationalError, psycopg.DatabaseError):
            if attempt == 9:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def open_read_models(url: str, pool_size: int = 10) -> ReadModelStore:
    env = Environment("READMODELS", eventsourcing_env(url, pool_size))
    view_class = SQLiteReadModels if kind_of(url) == "sqlite" else PostgresReadModels

    def make() -> ReadModelStore:
        factory = InfrastructureFactory.construct(env)
        view: ReadModelStore = factory.tracking_recorder(view_class)  # type: ignore[arg-type,type-var,assignment]
        return view

    view = with_schema_retry(make)
    rebuilt = ensure_read_schema(view)
    if rebuilt:
        log.warning("read models %s changed shape since this store was made: rebuilding "
                    "them from the log", ", ".join(rebuilt))
    return view


SCHEMA_TABLE = "wharf_read_schema"


def ensure_read_schema(view: ReadModelStore) -> list[str]:
    """Creates the read models' tables. Each read model whose table definitions changed
    since its tables were made (a Wharf upgrade) is dropped first, with its tracking
    record, so that the projector rebuilds it from the log. Returns their names.

    (The recorder itself creates only its tracking table: an index of the new shape
    cannot be created on a table of the old one.)"""
    from wharf.projections.catalog import READ_MODELS

    view.change_schema([(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (name TEXT PRIMARY KEY, "
                         "digest TEXT NOT NULL)", ())])
    known = {r["name"]: r["digest"] for r in view.query(f"SELECT name, digest FROM "
                                                         f"{SCHEMA_TABLE}")}
    rebuilt = []
    for model in READ_MODELS:
        versioned = (f"version {model.version}",) if model.version > 1 else ()
        digest = hashlib.sha256("\n".join((*model.schema, *versioned))
                                .encode()).hexdigest()[:16]
        creates: list[tuple[str, tuple[Any, ...]]] = [(sql, ()) for sql in model.schema]
        if known.get(model.name) == digest:
            view.change_schema(creates)  # (IF NOT EXISTS: a table dropped by hand comes back)
            continue
        # No digest yet: a store from before digests, with its tables of the old shape
        # if the model has projected anything.
        stale = model.name in known or view.position(model.name) > 0
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if stale:
            rebuilt.append(model.name)
            statements += [(f"DROP TABLE IF EXISTS {table}", ()) for table, _ in model.tables]
            statements.append((f"DELETE FROM {view.tracking_table} WHERE application_name = ?",
                               (model.name,)))
        statements += creates
        statements.append((f"DELETE FROM {SCHEMA_TABLE} WHERE name = ?", (model.name,)))
        statements.append((f"INSERT INTO {SCHEMA_TABLE} (name, digest) VALUES (?, ?)",
                           (model.name, digest)))
        view.change_schema(statements)
    return rebuilt
