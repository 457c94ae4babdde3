"""The Kafka relay: every event of the log, in the log's order, to topic `wharf.events`
(key: the aggregate's id) and each closed bill also to `wharf.bills` (key: the tenant).

Delivery is at least once: the relay records the last position the broker acknowledged
(table `wharf_relay`, beside the read side) and starts again from there, so a relay
killed between a send and that record sends a few events twice, each with the same
stable event id; it never skips one. One producer request in flight keeps each key's
order through retries. One relay at a time: it leads with a lock of its own
(`leader.leadership(..., "relay")`) and a term of its own, and a position is recorded
only under the term that holds it, so a relay that lost its lock without knowing it
cannot move the position back or forward.

A broker that is down delays the relay and nothing else: the relay runs in its own
thread (or process), and how far behind it is shows in `/metrics`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from wharf.domain.base import event_id
from wharf.domain.billing import Bill, Ledger
from wharf.projections.summaries import BASE, HIDDEN, event_type
from wharf.projections.views import ReadModelStore

log = logging.getLogger(__name__)

EVENTS_TOPIC = "wharf.events"
BILLS_TOPIC = "wharf.bills"
PARTITIONS = 3  # of each topic the relay creates (a cluster's own topics are kept)
BATCH = 1000  # events read, sent and acknowledged as one step
MASKED = "***"
OWNERS_MEMO = 100_000
TABLE = "wharf_relay"


def _plain(value: Any) -> Any:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) if not isinstance(v, str) else v for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _masked(value: Any) -> Any:
    """A payload without secrets: what the audit trail hides goes (ciphertexts, hashes,
    secret values), and environment variables keep their names, not their values (they
    often hold passwords)."""
    if isinstance(value, dict):
        return {key: ({name: MASKED for name in item} if key == "env" and
                      isinstance(item, dict) else _masked(item))
                for key, item in value.items() if key not in HIDDEN}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _masked(dataclasses.asdict(value))
    return value


@dataclasses.dataclass(frozen=True)
class Message:
    topic: str
    key: bytes
    value: bytes


def messages_of(event: Any, position: int, tenant: str | None) -> list[Message]:
    """What one event of the log becomes on the broker."""
    aggregate = str(event.originator_id)
    payload = {k: v for k, v in vars(event).items() if k not in HIDDEN | BASE}
    body = {
        "id": event_id(aggregate, event.originator_version),
        "type": event_type(event),
        "tenant": tenant,
        "aggregate_id": aggregate,
        "version": event.originator_version,
        "position": position,
        "time": event.timestamp.isoformat(),
        "actor": event.actor,
        "cause": event.cause,
        "correlation": event.correlation,
        "causation": event.causation,
        "payload": _masked(payload),
    }
    out = [Message(EVENTS_TOPIC, aggregate.encode(), _json(body))]
    bills = ([{"id": aggregate, "hour": event.hour, "total": event.total,
               "lines": event.lines}] if isinstance(event, Bill.HourBilled) else
             event.bills if isinstance(event, Ledger.Billed) else [])
    for bill in bills:
        closed = {**bill, "event_id": body["id"], "tenant": tenant, "position": position,
                  "time": body["time"]}
        out.append(Message(BILLS_TOPIC, str(tenant).encode(), _json(closed)))
    return out


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, default=_plain, separators=(",", ":")).encode()


class RelayState:
    """The relay's term and the last position the broker acknowledged, in one row."""

    def __init__(self, view: ReadModelStore) -> None:
        self.view = view
        view.change_schema([
            (f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, term BIGINT NOT "
             "NULL, position BIGINT NOT NULL, holder TEXT NOT NULL, moved_at TEXT NOT NULL)",
             ()),
        ])

    def take_term(self, holder: str) -> int:
        """The next term, this holder's: positions recorded under older terms are refused."""
        self.view.update(f"INSERT INTO {TABLE} VALUES ('relay', 1, 0, ?, ?) "
                         f"ON CONFLICT (name) DO UPDATE SET term = {TABLE}.term + 1, "
                         "holder = excluded.holder RETURNING term", (holder, _now()))
        return self.read()[0]

    def read(self) -> tuple[int, int]:
        """(term, position); (0, 0) before any relay ran."""
        rows = self.view.query(f"SELECT term, position FROM {TABLE} WHERE name = 'relay'")
        return (int(rows[0]["term"]), int(rows[0]["position"])) if rows else (0, 0)

    def advance(self, term: int, position: int) -> bool:
        """Records `position` if `term` still holds; False if a newer relay took over."""
        return bool(self.view.update(
            f"UPDATE {TABLE} SET position = ?, moved_at = ? WHERE name = 'relay' AND "
            "term = ? AND position <= ? RETURNING term", (position, _now(), term, position)))


