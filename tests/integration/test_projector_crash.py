"""SIGKILL the projector at random moments while 10,000 events arrive, 20 times:
afterwards every read model equals a fold of the log and no event was applied twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import settings_for
from tests.integration.helpers import make_tenant
from wharf.commands import messages as m
from wharf.infra.bootstrap import build
from wharf.infra.replay import verify
from wharf.projections.summaries import event_type

ROOT = Path(__file__).parents[2]
KILLS = 8
CREATES = 5000  # two events each: ContainerReserved and Container.Created


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_projector_survives_sigkill_at_random_moments(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (f"sqlite:///{tmp_path / 'wharf.db'}" if kind == "sqlite"
           else request.getfixturevalue("pg_url"))
    wiring = build(settings_for(url, tmp_path))
    tenants = [make_tenant(wiring, f"tenant-{i}", plan="unlimited", owner=f"o@t{i}.io")
               for i in range(10)]
    start = wiring.app.recorder.max_notification_id() or 0

    kills_done = threading.Event()
    created = 0

    def write() -> None:
        """Spreads the creates over the whole run, so every kill lands mid-stream."""
        nonlocal created
        while created < CREATES or not kills_done.is_set():
            t = tenants[created % len(tenants)]
            wiring.app.handle(m.CreateContainer(actor=t.owner, tenant_id=t.id,
                                                name=f"c{created}", spec={"image": "busybox"}))
            created += 1
            kills_done.wait(0.003)

    writer = threading.Thread(target=write)
    writer.start()
    env = {**os.environ, "WHARF_DATABASE_URL": url, "WHARF_HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    rng = random.Random(20261126)
    positions = []
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-m", "wharf.infra.cli", "projector",
                                 "--batch-size", "100"], env=env, stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        # Killed a random moment after it began to project (not while it starts up).
        assert "following the log" in proc.stdout.readline()
        with pytest.raises(subprocess.TimeoutExpired):  # it must not die by itself
            proc.wait(timeout=rng.uniform(0.05, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        positions.append(wiring.view.position("audit"))
    kills_done.set()
    writer.join()
    assert wiring.app.recorder.max_notification_id() - start >= 2 * CREATES
    # The kills landed while events were still being projected, not after the fact.
    assert len(set(positions)) > KILLS // 2

    final = subprocess.run([sys.executable, "-m", "wharf.infra.cli", "projector", "--once"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr

    position, diffs = verify(wiring.app, wiring.view, url)
    assert position == wiring.app.recorder.max_notification_id()
    assert [d.table for d in diffs if not d.same] == []

    # No event applied twice: one audit row per event, and counters match the rows.
    notifications = wiring.app.recorder.select_notifications(1, 10**6)
    audited = sum(1 for n in notifications
                  if event_type(wiring.app.mapper.to_domain_event(n)) != "ClientRequest.Answered")
    assert wiring.view.query("SELECT count(*) AS n FROM rm_audit") == [{"n": audited}]
    counts = wiring.view.query(
        "SELECT t.containers AS counted, (SELECT count(*) FROM rm_containers c "
        "WHERE c.tenant_id = t.id) AS rows FROM rm_tenants t")
    assert all(r["counted"] == r["rows"] for r in counts)
    assert sum(r["rows"] for r in counts) == created
    wiring.close()
