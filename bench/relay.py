"""The Kafka relay against the Tansu broker (ENVIRONMENT.md), in one run:

- throughput: the relay sends a log of WHARF_BENCH_RELAY_EVENTS events (20,000: container
  creates, stops, starts) from its position to the broker, acknowledged batch by batch;
  beside it a raw kafka-python producer sends the very same messages (made beforehand)
  to a fresh broker and flushes (goal: the relay at >= 70 % of the raw rate);
- the API while the broker is paused: `wharf up` with a relay, the latency of a
  mutation (createTenant over HTTP) with the broker answering and then paused (SIGSTOP),
  and the relay's lag at the end of the pause."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.api import Server
from bench.common import fill, open_bench_app
from tests.integration.kafka import tansu
from wharf.infra.relay import EVENTS_TOPIC, Relay, kafka_producer
from wharf.infra.store import open_read_models

MUTATIONS = 100


def relayed(url: str, bootstrap: str) -> tuple[float, int]:
    """Seconds for the relay to send the whole log, and how many messages."""
    app = open_bench_app(url)
    relay = Relay(app, open_read_models(url, 2), lambda: kafka_producer(bootstrap), "bench")
    relay.start()
    started = time.perf_counter()
    while relay.run_once():
        pass
    elapsed = time.perf_counter() - started
    assert relay.caught_up()
    relay.stop()
    relay._reset_producer()
    return elapsed, relay.sent


def raw(url: str, bootstrap: str) -> tuple[float, int]:
    """Seconds for kafka-python's producer (its defaults) to send the relay's messages."""
    from kafka import KafkaProducer

    app = open_bench_app(url)
    maker = Relay(app, open_read_models(url, 2), lambda: kafka_producer(bootstrap), "raw")
    messages = []
    position = 0
    while batch := app.recorder.select_notifications(position + 1, 5000):
        messages += maker.messages(batch)
        position = batch[-1].id
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    started = time.perf_counter()
    for message in messages:
        producer.send(message.topic, key=message.key, value=message.value)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed, len(messages)


def mutation_ms(server: Server, count: int, prefix: str) -> list[float]:
    conn = server.connect()
    took = []
    for i in range(count):
        started = time.perf_counter()
        server.post("""mutation($n: String!) { createTenant(input: {name: $n,
            owner: "o@b.io", plan: "free"}) { __typename } }""", server.token, conn,
                    {"n": f"{prefix}-{i}"})
        took.append((time.perf_counter() - started) * 1000)
    return took


def lag(server: Server) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/metrics",
                                     headers={"Authorization": f"Bearer {server.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("wharf_relay_lag "):
                return int(line.split()[1])
    return -1


def run() -> list[str]:
    events = int(os.environ.get("WHARF_BENCH_RELAY_EVENTS", "20000"))
    lines = []
    with tempfile.TemporaryDirectory(prefix="wharf-bench-relay-") as scratch:
        home = Path(scratch)
        url = f"sqlite:///{home / 'relay.db'}"
        written = fill(open_bench_app(url), events, report=False)
        with tansu(home / "tansu-1.log") as broker:
            relay_s, sent = relayed(url, broker.bootstrap)
        with tansu(home / "tansu-2.log") as broker:
            raw_s, raw_sent = raw(url, broker.bootstrap)
        assert sent == raw_sent, (sent, raw_sent)
        relay_rate, raw_rate = sent / relay_s, raw_sent / raw_s
        lines.append(f"relay: {written:,} events ({sent:,} messages) in {relay_s:.2f} s = "
                     f"{relay_rate:,.0f} msg/s; raw kafka-python producer, same messages: "
                     f"{raw_s:.2f} s = {raw_rate:,.0f} msg/s; relay/raw {relay_rate / raw_rate:.0%}"
                     " (goal >= 70 %)")
        print(lines[-1], flush=True)

        with tansu(home / "tansu-3.log") as broker:
            server = Server(home / "up", WHARF_KAFKA_BOOTSTRAP=broker.bootstrap)
            try:
                mutation_ms(server, 10, "warm")
                running = mutation_ms(server, MUTATIONS, "running")
                broker.pause()
                try:
                    paused = mutation_ms(server, MUTATIONS, "paused")
                    behind = lag(server)
                finally:
                    broker.resume()
            finally:
                server.stop()
        p50 = (statistics.median(running), statistics.median(paused))
        p95 = (statistics.quantiles(running, n=20)[18], statistics.quantiles(paused, n=20)[18])
        lines.append(f"createTenant over HTTP with a relay to {EVENTS_TOPIC}: broker up "
                     f"p50 {p50[0]:.1f} ms p95 {p95[0]:.1f} ms; broker paused p50 "
                     f"{p50[1]:.1f} ms p95 {p95[1]:.1f} ms (paused/up p50 "
                     f"{p50[1] / p50[0]:.2f}x); relay lag at the end of the pause: "
                     f"{behind} events")
        print(lines[-1], flush=True)
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
