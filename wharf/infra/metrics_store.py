"""The metrics table, beside the read models in the same database (but not one of them:
it is sampled from the engines, not projected from the log, and a replay leaves it alone).

Roll-up rows keep sums and a count, so a bucket's average is exact however many samples
fall into it; network counters keep their largest value (they only grow while a container
runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from wharf.projections.views import ReadModelStore
from wharf.schedulers.metrics import (
    HOUR,
    KEEP,
    MINUTE,
    RAW,
    Sample,
    bucket,
    resolution_for,
    sent_in_hour,
)

DDL = (
    "CREATE TABLE IF NOT EXISTS wharf_metrics (target TEXT NOT NULL, kind TEXT NOT NULL, "
    "resolution INTEGER NOT NULL, at TEXT NOT NULL, cpu_sum REAL NOT NULL, "
    "memory_sum BIGINT NOT NULL, samples INTEGER NOT NULL, rx_bytes BIGINT NOT NULL, "
    "tx_bytes BIGINT NOT NULL, PRIMARY KEY (target, resolution, at))"
)
UPSERT = (
    "INSERT INTO wharf_metrics (target, kind, resolution, at, cpu_sum, memory_sum, samples, "
    "rx_bytes, tx_bytes) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) "
    "ON CONFLICT (target, resolution, at) DO UPDATE SET "
    "cpu_sum = wharf_metrics.cpu_sum + excluded.cpu_sum, "
    "memory_sum = wharf_metrics.memory_sum + excluded.memory_sum, "
    "samples = wharf_metrics.samples + 1, "
    "rx_bytes = CASE WHEN excluded.rx_bytes > wharf_metrics.rx_bytes "
    "THEN excluded.rx_bytes ELSE wharf_metrics.rx_bytes END, "
    "tx_bytes = CASE WHEN excluded.tx_bytes > wharf_metrics.tx_bytes "
    "THEN excluded.tx_bytes ELSE wharf_metrics.tx_bytes END"
)


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class MetricsStore:
    def __init__(self, view: ReadModelStore) -> None:
        self.view = view
        view.change_schema([(DDL, ())])

    def add(self, samples: list[Sample]) -> None:
        rows: list[Sequence[Any]] = []
        for s in samples:
            for resolution in (RAW, MINUTE, HOUR):
                rows.append((s.target, s.kind, resolution, _at(bucket(s.at, resolution)),
                             s.cpu_percent, s.memory_bytes, s.rx_bytes, s.tx_bytes))
        if rows:
            self.view.execute([(UPSERT, rows)])

    def expire(self, now: datetime) -> None:
        self.view.execute([("DELETE FROM wharf_metrics WHERE resolution = ? AND at < ?",
                            [(r, _at(now - keep)) for r, keep in KEEP.items()])])

    def recent(self, targets: Sequence[str], since: datetime) -> dict[str, tuple[float, int]]:
        """Each target's average (CPU percent of one CPU, memory bytes) over the raw
        samples since `since`; targets without samples are left out."""
        if not targets:
            return {}
        marks = ", ".join("?" * len(targets))
        rows = self.view.query(
            f"SELECT target, SUM(cpu_sum) AS cpu, SUM(memory_sum) AS memory, "
            f"SUM(samples) AS n FROM wharf_metrics WHERE resolution = ? AND at >= ? "
            f"AND target IN ({marks}) GROUP BY target", (RAW, _at(since), *targets))
        return {r["target"]: (float(r["cpu"]) / r["n"], int(r["memory"]) // r["n"])
                for r in rows if r["n"]}

    def sent(self, targets: Sequence[str], hour: datetime) -> dict[str, int]:
        """Bytes each target sent in the hour starting at `hour`, from the hourly roll-ups
        (kept a month): the highest transmit counter in it against the hour before's."""
        if not targets:
            return {}
        marks = ", ".join("?" * len(targets))
        counters: dict[tuple[str, str], int] = {
            (r["target"], r["at"]): int(r["tx_bytes"]) for r in self.view.query(
                f"SELECT target, at, tx_bytes FROM wharf_metrics WHERE resolution = ? "
                f"AND at IN (?, ?) AND target IN ({marks})",
                (HOUR, _at(hour - timedelta(hours=1)), _at(hour), *targets))}
        found = {target: sent_in_hour(counters.get((target, _at(hour - timedelta(hours=1)))),
                                      counters.get((target, _at(hour))))
                 for target in targets}
        return {target: sent for target, sent in found.items() if sent}

    def points(self, target: str, start: datetime, end: datetime, step: int,
               now: datetime) -> list[dict[str, Any]]:
        """Averages over `step`-second buckets, from the finest resolution still kept for
        a range that begins at `start`."""
        resolution = resolution_for(step, start, now)
        rows = self.view.query(
            "SELECT at, cpu_sum, memory_sum, samples, rx_bytes, tx_bytes FROM wharf_metrics "
            "WHERE target = ? AND resolution = ? AND at >= ? AND at <= ? ORDER BY at",
            (target, resolution, _at(start), _at(end)))
        points: dict[str, dict[str, Any]] = {}
        for row in rows:
            at = datetime.fromisoformat(row["at"])
            key = _at(bucket(at, max(step, 1)) if step > 1 else at)
            point = points.setdefault(key, {"at": key, "cpu": 0.0, "memory": 0, "samples": 0,
                                            "rx": 0, "tx": 0})
            point["cpu"] += row["cpu_sum"]
            point["memory"] += row["memory_sum"]
            point["samples"] += row["samples"]
            point["rx"] = max(point["rx"], row["rx_bytes"])
            point["tx"] = max(point["tx"], row["tx_bytes"])
        return [{"at": p["at"], "cpu_percent": round(p["cpu"] / p["samples"], 3),
                 "memory_bytes": p["memory"] // p["samples"], "rx_bytes": p["rx"],
                 "tx_bytes": p["tx"]} for p in points.values()]
