"""The Kafka relay against a real Kafka-protocol broker (Tansu): every event of the log
reaches `wharf.events` (and every bill `wharf.bills`) at least once, in order per key,
through ten SIGKILLs of `wharf relay` and a broker paused for 30 seconds; a relay inside
`wharf up` follows the log live, shows its lag in /metrics, and a paused broker does not
slow the API; a relay whose term is over cannot record a position; secrets never leave."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import DrivenClock, settings_for
from tests.integration.helpers import ROOT, create_container, make_tenant, running_wharf, wait_for
from tests.integration.kafka import Broker, Record, read_topic, tansu
from wharf.commands import messages as m
from wharf.domain.billing import Bill, Ledger
from wharf.infra.bootstrap import build
from wharf.infra.relay import BILLS_TOPIC, EVENTS_TOPIC, RelayState, event_id
from wharf.schedulers.billing import close_hours

SECRET_VALUE = "hunter2-never-on-the-wire"
ENV_VALUE = "s3cr3t-password-in-env"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with tansu(tmp_path / "tansu.log") as running:
        yield running


def fill_log(url: str, home: Path, tenants: int, toggles: int, hours: int) -> None:
    """Tenants on a paying plan, each with a container stopped and started `toggles`
    times (long streams of one key) and a secret, then `hours` hours of bills."""
    clock = DrivenClock()
    with build(settings_for(url, home), clock=clock) as wiring:
        for i in range(tenants):
            tenant = make_tenant(wiring, f"relay-{i}", plan="s", owner=f"o@relay{i}.io")
            wiring.app.handle(m.SetSecret(actor=tenant.owner, tenant_id=tenant.id,
                                          name="db", value=SECRET_VALUE))
            container = create_container(wiring, tenant, "web",
                                         env={"DB_PASSWORD": ENV_VALUE})
            for _ in range(toggles):
                wiring.app.handle(m.StopContainer(actor=tenant.owner, container_id=container))
                wiring.app.handle(m.StartContainer(actor=tenant.owner, container_id=container))
        clock.advance(hours=hours, minutes=5)
        close_hours(wiring.app, wiring.view, clock.now(), wiring.projector.catch_up)


def log_of(url: str, home: Path) -> tuple[dict[str, tuple[str, int]], set[str], int]:
    """Every event id of the log with its key and version; the bills' ids; the head."""
    with build(settings_for(url, home)) as wiring:
        events: dict[str, tuple[str, int]] = {}
        bills: set[str] = set()
        position = 0
        while batch := wiring.app.recorder.select_notifications(position + 1, 5000):
            for n in batch:
                events[event_id(n.originator_id, n.originator_version)] = (
                    str(n.originator_id), n.originator_version)
                if n.topic.endswith("Ledger.Billed"):
                    bills |= {bill["id"] for bill in
                              wiring.app.mapper.to_domain_event(n).bills}  # type: ignore[attr-defined]
            position = batch[-1].id
        return events, bills, position


def relay_position(url: str, home: Path) -> int:
    with build(settings_for(url, home)) as wiring:
        return RelayState(wiring.view).read()[1]


STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_relay_outlives_its_test() -> Iterator[None]:
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(10)


