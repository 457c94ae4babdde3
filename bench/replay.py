"""Replay of 1,000,000 events into every read model on SQLite (goal <= 60 s)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import fill, open_bench_app, scratch_store
from wharf.infra.replay import scratch_database


def run(events: int = 1_000_000) -> list[str]:
    with scratch_store("sqlite") as url:
        writer = open_bench_app(url)
        print(f"  writing {events:,} events to a scratch SQLite store (not timed)", flush=True)
        fill(writer, events)
        head = writer.recorder.max_notification_id() or 0
        writer.close()
        with scratch_database(url) as target:
            # Timed as an operator sees it: the `wharf replay` command, process start included.
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "wharf.infra.cli", "replay", "--into", target],
                env={**os.environ, "WHARF_DATABASE_URL": url}, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert f"as of position {head}" in done.stdout, done.stdout
    line = (f"replay      sqlite   {head:,} events into every read model: {elapsed:6.1f} s "
            f"({head / elapsed:,.0f} events/s)   (goal <= 60 s)")
    print(line, flush=True)
    return [line]


if __name__ == "__main__":
    run()
