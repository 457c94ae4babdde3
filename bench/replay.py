"""Replay of 1,000,000 events into every read model on SQLite (goal <= 60 s)."""

from __future__ import annotations

import time

from bench.common import fill, open_bench_app, scratch_store
from wharf.infra.replay import rebuild, scratch_database


def run(events: int = 1_000_000) -> list[str]:
    with scratch_store("sqlite") as url:
        app = open_bench_app(url)
        print(f"  writing {events:,} events to a scratch SQLite store (not timed)", flush=True)
        fill(app, events)
        head = app.recorder.max_notification_id() or 0
        with scratch_database(url) as target:
            started = time.perf_counter()
            position = rebuild(app, target)
            elapsed = time.perf_counter() - started
        app.close()
    assert position == head
    line = (f"replay      sqlite   {head:,} events into every read model: {elapsed:6.1f} s "
            f"({head / elapsed:,.0f} events/s)   (goal <= 60 s)")
    print(line, flush=True)
    return [line]


if __name__ == "__main__":
    run()