def start_relay(url: str, home: Path, broker: Broker, log: Path, *args: str
                ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WHARF_DATABASE_URL": url, "WHARF_HOME": str(home),
           "WHARF_KAFKA_BOOTSTRAP": broker.bootstrap, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as sink:
        process = subprocess.Popen([sys.executable, "-m", "wharf.infra.cli", "-v", "relay",
                                    *args], env=env, stdout=sink, stderr=sink)
    STARTED.append(process)
    return process


def moved(relay: subprocess.Popen[bytes], url: str, home: Path, since: int) -> bool:
    assert relay.poll() is None, "the relay exited"
    return relay_position(url, home) > since


def first_seen_in_order(records: list[Record]) -> tuple[dict[str, list[int]], Counter[str]]:
    """Per key, the versions in the order they first arrived; how often each id came."""
    seen: Counter[str] = Counter()
    orders: dict[str, list[int]] = defaultdict(list)
    for record in records:
        seen[record.value["id"]] += 1
        if seen[record.value["id"]] == 1:
            orders[record.key].append(record.value["version"])
    return orders, seen


def test_every_event_arrives_in_order_through_kills_and_a_paused_broker(
    broker: Broker, tmp_path: Path,
) -> None:
    url, home = f"sqlite:///{tmp_path / 'wharf.db'}", tmp_path / "home"
    fill_log(url, home, tenants=20, toggles=250, hours=400)
    events, bills, head = log_of(url, home)
    assert len(events) >= 10_000 and len(bills) == 20 * 400
    output = tmp_path / "relay.log"

    for kill in range(10):
        before = relay_position(url, home)
        relay = start_relay(url, home, broker, output, "--batch-size", "100")
        wait_for("the relay to move", partial(moved, relay, url, home, before), timeout=60)
        if kill == 5:  # midway: the broker stops answering for 30 seconds
            broker.pause()
            paused_at = relay_position(url, home)
            time.sleep(30)  # the outage itself (the relay keeps trying all through it)
            # At most the batch in flight when the broker stopped was acknowledged.
            assert relay_position(url, home) <= paused_at + 100
            assert relay.poll() is None, output.read_text()
            broker.resume()
            wait_for("the relay to move after the outage",
                     partial(moved, relay, url, home, relay_position(url, home)), timeout=60)
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
    assert relay_position(url, home) < head, "the kills came too late to test anything"

    finish = start_relay(url, home, broker, output, "--until-caught-up")
    assert finish.wait(120) == 0, output.read_text()[-3000:]
    assert relay_position(url, home) == head

    records = read_topic(broker.bootstrap, EVENTS_TOPIC,
                         lambda got: {r.value["id"] for r in got} >= events.keys())
    orders, seen = first_seen_in_order(records)
    assert seen.keys() == events.keys()
    for key, versions in orders.items():
        assert versions == list(range(1, len(versions) + 1)), key  # each key in order
    assert all(events[r.value["id"]] == (r.key, r.value["version"]) for r in records)
    duplicates = sum(seen.values()) - len(seen)
    print(f"\nrelay: {len(events)} events, 10 SIGKILLs, 30 s broker pause: "
          f"{len(records)} records, {duplicates} duplicates")
    assert all(SECRET_VALUE.encode() not in r.raw and ENV_VALUE.encode() not in r.raw
               for r in records)
    containers = list({r.value["id"]: r for r in records
                       if r.value["type"] == "Container.Created"}.values())
    assert len(containers) == 20 and all(
        r.value["payload"]["spec"]["env"] == {"DB_PASSWORD": "***"} and r.value["tenant"]
        for r in containers)

    billed = read_topic(broker.bootstrap, BILLS_TOPIC,
                        lambda got: len({r.value["id"] for r in got}) >= len(bills))
    assert {r.value["id"] for r in billed} == bills
    one = billed[0].value
    assert one["tenant"] == billed[0].key and one["lines"] and one["total"]


def test_a_relay_whose_term_is_over_records_nothing(tmp_path: Path) -> None:
    with build(settings_for(f"sqlite:///{tmp_path / 'w.db'}", tmp_path / "home")) as wiring:
        state = RelayState(wiring.view)
        assert state.read() == (0, 0)
        old = state.take_term("a")
        assert state.advance(old, 5)
        new = state.take_term("b")
        assert new == old + 1
        assert not state.advance(old, 9)  # the stale relay is fenced out
        assert state.read() == (new, 5)
        assert state.advance(new, 7) and not state.advance(new, 6)  # never backwards
        assert state.read() == (new, 7)


def graphql(url: str, token: str, query: str, variables: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
    assert "errors" not in answer, answer
    return answer


def metric(url: str, token: str, name: str) -> int | None:
    request = urllib.request.Request(f"{url}/metrics",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(f"{name} "):
                return int(line.split()[1])
    return None


CREATE_TENANT = """mutation($name: String!) { createTenant(input: {name: $name, plan: "free",
  owner: "o@relay.io"}) { __typename ... on TenantCreated { tenant { tenant { id } } } } }"""


def test_wharf_up_relays_live_and_a_paused_broker_slows_nothing_else(
    broker: Broker, tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'wharf.db'}"
    with running_wharf(url, tmp_path / "home", WHARF_KAFKA_BOOTSTRAP=broker.bootstrap) as up:
        made = graphql(up.url, up.token, CREATE_TENANT, {"name": "live"})
        tenant = made["data"]["createTenant"]["tenant"]["tenant"]["id"]  # type: ignore[index]
        records = read_topic(broker.bootstrap, EVENTS_TOPIC, lambda got: any(
            r.value["type"] == "Tenant.Registered" for r in got))
        registered = next(r for r in records if r.value["type"] == "Tenant.Registered")
        assert registered.key == tenant and registered.value["tenant"] == tenant
        assert registered.value["payload"]["name"] == "live"
        wait_for("no relay lag", lambda: metric(up.url, up.token, "wharf_relay_lag") == 0)

        broker.pause()
        try:
            started = time.monotonic()
            graphql(up.url, up.token, CREATE_TENANT, {"name": "while-paused"})
            answered = time.monotonic() - started
            lag = wait_for("the lag to show", lambda: metric(up.url, up.token,
                                                            "wharf_relay_lag"))
            assert lag > 0
            print(f"\ncreateTenant with the broker paused: {answered * 1000:.0f} ms")
        finally:
            broker.resume()
        wait_for("the relay to catch up", lambda: metric(up.url, up.token,
                                                         "wharf_relay_lag") == 0, timeout=60)
        names = {r.value["payload"].get("name") for r in read_topic(
            broker.bootstrap, EVENTS_TOPIC, lambda got: any(
                r.value["payload"].get("name") == "while-paused" for r in got))}
        assert "while-paused" in names
    assert "this relay leads" in up.output.read_text()


def test_the_relay_says_what_it_needs(tmp_path: Path) -> None:
    env = {**os.environ, "WHARF_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
           "WHARF_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    env.pop("WHARF_KAFKA_BOOTSTRAP", None)
    done = subprocess.run([sys.executable, "-m", "wharf.infra.cli", "relay"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "WHARF_KAFKA_BOOTSTRAP" in done.stderr


def test_messages_carry_the_event_and_never_its_secrets() -> None:
    from uuid import uuid4

    from wharf.domain.billing import Line
    from wharf.infra.relay import messages_of

    tenant, hour = uuid4(), DrivenClock().now()
    ledger = Ledger.create(at=hour, id=Ledger.id_for(tenant, hour), tenant_id=tenant,
                           month=hour.strftime("%Y-%m"), actor="system:billing",
                           cause="CloseHours")
    fee = Line("fee", "s", 1, Decimal(1), Decimal("0.0806"), Decimal("0.0806"), (1,))
    assert ledger.close([(hour, [fee]), (hour, [fee])]) == 1  # an hour once
    billed = ledger.collect_events()[-1]
    out = messages_of(billed, 42, str(tenant))
    assert [o.topic for o in out] == [EVENTS_TOPIC, BILLS_TOPIC]
    body = json.loads(out[0].value)
    assert out[0].key == str(ledger.id).encode() and body["position"] == 42
    assert body["id"] == event_id(ledger.id, 2) and body["type"] == "Ledger.Billed"
    assert body["tenant"] == str(tenant) and body["correlation"] == ""
    bill = json.loads(out[1].value)
    assert out[1].key == str(tenant).encode() and bill["total"] == "0.0806"
    assert bill["id"] == str(Bill.id_for(tenant, hour)) and bill["hour"] == hour.isoformat()


def test_a_standby_relay_stops_when_told_and_never_leads(broker: Broker, tmp_path: Path) -> None:
    url, home = f"sqlite:///{tmp_path / 'wharf.db'}", tmp_path / "home"
    fill_log(url, home, tenants=1, toggles=1, hours=1)
    leader = start_relay(url, home, broker, tmp_path / "leader.log")
    try:
        wait_for("the first relay to lead", lambda: "this relay leads" in (
            tmp_path / "leader.log").read_text())
        standby = start_relay(url, home, broker, tmp_path / "standby.log")
        wait_for("the second to wait", lambda: "waiting for its lock" in (
            tmp_path / "standby.log").read_text())
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(10) == 0
        assert "this relay leads" not in (tmp_path / "standby.log").read_text()
        assert leader.poll() is None
    finally:
        leader.send_signal(signal.SIGTERM)
        leader.wait(30)
