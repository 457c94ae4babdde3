"""Per-tenant data keys, kept in their own table beside the log, never in it, and
wrapped by a key-encryption key (KEK) that does not live in the database.

The KEK is `WHARF_MASTER_KEY` (32 bytes, base64: production, where every Wharf process
of an installation must share it) or else `WHARF_HOME/master.key`, made (mode 0600) on
first start. A copy of the database alone (a backup file, a dump, a stolen disk image of
the store) opens no secret. Each wrapped key records which KEK wrapped it, so a process
started with another KEK refuses to start instead of failing secret by secret. Keys a
Wharf from before wrapping stored raw are wrapped when a process first opens the store.

Destroying a tenant's row is crypto-shredding: every secret it sealed stays in the log
as ciphertext that nothing can open again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg_pool import ConnectionPool

from wharf.infra.store import eventsourcing_env, kind_of, sqlite_path

TABLE = "wharf_data_keys"
KEY_FILE = "master.key"
WRAPPED = b"W1"  # format of a wrapped key: W1 | KEK id (8) | nonce (12) | sealed key (48)
RAW_SIZE = 32

log = logging.getLogger(__name__)


class KeyStoreError(ValueError):
    """The data keys cannot be opened with this process's key-encryption key."""


class KeyEncryptionKey:
    def __init__(self, key: bytes, source: str) -> None:
        if len(key) != 32:
            raise KeyStoreError(f"the key-encryption key from {source} must be 32 bytes "
                            f"(base64), not {len(key)}")
        self._aead = AESGCM(key)
        self.id = hashlib.sha256(b"wharf-kek:" + key).digest()[:8]
        self.source = source

    @classmethod
    def load(cls, home: Path, master_key: str | None) -> KeyEncryptionKey:
        """WHARF_MASTER_KEY when set, else HOME/master.key (made on first use, 0600)."""
        if master_key:
            try:
                return cls(base64.b64decode(master_key, validate=True), "WHARF_MASTER_KEY")
            except binascii.Error:
                raise KeyStoreError("WHARF_MASTER_KEY is not base64") from None
        path = home / KEY_FILE
        home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls(_read_key_file(path), str(path))
        key = os.urandom(32)
        with os.fdopen(fd, "w") as file:
            file.write(base64.b64encode(key).decode() + "\n")
        log.warning("made a new key-encryption key in %s: back it up apart from the "
                    "database; without it no secret can be read", path)
        return cls(key, str(path))

    def wrap(self, tenant_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return WRAPPED + self.id + nonce + self._aead.encrypt(nonce, key, _context(tenant_id))

    def unwrap(self, tenant_id: str, blob: bytes) -> bytes:
        if blob[:2] != WRAPPED:
            raise KeyStoreError(f"the data key of tenant {tenant_id} is not wrapped")
        if blob[2:10] != self.id:
            raise KeyStoreError(self.mismatch(blob[2:10]))
        try:
            return self._aead.decrypt(blob[10:22], blob[22:], _context(tenant_id))
        except InvalidTag:
            raise KeyStoreError(f"the data key of tenant {tenant_id} was altered") from None

    def mismatch(self, other: bytes) -> str:
        return (f"this store's data keys were wrapped with key-encryption key "
                f"{other.hex()}, not with {self.id.hex()} (from {self.source}): start Wharf "
                "with the installation's WHARF_MASTER_KEY or its master.key")


def _context(tenant_id: str) -> bytes:
    return b"wharf-data-key:" + tenant_id.encode()


def _read_key_file(path: Path) -> bytes:
    """The key another process may be writing this very moment."""
    for _ in range(50):
        text = path.read_text().strip()
        if text:
            try:
                return base64.b64decode(text, validate=True)
            except binascii.Error:
                raise KeyStoreError(f"{path} does not hold a base64 key") from None
        time.sleep(0.01)
    raise KeyStoreError(f"{path} is empty")


class DatabaseDataKeys:
    def __init__(self, url: str, kek: KeyEncryptionKey) -> None:
        self.url = url
        self.kek = kek
        self.kind = kind_of(url)
        self._pool: ConnectionPool[Any] | None = None
        if self.kind == "postgres":
            env = eventsourcing_env(url)
            # One small pool: a fresh connection per key failed first when the server
            # was full.
            self._pool = ConnectionPool(
                kwargs={"dbname": env["POSTGRES_DBNAME"], "host": env["POSTGRES_HOST"],
                        "port": env["POSTGRES_PORT"], "user": env["POSTGRES_USER"],
                        "password": env["POSTGRES_PASSWORD"], "autocommit": False,
                        "connect_timeout": 10},
                min_size=0, max_size=2, open=True, timeout=30, name="wharf-data-keys")
        blob = "BLOB" if self.kind == "sqlite" else "BYTEA"
        with self._connect() as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} "
                       f"(tenant_id TEXT PRIMARY KEY, key {blob} NOT NULL)")
        self._migrate()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def _migrate(self) -> None:
        """Wraps keys stored raw (by a Wharf from before wrapping), and refuses a KEK
        other than the one that wrapped the rest."""
        with self._connect() as db:
            rows = [(r[0], bytes(r[1])) for r in db.fetchall(f"SELECT tenant_id, key FROM "
                                                              f"{TABLE}")]
            raw = [(tenant, key) for tenant, key in rows if len(key) == RAW_SIZE]
            for _, key in rows:
                if key[:2] == WRAPPED and key[2:10] != self.kek.id:
                    raise KeyStoreError(self.kek.mismatch(key[2:10]))
            for tenant, key in raw:
                db.execute(f"UPDATE {TABLE} SET key = ? WHERE tenant_id = ?",
                           (self.kek.wrap(tenant, key), tenant))
        if raw:
            log.warning("wrapped %d data keys stored raw with the key-encryption key from "
                        "%s", len(raw), self.kek.source)

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        if self._pool is None:
            connection = sqlite3.connect(sqlite_path(self.url), timeout=30)
            with closing(connection) as lite, lite:
                yield _QMarks(lite)
        else:
            with self._pool.connection() as pg:
                yield _Percent(pg)

    def create(self, tenant_id: UUID) -> None:
        tenant = str(tenant_id)
        with self._connect() as db:
            db.execute(f"INSERT INTO {TABLE} VALUES (?, ?) ON CONFLICT (tenant_id) DO NOTHING",
                       (tenant, self.kek.wrap(tenant, os.urandom(RAW_SIZE))))

    def get(self, tenant_id: UUID) -> bytes | None:
        tenant = str(tenant_id)
        with self._connect() as db:
            row = db.fetchone(f"SELECT key FROM {TABLE} WHERE tenant_id = ?", (tenant,))
        if row is None:
            return None
        blob = bytes(row[0])
        if len(blob) == RAW_SIZE:  # written raw by an older process since we migrated
            return blob
        return self.kek.unwrap(tenant, blob)

    def destroy(self, tenant_id: UUID) -> None:
        with self._connect() as db:
            db.execute(f"DELETE FROM {TABLE} WHERE tenant_id = ?", (str(tenant_id),))

    def export(self) -> list[tuple[str, bytes]]:
        """Every tenant's key, unwrapped (for `store copy`, which wraps them again)."""
        with self._connect() as db:
            rows = [(r[0], bytes(r[1])) for r in db.fetchall(f"SELECT tenant_id, key FROM "
                                                              f"{TABLE}")]
        return [(tenant, key if len(key) == RAW_SIZE else self.kek.unwrap(tenant, key))
                for tenant, key in rows]

    def import_(self, rows: list[tuple[str, bytes]]) -> None:
        with self._connect() as db:
            for tenant_id, key in rows:
                db.execute(f"INSERT INTO {TABLE} VALUES (?, ?) ON CONFLICT (tenant_id) "
                           "DO NOTHING", (tenant_id, self.kek.wrap(tenant_id, key)))


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
    def __init__(self, conn: Any) -> None:
        self.pg = conn

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.pg.execute(sql.replace("?", "%s"), params)

    def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.pg.execute(sql.replace("?", "%s"), params).fetchone()

    def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        rows: list[Any] = self.pg.execute(sql.replace("?", "%s"), params).fetchall()
        return rows
