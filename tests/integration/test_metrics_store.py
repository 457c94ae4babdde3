"""The metrics table on both stores: roll-ups, averages per step, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wharf.infra.bootstrap import Wiring
from wharf.schedulers.metrics import Sample

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def sample(seconds: int, cpu: float, memory: int, rx: int) -> Sample:
    return Sample("c1", "container", T0 + timedelta(seconds=seconds), cpu, memory, rx, 0)


def test_rollups_average_exactly_and_expire(wiring: Wiring) -> None:
    store = wiring.metrics
    store.add([sample(0, 10.0, 100, 5), sample(15, 30.0, 300, 9), sample(75, 50.0, 500, 20)])
    now = T0 + timedelta(minutes=5)

    raw = store.points("c1", T0, now, 1, now)
    assert [(p["cpu_percent"], p["memory_bytes"]) for p in raw] == [
        (10.0, 100), (30.0, 300), (50.0, 500)]
    minutes = store.points("c1", T0, now, 60, now)
    assert [(p["at"], p["cpu_percent"], p["memory_bytes"], p["rx_bytes"]) for p in minutes] \
        == [("2026-11-26T12:00:00+00:00", 20.0, 200, 9),
            ("2026-11-26T12:01:00+00:00", 50.0, 500, 20)]
    [hour] = store.points("c1", T0, now, 3600, now)
    assert (hour["cpu_percent"], hour["memory_bytes"], hour["rx_bytes"]) == (30.0, 300, 20)

    store.expire(T0 + timedelta(hours=2))  # raw rows are kept for an hour only
    later = T0 + timedelta(hours=2)
    assert store.points("c1", T0, later, 60, later) != []  # minutes: kept for a day
    rows = wiring.view.query("SELECT count(*) AS n FROM wharf_metrics WHERE resolution = 0")
    assert rows[0]["n"] == 0