def relay_position(view: ReadModelStore) -> int | None:
    """Where the relay is (None when no relay ever ran here): for /metrics."""
    try:
        rows = view.query(f"SELECT position FROM {TABLE} WHERE name = 'relay'")
    except Exception:  # no table yet: no relay ever ran against this store
        return None
    return int(rows[0]["position"]) if rows else None


def _now() -> str:
    # The relay's bookkeeping time, for operators only (never in an event or a bill).
    return datetime.now().astimezone().isoformat()


class Producer(Protocol):
    def send(self, topic: str, key: bytes, value: bytes) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...


class FencedOut(Exception):
    """A newer relay holds the term: this one stops."""


class Relay:
    """Reads the log a batch at a time from the acknowledged position, sends every event,
    waits for the broker to acknowledge all of them, then records the batch's end."""

    def __init__(self, app: Any, view: ReadModelStore, producer: Callable[[], Producer],
                 holder: str, batch: int = BATCH,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.app = app
        self.state = RelayState(view)
        self.make_producer = producer
        self.holder = holder
        self.batch = batch
        self.progress = progress
        self.stopping = threading.Event()
        self.term = 0
        self.position = 0
        self.sent = 0  # messages acknowledged by this relay
        self._producer: Producer | None = None
        self._owners: OrderedDict[str, str | None] = OrderedDict()

    def start(self) -> None:
        """Takes the next term (call while holding the relay's lock)."""
        self.term = self.state.take_term(self.holder)
        self.position = self.state.read()[1]
        log.info("relay term %d starts after position %d", self.term, self.position)

    def stop(self) -> None:
        self.stopping.set()

    def run_forever(self, poll_interval: float = 0.2, until_caught_up: bool = False) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                moved = self.run_once()
                backoff = 0.5
            except FencedOut:
                log.warning("relay term %d is over: a newer relay leads", self.term)
                return
            except Exception as error:  # the broker: down, slow, or refusing
                head = self.app.recorder.max_notification_id() or 0
                log.warning("relay waits for the broker (%s); %d events behind",
                            type(error).__name__, head - self.position)
                self._reset_producer()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if not moved:
                if until_caught_up:
                    break
                self.stopping.wait(poll_interval)
        self._reset_producer()

    def run_once(self) -> int:
        """One batch: how many events it relayed (0 when the log has none after the
        position)."""
        notifications = self.app.recorder.select_notifications(
            start=self.position + 1, limit=self.batch)
        if not notifications:
            return 0
        messages = self.messages(notifications)
        self._send(messages)
        last = notifications[-1].id
        if not self.state.advance(self.term, last):
            raise FencedOut()
        self.position = last
        self.sent += len(messages)
        if self.progress is not None:
            self.progress(self.position, len(notifications))
        return len(notifications)

    def messages(self, notifications: Sequence[Any]) -> list[Message]:
        """What these notifications of the log become on the broker, in their order."""
        events = [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications]
        owners = self._owners_of([event for _, event in events])
        return [message for position, event in events
                for message in messages_of(event, position,
                                           owners.get(str(event.originator_id)))]

    def caught_up(self) -> bool:
        return self.position >= (self.app.recorder.max_notification_id() or 0)

    # -- the broker ------------------------------------------------------------------

    def _send(self, messages: Sequence[Message]) -> None:
        from kafka.errors import KafkaTimeoutError

        if self._producer is None:
            self._producer = self.make_producer()
        producer = self._producer
        futures = [producer.send(m.topic, key=m.key, value=m.value) for m in messages]
        while not all(future.is_done for future in futures):
            if self.stopping.is_set():
                raise InterruptedError("relay stopping")
            with contextlib.suppress(TimeoutError, KafkaTimeoutError):
                producer.flush(timeout=1.0)  # still waiting: look at `stopping`, go round
        for future in futures:
            future.get(timeout=0)  # a failed send raises: the whole batch is sent again

    def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:
                log.debug("closing a producer", exc_info=True)

    # -- whose events ----------------------------------------------------------------

    def _owners_of(self, events: list[Any]) -> dict[str, str | None]:
        """The tenant of each event's aggregate: named by the event, or by the aggregate's
        first event (read once, then remembered)."""
        owners: dict[str, str | None] = {}
        for event in events:
            aggregate = str(event.originator_id)
            if aggregate in owners:
                continue
            tenant = _named_tenant(event)
            if tenant is None and event.originator_version > 1:
                tenant = self._owner(event.originator_id)
            elif event.originator_version == 1:
                self._remember(aggregate, tenant)
            owners[aggregate] = tenant
        return owners

    def _owner(self, aggregate: UUID) -> str | None:
        key = str(aggregate)
        if key in self._owners:
            self._owners.move_to_end(key)
            return self._owners[key]
        first = self.app.recorder.select_events(aggregate, lte=1)
        tenant = _named_tenant(self.app.mapper.to_domain_event(first[0])) if first else None
        self._remember(key, tenant)
        return tenant

    def _remember(self, aggregate: str, tenant: str | None) -> None:
        self._owners[aggregate] = tenant
        if len(self._owners) > OWNERS_MEMO:
            self._owners.popitem(last=False)


def _named_tenant(event: Any) -> str | None:
    """The tenant an event names: a tenant's own events, or its objects' `tenant_id`."""
    if type(event).__qualname__.split(".")[0] == "Tenant":
        return str(event.originator_id)
    tenant = getattr(event, "tenant_id", None)
    return str(tenant) if tenant else None


def kafka_producer(bootstrap: str) -> Producer:
    """kafka-python's producer as the relay needs it: every replica acknowledges, one
    request in flight (retries keep each key's order), and a send that cannot reach the
    broker fails within a minute instead of blocking for ever."""
    from kafka import KafkaProducer

    producer: Producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","), acks="all",
        max_in_flight_requests_per_connection=1, linger_ms=5, batch_size=256 * 1024,
        request_timeout_ms=15_000, max_block_ms=15_000, retry_backoff_ms=200,
        client_id="wharf-relay")
    return producer


