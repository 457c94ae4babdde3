"""Where read models live: the same database as the log, SQLite or PostgreSQL.

A view buffers the rows its projections write for a batch of events and commits them
together with every projection's tracking record in one transaction, so a read model
and its position in the log can never disagree, whatever kills the projector.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL

Statement = tuple[str, Sequence[Any]]
Grouped = list[tuple[str, list[Sequence[Any]]]]


class ReadModelStore(TrackingRecorder):
    """The part of a view that projections and queries use. SQL is written with `?`."""

    dialect = ""

    def __init__(self) -> None:
        self._buffer: list[Statement] = []

    # -- writing (the projector's thread only) ---------------------------------------

    def stage(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._buffer.append((sql, params))

    def take(self) -> Grouped:
        """The staged statements, runs of the same SQL grouped for executemany."""
        batch, self._buffer = self._buffer, []
        return [(sql, [p for _, p in rows]) for sql, rows in
                itertools.groupby(batch, key=lambda s: s[0])]

    def discard(self) -> None:
        self._buffer = []

    def write(self, groups: Grouped, trackings: Sequence[Tracking]) -> None:
        """Writes rows and tracking records in one transaction."""
        raise NotImplementedError

    # -- reading ---------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def table_digest(self, table: str, order_by: str) -> tuple[int, str]:
        """(row count, sha256 of every row in a fixed order), for comparing two stores."""
        digest = hashlib.sha256()
        count = 0
        for row in self.query(f"SELECT * FROM {table} ORDER BY {order_by}"):
            digest.update(repr(tuple(_normal(v) for v in row.values())).encode())
            count += 1
        return count, digest.hexdigest()

    def position(self, name: str) -> int:
        return self.max_tracking_id(name) or 0


def _normal(value: Any) -> Any:
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    return value


class SQLiteReadModels(SQLiteTrackingRecorder, ReadModelStore):
    dialect = "sqlite"

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        SQLiteTrackingRecorder.__init__(self, datastore, **kwargs)
        ReadModelStore.__init__(self)

    def construct_create_table_statements(self) -> list[str]:
        from wharf.projections.catalog import ddl

        return [*super().construct_create_table_statements(), *ddl()]

    def write(self, groups: Grouped, trackings: Sequence[Tracking]) -> None:
        with self.datastore.get_connection(commit=True) as conn:
            # Read-model indexes are keyed by random ids: give inserts a 128 MiB page cache.
            # Durable enough: a read model lost with its tracking record in a power cut is
            # simply projected again, and WAL keeps each commit atomic.
            pragmas = conn.cursor()
            pragmas.execute("PRAGMA cache_size = -131072")
            pragmas.execute("PRAGMA synchronous = NORMAL")
            with conn.transaction(commit=True) as c:
                for sql, rows in groups:
                    if len(rows) == 1:
                        c.execute(sql, rows[0])
                    else:
                        c.executemany(sql, rows)
                for tracking in trackings:
                    self._insert_tracking(c, tracking)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            return [dict(row) for row in c.fetchall()]


class PostgresReadModels(PostgresTrackingRecorder, ReadModelStore):
    dialect = "postgres"

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        PostgresTrackingRecorder.__init__(self, datastore, **kwargs)
        ReadModelStore.__init__(self)
        from wharf.projections.catalog import ddl

        self.sql_create_statements.extend(SQL(statement) for statement in ddl())  # type: ignore[arg-type,misc]

    def write(self, groups: Grouped, trackings: Sequence[Tracking]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            # Pipeline mode sends every statement without waiting for the one before.
            with curs.connection.pipeline():
                for sql, rows in groups:
                    if len(rows) == 1:
                        curs.execute(_pg(sql), rows[0])
                    else:
                        curs.executemany(_pg(sql), rows)
            for tracking in trackings:
                self._insert_tracking(curs, tracking)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(_pg(sql), params)  # type: ignore[arg-type,misc]
            return [dict(row) for row in curs.fetchall()]


def _pg(sql: str) -> Any:
    return sql.replace("?", "%s")
