"""Projection catch-up on PostgreSQL (goal >= 15,000 events/s), with the raw
select-and-decode rate of the same log beside it."""

from __future__ import annotations

import time

from bench.common import fill, open_bench_app, scratch_store
from wharf.infra.store import open_read_models
from wharf.projections.catalog import READ_MODELS
from wharf.projections.consumers import Consumers

BATCH = 5000


def select_and_decode(app: object, head: int) -> float:
    recorder = app.recorder  # type: ignore[attr-defined]
    mapper = app.mapper  # type: ignore[attr-defined]
    started = time.perf_counter()
    start, count = 0, 0
    while notes := recorder.select_notifications(start, BATCH, inclusive_of_start=False):
        for n in notes:
            mapper.to_domain_event(n)
        count += len(notes)
        start = notes[-1].id
    return count / (time.perf_counter() - started)


def run(events: int = 100_000, kind: str = "postgres") -> list[str]:
    with scratch_store(kind) as url:
        app = open_bench_app(url)
        fill(app, events)
        head = app.recorder.max_notification_id() or 0
        raw = select_and_decode(app, head)
        view = open_read_models(url)
        consumers = Consumers(app, view, batch_size=BATCH)  # (as `wharf up` catches up)
        started = time.perf_counter()
        consumers.catch_up()
        read = consumers.position
        rate = read / (time.perf_counter() - started)
        view.datastore.close()  # type: ignore[attr-defined]
        app.close()
    line = (f"catch-up    {kind:<8} {read:,} events into {len(READ_MODELS)} read models "
            f"({len(consumers.projectors)} consumers): {rate:8,.0f} events/s   "
            f"raw select+decode {raw:8,.0f} events/s   "
            f"ratio {rate / raw:6.1%}   (goal >= 15,000/s)")
    print(line, flush=True)
    return [line]


if __name__ == "__main__":
    run()
