"""A real `wharf up`, frozen (SIGSTOP) past its timers' due times, runs each missed
job once when it wakes (APScheduler's default skipped them: "was missed by")."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.integration.helpers import running_wharf, wait_for

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
