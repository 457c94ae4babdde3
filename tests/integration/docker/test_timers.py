"""A real `wharf up`: frozen (SIGSTOP) past its timers' due times, it runs each missed
job once when it wakes (APScheduler's default skipped them: "was missed by"); stopped,
it leaves no tenant network behind that no container needs."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

from docker import APIClient

from tests.integration.helpers import running_wharf, wait_for
from wharf.commands.ports import MemoryDataKeys
from wharf.infra.bootstrap import open_app
from wharf.infra.docker_networks import network_name
from wharf.schedulers.ports import LABEL_INSTALLATION, LABEL_MANAGED, LABEL_TENANT

RAN = 'Running job "sample-metrics'


def test_a_frozen_process_runs_its_missed_timer_jobs_once_on_waking(tmp_path: Path) -> None:
    with running_wharf(f"sqlite:///{tmp_path / 'home' / 'wharf.db'}", tmp_path / "home",
                       WHARF_SCHEDULER="on", WHARF_METRICS_EVERY="2") as wharf:
        wait_for("the metrics job's first run", lambda: RAN in wharf.log(), timeout=60)
        os.kill(wharf.process.pid, signal.SIGSTOP)
        try:
            time.sleep(5.5)  # the freeze itself: two runs fall due, well over a second late
        finally:
            os.kill(wharf.process.pid, signal.SIGCONT)
        before = wharf.log().count(RAN)
        wait_for("the missed run", lambda: wharf.log().count(RAN) > before, timeout=10)
    assert "was missed by" not in wharf.log()


def test_stopping_wharf_up_leaves_no_unneeded_tenant_network(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'home' / 'wharf.db'}"
    docker = APIClient(base_url="unix:///var/run/docker.sock")
    with running_wharf(url, tmp_path / "home", WHARF_SCHEDULER="on") as wharf:
        wait_for("the scheduler to lead", lambda: "this scheduler leads" in wharf.log(),
                 timeout=60)
        app = open_app(url, keys=MemoryDataKeys())
        try:
            installation = app.installation
        finally:
            app.close()
        # What a kill between removing a tenant's last container and its network leaves.
        tenant = str(uuid.uuid4())
        name = network_name(tenant, installation)
        docker.create_network(name, driver="bridge", labels={
            LABEL_MANAGED: "1", LABEL_INSTALLATION: installation, LABEL_TENANT: tenant})
        try:
            wharf.process.terminate()
            assert wharf.process.wait(30) == 0, wharf.log()
            assert docker.networks(names=[name]) == [], wharf.log()
        finally:
            for left in docker.networks(names=[name]):
                docker.remove_network(left["Id"])
            docker.close()
