"""PostgreSQL connections: a process holds what it needs (WHARF_DB_POOL caps it), and a
server that refuses connections is reported at once, naming the cause."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_ADMIN, pg_database
from tests.integration.helpers import running_wharf, wharf
from wharf.projections.catalog import CONSUMERS

pytestmark = pytest.mark.postgres


def connections_to(database: str) -> int:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                           (database,)).fetchone()
    assert row is not None
    return int(row[0])


def test_wharf_up_holds_few_connections_and_never_more_than_its_pools(
    tmp_path: Path,
) -> None:
    with pg_database() as url:
        database = url.rsplit("/", 1)[1]
        with running_wharf(url, tmp_path / "home", WHARF_DB_POOL="3",
                           WHARF_RATE_LIMIT="0") as up:
            idle = connections_to(database)
            request = urllib.request.Request(
                f"{up.url}/graphql", data=json.dumps({"query": "{ plans { name } }"}).encode(),
                headers={"Content-Type": "application/json",
                         "Authorization": f"Bearer {up.token}"})
            peak = 0

            def ask() -> None:
                for _ in range(10):
                    with urllib.request.urlopen(request, timeout=30) as response:
                        assert response.status == 200

            askers = [threading.Thread(target=ask) for _ in range(16)]
            for asker in askers:
                asker.start()
            while any(a.is_alive() for a in askers):
                peak = max(peak, connections_to(database))
                time.sleep(0.02)  # sampling pg_stat_activity while the load runs
            for asker in askers:
                asker.join()
    # Idle: what the consumers catching up at once opened (one connection to the log and
    # one to the read side each; a pool keeps them for ten minutes), the leader lock's,
    # and the data keys' pool (two). Not the pools' sizes: a quiet process holds what its
    # consumers need, whatever WHARF_DB_POOL says.
    assert idle <= 2 * len(CONSUMERS) + 3, idle
    # Busy: two pools of three, and the rest.
    assert peak <= 2 * 3 + 3, peak


def test_a_server_that_refuses_connections_is_reported_at_once(tmp_path: Path) -> None:
    """A role allowed one connection, which somebody holds (superusers are exempt from
    connection limits, so the store belongs to a role of its own)."""
    role = f"wharf_limited_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')  # type: ignore[arg-type]
    try:
        with pg_database() as admin_url:
            database = admin_url.rsplit("/", 1)[1]
            url = f"postgresql://{role}@127.0.0.1:5432/{database}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{database}" OWNER TO "{role}"')  # type: ignore[arg-type]
            wharf(url, tmp_path, "plan", "list")  # the store exists
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT 1')  # type: ignore[arg-type]
            with psycopg.connect(url):  # and someone holds that one
                # (before, each of ten tries waited 30 s for a pooled connection: the
                # helper's 300 s timeout failed this test)
                done = wharf(url, tmp_path, "replay", "--verify", ok=False)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')  # type: ignore[arg-type]
    assert done.returncode == 1
    assert "refused a connection: FATAL: too many connections for role" in done.stderr
    assert "WHARF_DB_POOL" in done.stderr
