"""Fixtures shared by every tier: a driven clock, and a fresh store on SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import gc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from wharf.commands.actors import Actor
from wharf.infra.bootstrap import Wiring, build
from wharf.infra.settings import Settings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collects garbage after each test, so that a socket or file a test leaked fails
    that test (the warnings filter makes ResourceWarning an error), not whichever test
    the garbage collector happens to run in later."""
    yield
    gc.collect()


class DrivenClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def create_pg_database() -> str:
    name = f"wharf_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return name


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database of its own, dropped afterwards."""
    name = create_pg_database()
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        drop_pg_database(name)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'wharf.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test, once on each store."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wharf.db'}"
    else:
        with pg_database() as url:
            yield url


@pytest.fixture
def clock() -> DrivenClock:
    return DrivenClock()


def settings_for(url: str, home: Path) -> Settings:
    return Settings.from_env({"WHARF_HOME": str(home), "WHARF_DATABASE_URL": url})


@pytest.fixture
def wiring(store_url: str, tmp_path: Path, clock: DrivenClock) -> Iterator[Wiring]:
    built = build(settings_for(store_url, tmp_path / "home"), clock=clock)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def operator() -> Actor:
    return Actor.operator("test")
