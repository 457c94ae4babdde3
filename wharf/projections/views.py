"""Where read models live: the same database as the log, SQLite or PostgreSQL.

A view buffers the rows its projections write for a batch of events and commits them
together with every projection's tracking record in one transaction, so a read model
and its position in the log can never disagree, whatever kills the projector.

Each tracking record only moves from the position the batch was read at (a
compare-and-set), so two projectors racing cannot both apply the same events.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import IntegrityError, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

Statement = tuple[str, Sequence[Any]]
Grouped = list[tuple[str, list[Sequence[Any]]]]
Advance = tuple[str, int, int]  # read model, position it was read at, new position
Digest = tuple[int, str]  # rows, sha256


class ReadModelStore(TrackingRecorder):
    """The part of a view that projections and queries use. SQL is written with `?`."""

    dialect = ""
    tracking_table = "tracking"

    def __init__(self) -> None:
        # Staged statements, per thread: each consumer's thread stages its own batch
        # (one buffer shared by two consumers let one commit, or discard, the other's).
        self._staged = threading.local()

    # -- writing (the projector's thread only) ---------------------------------------

    @property
    def _buffer(self) -> list[Statement]:
        buffer: list[Statement] | None = getattr(self._staged, "buffer", None)
        if buffer is None:
            buffer = self._staged.buffer = []
        return buffer

    def stage(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._buffer.append((sql, tuple(storable(p) for p in params)))

    def take(self) -> Grouped:
        """The staged statements, runs of the same SQL grouped for executemany."""
        batch, self._staged.buffer = self._buffer, []
        return [(sql, [p for _, p in rows]) for sql, rows in
                itertools.groupby(batch, key=lambda s: s[0])]

    def discard(self) -> None:
        self._staged.buffer = []

    def write(self, groups: Grouped, advances: Sequence[Advance]) -> None:
        """Writes rows and moves tracking records, in one transaction."""
        with self._transaction(commit=True) as cursor:
            # Tracking first: a second projector then waits on the tracking rows and finds
            # them moved, instead of deadlocking with us over read-model rows.
            self._advance(cursor, advances)
            for sql, rows in groups:
                if len(rows) == 1:
                    cursor.execute(self._sql(sql), rows[0])
                else:
                    cursor.executemany(self._sql(sql), rows)

    def _advance(self, cursor: Any, advances: Sequence[Advance]) -> None:
        """Moves each read model's tracking record from where the batch was read to where
        it ends; read models that were at the same position move in one statement."""
        moves: dict[tuple[int, int], list[str]] = {}
        for name, previous, position in advances:
            moves.setdefault((previous, position), []).append(name)
        for (previous, position), names in moves.items():
            if previous == 0:  # first records: fail if another projector wrote them
                cursor.executemany(self._sql(
                    f"INSERT INTO {self.tracking_table} "
                    "(application_name, notification_id) VALUES (?, ?)"),
                    [(name, position) for name in names])
                continue
            marks = ", ".join("?" * len(names))
            cursor.execute(self._sql(
                f"UPDATE {self.tracking_table} SET notification_id = ? "
                f"WHERE application_name IN ({marks}) AND notification_id = ? "
                "RETURNING application_name"), (position, *names, previous))
            moved = cursor.fetchall()
            if len(moved) != len(names):
                raise IntegrityError(f"read models {names} are no longer at {previous}")

    def execute(self, groups: Grouped) -> None:
        """Writes to tables that are not read models (metrics): no tracking, one
        transaction. Never for a read model's own tables."""
        with self._transaction(commit=True) as cursor:
            for sql, rows in groups:
                cursor.executemany(self._sql(sql), rows)

    def update(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement on a table that is not a read model (the relay's position), in a
        transaction of its own; how many rows it changed (`sql` ends in RETURNING)."""
        with self._transaction(commit=True, pipeline=False) as cursor:
            cursor.execute(self._sql(sql), params)
            return len(cursor.fetchall())

    def change_schema(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Creates, drops and resets read models' tables: one statement at a time, in one
        transaction (never in pipeline mode, where psycopg loses track of the prepared
        statements that a DDL statement invalidates)."""
        with self._transaction(commit=True, pipeline=False) as cursor:
            for sql, params in statements:
                cursor.execute(self._sql(sql), params)

    # -- reading ---------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._transaction(commit=False) as cursor:
            cursor.execute(self._sql(sql), params)
            return [dict(row) for row in cursor.fetchall()]

    def position(self, name: str) -> int:
        return self.max_tracking_id(name) or 0

    def snapshot(
        self, names: Sequence[str], tables: Sequence[tuple[str, str]]
    ) -> tuple[dict[str, int], dict[str, Digest]]:
        """Positions and table digests read in one consistent snapshot, so a projector
        committing meanwhile cannot make them disagree."""
        with self._transaction(commit=False, snapshot=True) as cursor:
            positions = {}
            for name in names:
                cursor.execute(self._sql(f"SELECT notification_id FROM "
                                         f"{self.tracking_table} WHERE application_name = ?"),
                               (name,))
                row = cursor.fetchone()
                positions[name] = 0 if row is None else int(row["notification_id"])
            digests = {table: _digest(cursor, f"SELECT * FROM {table} ORDER BY {order_by}")
                       for table, order_by in tables}
        return positions, digests

    def _sql(self, sql: str) -> Any:
        return sql

    @contextmanager
    def _transaction(self, *, commit: bool, snapshot: bool = False,
                     pipeline: bool = True) -> Iterator[Any]:
        raise NotImplementedError
        yield


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """Text every store can hold: the command layer refuses NUL and unpaired surrogates,
    but a log written before it did must not stop the read side for every tenant (one
    row PostgreSQL refuses fails the whole batch, again and again). (Checked the cheap
    way first: this runs for every value of every row.)"""
    if type(value) is str and ("\x00" in value or not value.isascii()) \
            and _UNSTORABLE.search(value):
        return _UNSTORABLE.sub("\ufffd", value)
    return value


def _digest(cursor: Any, sql: str) -> Digest:
    """(row count, sha256 of every row in a fixed order), for comparing two stores."""
    digest = hashlib.sha256()
    count = 0
    cursor.execute(sql)
    for row in cursor.fetchall():
        digest.update(repr(tuple(_normal(v) for v in dict(row).values())).encode())
        count += 1
    return count, digest.hexdigest()


def _normal(value: Any) -> Any:
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    return value


class SQLiteReadModels(SQLiteTrackingRecorder, ReadModelStore):
    dialect = "sqlite"

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        SQLiteTrackingRecorder.__init__(self, datastore, **kwargs)
        ReadModelStore.__init__(self)

    @contextmanager
    def _transaction(self, *, commit: bool, snapshot: bool = False,
                     pipeline: bool = True) -> Iterator[Any]:
        # In WAL mode one read transaction is one consistent snapshot already.
        with self.datastore.get_connection(commit=commit) as conn:
            if commit:
                # Read-model indexes are keyed by random ids: a 128 MiB page cache. And
                # durable enough: a read model lost with its tracking record in a power
                # cut is simply projected again; WAL keeps each commit atomic.
                pragmas = conn.cursor()
                pragmas.execute("PRAGMA cache_size = -131072")
                pragmas.execute("PRAGMA synchronous = NORMAL")
            with conn.transaction(commit=commit) as cursor:
                yield cursor


class PostgresReadModels(PostgresTrackingRecorder, ReadModelStore):
    dialect = "postgres"

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        PostgresTrackingRecorder.__init__(self, datastore, **kwargs)
        ReadModelStore.__init__(self)
        self.tracking_table = self.tracking_table_name

    @contextmanager
    def _transaction(self, *, commit: bool, snapshot: bool = False,
                     pipeline: bool = True) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            if snapshot:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            if commit and pipeline:
                # Pipeline mode sends every statement without waiting for the one before.
                with cursor.connection.pipeline():
                    yield cursor
            else:
                yield cursor

    def _sql(self, sql: str) -> Any:
        return sql.replace("?", "%s")
