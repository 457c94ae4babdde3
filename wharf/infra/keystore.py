"""Per-tenant data keys, kept in their own table beside the log, never in it.

Destroying a tenant's row is crypto-shredding: every secret it sealed stays in the log
as ciphertext that nothing can open again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any
from uuid import UUID

import psycopg

from wharf.infra.store import eventsourcing_env, kind_of, sqlite_path

TABLE = "wharf_data_keys"


class DatabaseDataKeys:
    def __init__(self, url: str) -> None:
        self.url = url
        self.kind = kind_of(url)
        blob = "BLOB" if self.kind == "sqlite" else "BYTEA"
        with self._connect() as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} "
                       f"(tenant_id TEXT PRIMARY KEY, key {blob} NOT NULL)")

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        if self.kind == "sqlite":
            connection = sqlite3.connect(sqlite_path(self.url), timeout=30)
            with closing(connection) as lite, lite:
                yield _QMarks(lite)
        else:
            env = eventsourcing_env(self.url)
            with psycopg.connect(
                dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                password=env["POSTGRES_PASSWORD"], autocommit=False,
            ) as pg:
                yield _Percent(pg)

    def create(self, tenant_id: UUID) -> None:
        with self._connect() as db:
            db.execute(f"INSERT INTO {TABLE} VALUES (?, ?) ON CONFLICT (tenant_id) DO NOTHING",
                       (str(tenant_id), os.urandom(32)))

    def get(self, tenant_id: UUID) -> bytes | None:
        with self._connect() as db:
            row = db.fetchone(f"SELECT key FROM {TABLE} WHERE tenant_id = ?", (str(tenant_id),))
        return None if row is None else bytes(row[0])

    def destroy(self, tenant_id: UUID) -> None:
        with self._connect() as db:
            db.execute(f"DELETE FROM {TABLE} WHERE tenant_id = ?", (str(tenant_id),))

    def export(self) -> list[tuple[str, bytes]]:
        with self._connect() as db:
            return [(r[0], bytes(r[1])) for r in db.fetchall(f"SELECT tenant_id, key FROM {TABLE}")]

    def import_(self, rows: list[tuple[str, bytes]]) -> None:
        with self._connect() as db:
            for tenant_id, key in rows:
                db.execute(f"INSERT INTO {TABLE} VALUES (?, ?) ON CONFLICT (tenant_id) "
                           "DO NOTHING", (tenant_id, key))


class _QMarks:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.conn.execute(sql, params)

    def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()

    def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self.conn.execute(sql, params).fetchall()


class _Percent(_QMarks):
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.pg = conn

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.pg.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]

    def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.pg.execute(sql.replace("?", "%s"), params).fetchone()  # type: ignore[arg-type]

    def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self.pg.execute(sql.replace("?", "%s"), params).fetchall()  # type: ignore[arg-type]
