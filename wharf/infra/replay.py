"""Rebuilding read models from the log: as of a point, into a scratch database, and
verifying that the live read models equal a fresh fold of the log."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

from wharf.commands.application import Wharf
from wharf.infra.store import eventsourcing_env, kind_of, open_read_models, sqlite_path
from wharf.projections.catalog import READ_MODELS, tables
from wharf.projections.runner import Projector
from wharf.projections.views import ReadModelStore


@dataclass
class TableDiff:
    table: str
    live_rows: int
    live_hash: str
    rebuilt_rows: int
    rebuilt_hash: str

    @property
    def same(self) -> bool:
        return (self.live_rows, self.live_hash) == (self.rebuilt_rows, self.rebuilt_hash)


def rebuild(
    app: Wharf,
    target_url: str,
    until: int | None = None,
    until_time: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Folds the log (up to a position or a time) into every read model at `target_url`.

    The target must be a database of the same kind as the source and hold no read models
    yet. Returns the position the rebuilt read models reached.
    """
    view = open_read_models(target_url)
    try:
        if any(view.position(m.name) for m in READ_MODELS):
            raise ValueError(f"{target_url} already holds read models; give an empty target")
        projector = Projector(app, view, batch_size=5000)
        projector.catch_up(until=until, until_time=until_time, progress=progress)
        if until_time is None:
            left = app.recorder.select_notifications(projector.position, 1, stop=until,
                                                     inclusive_of_start=False)
            if left:
                raise RuntimeError(f"replay stopped at {projector.position} before {until}")
        return projector.position
    finally:
        view.datastore.close()  # type: ignore[attr-defined]


def verify(
    app: Wharf, live: ReadModelStore, source_url: str,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, list[TableDiff]]:
    """Reads the live read models in one snapshot, rebuilds every read model up to their
    position in a scratch database of the same kind, and compares table by table.

    Works while a projector is running: the snapshot pins what is compared.
    """
    names = [m.name for m in READ_MODELS]
    positions, live_digests = live.snapshot(names, tables())
    if len(set(positions.values())) != 1:
        raise ValueError(f"read models are at different positions {positions}; "
                         "run the projector until they agree")
    position = min(positions.values())
    with scratch_database(source_url) as scratch_url:
        rebuild(app, scratch_url, until=position, progress=progress)
        rebuilt = open_read_models(scratch_url)
        try:
            _, rebuilt_digests = rebuilt.snapshot(names, tables())
        finally:
            rebuilt.datastore.close()  # type: ignore[attr-defined]
    return position, [
        TableDiff(table, *live_digests[table], *rebuilt_digests[table]) for table, _ in tables()
    ]


@contextlib.contextmanager
def scratch_database(like_url: str) -> Iterator[str]:
    """An empty database of the same kind as `like_url`, dropped afterwards."""
    if kind_of(like_url) == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="wharf-scratch-"))
        path = directory / "scratch.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{path}{suffix}")
            with contextlib.suppress(OSError):
                directory.rmdir()
        return
    name = f"wharf_scratch_{uuid.uuid4().hex[:12]}"
    create_postgres_database(like_url, name)
    try:
        yield with_database(like_url, name)
    finally:
        drop_postgres_database(like_url, name)


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    env = eventsourcing_env(url)
    return psycopg.connect(dbname="postgres", host=env["POSTGRES_HOST"],
                           port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                           password=env["POSTGRES_PASSWORD"], autocommit=True)


def create_postgres_database(url: str, name: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


def drop_postgres_database(url: str, name: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def ensure_target(url: str) -> None:
    """Creates a PostgreSQL target database if it does not exist yet."""
    if kind_of(url) == "sqlite":
        sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
        return
    name = urlparse(url).path.lstrip("/")
    with _admin(url) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if not exists:
        create_postgres_database(url, name)
