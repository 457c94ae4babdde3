"""Plan limits hold when 50 requests race, with real concurrent writers."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import settings_for
from tests.integration.helpers import caught_up, make_tenant
from wharf.commands import messages as m
from wharf.domain.errors import QuotaExceeded
from wharf.infra.bootstrap import Wiring, build

RACERS = 50


def test_fifty_parallel_creates_on_free_plan_give_exactly_two(wiring: Wiring) -> None:
    acme = make_tenant(wiring)

    def create(i: int) -> str:
        try:
            wiring.app.handle(m.CreateContainer(actor=acme.owner, tenant_id=acme.id,
                                                name=f"c{i}", spec={"image": "busybox"}))
            return "created"
        except QuotaExceeded:
            return "QuotaExceeded"

    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(pool.map(create, range(RACERS)))
    assert answers.count("created") == 2
    assert answers.count("QuotaExceeded") == RACERS - 2
    caught_up(wiring)
    assert len(wiring.view.query("SELECT id FROM rm_containers")) == 2
    assert len(wiring.view.query("SELECT id FROM rm_quota_rejections")) == RACERS - 2


RACER = """
import sys
from uuid import UUID
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.errors import QuotaExceeded
from wharf.commands.ports import MemoryDataKeys
from wharf.infra.bootstrap import open_app

app = open_app(sys.argv[1], pool_size=2, keys=MemoryDataKeys())  # (no secrets here)
tenant = UUID(sys.argv[2])
owner = Actor.member("owner@acme.io", tenant)
sys.stdin.readline()  # start together
for i in sys.argv[3].split(","):
    try:
        app.handle(m.CreateContainer(actor=owner, tenant_id=tenant, name=f"c{i}",
                                     spec={"image": "busybox"}))
        print("created", flush=True)
    except QuotaExceeded:
        print("QuotaExceeded", flush=True)
"""


def test_fifty_creates_from_ten_processes_on_postgres(pg_url: str, tmp_path: Path) -> None:
    wiring = build(settings_for(pg_url, tmp_path))
    try:
        acme = make_tenant(wiring)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, pg_url, str(acme.id),
                 ",".join(str(i) for i in range(p, RACERS, 10))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
            for p in range(10)
        ]
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        answers = []
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0
            answers += out.split()
        assert answers.count("created") == 2
        assert answers.count("QuotaExceeded") == RACERS - 2
        caught_up(wiring)
        assert wiring.view.query("SELECT containers FROM rm_tenants") == [{"containers": 2}]
        assert len(wiring.view.query("SELECT id FROM rm_quota_rejections")) == RACERS - 2
    finally:
        wiring.close()
