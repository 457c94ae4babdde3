"""SIGKILL the scheduler process at random moments while containers are being created:
after a restart, exactly the desired containers run, and every fact is recorded once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from uuid import UUID

import docker
import pytest

from tests.conftest import settings_for
from tests.integration.docker.conftest import remove_networks, wait_for
from tests.integration.helpers import ROOT, make_tenant
from wharf.infra.bootstrap import build
from wharf.infra.scheduling import LOCAL_ENGINE, register_engines
from wharf.schedulers.ports import LABEL_CONTAINER, LABEL_INSTALLATION

CONTAINERS = 20
KILLS = 12


def start_scheduler(url: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "WHARF_DATABASE_URL": url, "WHARF_HOME": str(home),
           "PYTHONPATH": str(ROOT), "WHARF_SCHEDULER_INTERVAL": "1"}
    process = subprocess.Popen([sys.executable, "-m", "wharf.infra.cli", "scheduler"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    assert process.stdout is not None
    assert "waiting to lead" in process.stdout.readline()
    return process


@pytest.mark.slow
def test_killed_scheduler_leaves_no_duplicates_orphans_or_doubled_events(
    pg_url: str, tmp_path: Path, docker_api: docker.APIClient
) -> None:
    home = tmp_path / "home"
    wiring = build(settings_for(pg_url, home))
    projector = threading.Thread(target=wiring.projector.run_forever, daemon=True)
    projector.start()
    installation = wiring.app.installation
    ours = {"label": f"{LABEL_INSTALLATION}={installation}"}
    rng = random.Random(4)
    try:
        assert register_engines(wiring.app, ()) == [LOCAL_ENGINE]
        tenant = make_tenant(wiring, plan="unlimited")
        ids: list[UUID] = []

        def create_all() -> None:
            from wharf.commands import messages as m
            for i in range(CONTAINERS):
                outcome = wiring.app.handle(m.CreateContainer(
                    actor=tenant.owner, tenant_id=tenant.id, name=f"c{i}",
                    spec={"image": "busybox", "command": ["sleep", "600"]}))
                assert outcome.id is not None
                ids.append(outcome.id)
                time.sleep(rng.uniform(0, 0.4))  # creates arrive while schedulers die

        creator = threading.Thread(target=create_all)
        creator.start()
        for _ in range(KILLS):
            process = start_scheduler(pg_url, home)
            with pytest.raises(subprocess.TimeoutExpired):  # killed at a random moment,
                process.wait(timeout=rng.uniform(0.05, 1.2))  # never dead by itself
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            assert process.stdout is not None
            process.stdout.close()
        creator.join(60)
        assert len(ids) == CONTAINERS

        survivor = start_scheduler(pg_url, home)
        try:
            def all_running() -> bool:
                rows = docker_api.containers(filters={**ours, "status": "running"})
                return len(rows) >= CONTAINERS
            wait_for("every container running", all_running, timeout=90)
            rows = wiring.view.query("SELECT observed FROM rm_containers")
            wait_for("the log to record every start", lambda: all(
                r["observed"] == "running" for r in wiring.view.query(
                    "SELECT observed FROM rm_containers")) and len(rows) == CONTAINERS,
                timeout=30)
        finally:
            survivor.send_signal(signal.SIGTERM)
            survivor.wait(30)
            assert survivor.stdout is not None
            survivor.stdout.close()

        listed = docker_api.containers(all=True, filters=ours)
        by_container = Counter(r["Labels"][LABEL_CONTAINER] for r in listed)
        assert sorted(by_container) == sorted(str(i) for i in ids)  # no orphans
        assert set(by_container.values()) == {1}  # no duplicates
        assert all(r["State"] == "running" for r in listed)
        for container_id in ids:
            history = [type(e).__name__ for e in
                       wiring.app.repository.event_store.get(container_id)]
            assert history == ["Created", "Placed", "Started"], (container_id, history)
    finally:
        wiring.projector.stop()
        projector.join(10)
        for row in docker_api.containers(all=True, filters=ours):
            docker_api.remove_container(row["Id"], force=True)
        remove_networks(docker_api, installation)
        wiring.close()
