"""Log collection against `docker logs` of the same container (issue: under faults).

A container prints LINES numbered lines as fast as it can (`seq`) with Wharf's log
settings (json-file, 10 MB x 3: Docker holds them all), then sleeps. Each round times
`docker logs --timestamps` reading them all, and Wharf's collector (the real driver and
log store) copying them all into a fresh store, from an already-printed container
(both read what Docker holds) and from a container started at the same moment (the
collector keeping pace with the printing). Wharf's CPU is this process's CPU time
while it collects. Rounds alternate; medians are reported.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import docker

from wharf.infra.docker_driver import DockerEngine
from wharf.infra.logstore import LogStore
from wharf.schedulers.logs import LogCollector
from wharf.schedulers.ports import docker_name

LINES = 200_000
ROUNDS = 5
ENGINE = "unix:///var/run/docker.sock"
LOG_CONFIG = {"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}}


def start_printer(api: docker.APIClient, container_id: str) -> None:
    name = docker_name(container_id)
    api.create_container("busybox", ["sh", "-c", f"seq 1 {LINES}; sleep 600"], name=name,
                         host_config=api.create_host_config(log_config=LOG_CONFIG))
    api.start(name)


def wait_printed(api: docker.APIClient, container_id: str) -> None:
    deadline = time.monotonic() + 120
    while not api.logs(docker_name(container_id), tail=1).strip().endswith(
            str(LINES).encode()):
        assert time.monotonic() < deadline, "the printer did not finish"
        time.sleep(0.05)


def docker_logs(container_id: str) -> float:
    started = time.perf_counter()
    out = subprocess.run(["docker", "logs", "--timestamps", docker_name(container_id)],
                         capture_output=True, check=True).stdout
    elapsed = time.perf_counter() - started
    assert out.count(b"\n") == LINES, out.count(b"\n")
    return elapsed


def collect(engine: DockerEngine, container_id: str, home: Path) -> tuple[float, float]:
    """Seconds until the last line is kept, and this process's CPU seconds meanwhile."""
    store = LogStore(home / container_id)
    cpu = time.process_time()
    started = time.perf_counter()
    LogCollector(store).follow(container_id, engine)
    while not ((last := store.read(container_id, tail=1)) and last[0].text == str(LINES)):
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    used = time.process_time() - cpu
    everything = store.read(container_id, tail=10**7)
    dropped = int(everything[0].text.split()[1]) if everything[0].text.startswith(
        "[wharf]") else 0
    kept = len(everything) - (1 if dropped else 0)
    assert dropped + kept == LINES, (dropped, kept)
    return elapsed, used


def run() -> list[str]:
    api = docker.APIClient(base_url=ENGINE)
    engine = DockerEngine(ENGINE, "bench-logs")
    raw, finished, live, cpu = [], [], [], []
    try:
        with tempfile.TemporaryDirectory(prefix="wharf-bench-logs-") as home:
            for _ in range(ROUNDS):
                printed = f"bench-logs-{uuid.uuid4().hex[:12]}"
                start_printer(api, printed)
                wait_printed(api, printed)
                raw.append(docker_logs(printed))
                elapsed, used = collect(engine, printed, Path(home))
                finished.append(elapsed)
                cpu.append(used)
                api.remove_container(docker_name(printed), force=True)
                fresh = f"bench-logs-{uuid.uuid4().hex[:12]}"
                start_printer(api, fresh)
                elapsed, _ = collect(engine, fresh, Path(home))
                live.append(elapsed)
                api.remove_container(docker_name(fresh), force=True)
    finally:
        engine.close()
        api.close()
    docker_rate = LINES / statistics.median(raw)
    wharf_rate = LINES / statistics.median(finished)
    live_rate = LINES / statistics.median(live)
    cpu_per = statistics.median(cpu) / LINES * 100_000
    print(f"docker logs --timestamps: {docker_rate:,.0f} lines/s "
          f"({LINES:,} lines, median of {ROUNDS})")
    print(f"Wharf's collector, printed already: {wharf_rate:,.0f} lines/s "
          f"({wharf_rate / docker_rate:.2f}x docker logs), "
          f"{cpu_per:.2f} CPU-seconds per 100,000 lines")
    print(f"Wharf's collector, while it prints: {live_rate:,.0f} lines/s, every line kept "
          "or counted")
    return [f"log collection: {wharf_rate:,.0f} lines/s against docker logs "
            f"{docker_rate:,.0f} lines/s ({wharf_rate / docker_rate:.2f}x); "
            f"{cpu_per:.2f} CPU-s per 100k lines; {live_rate:,.0f} lines/s while printing"]


if __name__ == "__main__":
    for line in run():
        print(line)