def ensure_topics(bootstrap: str) -> None:
    """Creates `wharf.events` and `wharf.bills` when the cluster has not got them."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id="wharf-relay",
                             request_timeout_ms=15_000)
    try:
        for topic in (EVENTS_TOPIC, BILLS_TOPIC):
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS,
                                              replication_factor=1)])
    finally:
        admin.close()


def relay_forever(app: Any, view: ReadModelStore, settings: Any, holder: str,
                  ready: Callable[[Relay], None] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  batch: int = BATCH, until_caught_up: bool = False) -> None:
    """Waits to lead the relay, then relays until stopped (through `ready`'s relay)."""
    from wharf.infra.leader import leadership

    relay = Relay(app, view, lambda: kafka_producer(settings.kafka_bootstrap), holder,
                  batch=batch, progress=progress)
    if ready is not None:
        ready(relay)
    with leadership(settings, "relay", stop=relay.stopping) as leads:
        if not leads or relay.stopping.is_set():
            return
        relay.start()
        while not relay.stopping.is_set():
            try:
                ensure_topics(settings.kafka_bootstrap)
                break
            except Exception as error:
                log.warning("relay cannot reach Kafka at %s (%s); trying again",
                            settings.kafka_bootstrap, type(error).__name__)
                relay.stopping.wait(2.0)
        started = time.monotonic()
        relay.run_forever(until_caught_up=until_caught_up)
        log.info("relay term %d ends at position %d after %.0f s", relay.term,
                 relay.position, time.monotonic() - started)
