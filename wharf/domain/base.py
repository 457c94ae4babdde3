"""The base aggregate: every event says who caused it and why."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Self
from uuid import NAMESPACE_URL, UUID, uuid5

# (The one "created" event class of each aggregate, as calling the class looks it up;
# eventsourcing offers no public way to create with a timestamp otherwise.)
from eventsourcing.domain import Aggregate, Snapshot, _created_event_classes

SYSTEM = "system"

# Namespace of every derived id (house habit 2: ids unique per meaning are derived).
WHARF_NS = UUID("6f1c2b9e-4b1a-5a8e-9d3c-2f0e8b7a6c51")


def derive_id(*parts: object) -> UUID:
    """A deterministic id for a meaning, e.g. derive_id("tenant", name)."""
    return uuid5(WHARF_NS, "/".join(str(p) for p in parts))


EVENT_IDS = uuid5(NAMESPACE_URL, "https://wharf.invalid/events")


def event_id(aggregate_id: UUID | str, version: int) -> str:
    """An event's id: the same wherever it is shown or sent (derived from its aggregate
    and version, which the log holds once)."""
    return str(uuid5(EVENT_IDS, f"{aggregate_id}/{version}"))


class WharfSnapshot(Snapshot):
    """A snapshot whose aggregate says how its state goes to JSON and back (a spec as its
    data, a dict keyed by numbers as pairs): `_to_snapshot` and `_from_snapshot`."""

    @classmethod
    def take(cls, aggregate: Any) -> Self:
        snapshot = super().take(aggregate)
        aggregate._to_snapshot(snapshot.state)  # (a copy of the aggregate's attributes)
        return snapshot

    def mutate(self, _: None) -> Any:
        made: Any = super().mutate(_)
        made._from_snapshot()
        return made


class WharfAggregate(Aggregate):
    """Every event carries `actor` (who) and `cause` (which command or request), and is
    timed by the command's clock, never the wall's: a test (or `wharf billing run`) that
    drives the clock drives every time a bill or a read model sees.

    Every event also carries `correlation` (the request a chain of work began with) and
    `causation` (what led to it directly: the command's id, or for the scheduler's
    observations the id of the event it acted on). Events written before these existed
    read as "". The aggregate remembers its last event's (`traced`), so that the
    scheduler's writes carry on the chain of the change they carry out.

    The command layer stamps an aggregate before it calls its methods, and makes new
    ones with `create(at=...)`; `__init__` methods take `actor` and `cause` as arguments
    because there is no instance yet. (eventsourcing's @event methods and a plain class
    call take no timestamp: `trigger_event` and `_create` do.)
    """

    class Event(Aggregate.Event):
        actor: str
        cause: str
        correlation: str
        causation: str

        def mutate(self, aggregate: Any) -> Any:
            made: Any = super().mutate(aggregate)
            made._correlation = self.correlation  # (its id is derived when asked for)
            made._applied(self)
            return made

    class Created(Event, Aggregate.Created):
        pass

    _stamp: tuple[str, str] = (SYSTEM, "")
    _stamp_at: datetime | None = None
    _trace: tuple[str, str] = ("", "")  # (correlation, causation) of the next events
    _correlation = ""  # of the last event

    @classmethod
    def create(cls, *, at: datetime, **kwargs: Any) -> Self:
        """A new aggregate whose created event is timed `at` (what calling the class
        does, with a time)."""
        [created] = _created_event_classes[cls]
        made = cls._create(event_class=created, timestamp=at, **kwargs)
        made._stamp_at = at
        made._trace = (kwargs.get("correlation", ""), kwargs.get("causation", ""))
        return made

    @classmethod
    def _create(cls, event_class: Any, *, id: Any = None, **kwargs: Any) -> Self:
        kwargs.setdefault("correlation", "")
        kwargs.setdefault("causation", "")
        return super()._create(event_class, id=id, **kwargs)

    Snapshot = WharfSnapshot

    def _to_snapshot(self, state: dict[str, Any]) -> None:
        """Replaces, in a snapshot's copy of the attributes, what JSON cannot hold."""

    def _from_snapshot(self) -> None:
        """Undoes `_to_snapshot` on the aggregate rebuilt from a snapshot."""

    def _applied(self, event: Any) -> None:
        """After each event: what an aggregate keeps of an event's own time (its methods
        see only their arguments)."""

    @property
    def traced(self) -> tuple[str, str]:
        """(correlation, event id) of this aggregate's last event."""
        return self._correlation, event_id(self.id, self.version)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        """A copy one level deep, which is a whole copy here.

        The repository copies every aggregate it hands out from its cache. Event bodies in
        Wharf never edit a nested value in place (they replace it), so copying each
        top-level dict, list or set is enough, and much cheaper than copy.deepcopy.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(
            {k: copy.copy(v) if isinstance(v, dict | list | set) else v
             for k, v in self.__dict__.items()}
        )
        return clone

    def stamp(self, actor: str, cause: str, at: datetime | None = None,
              trace: tuple[str, str] = ("", "")) -> None:
        self._stamp = (actor, cause)
        self._stamp_at = at
        self._trace = trace

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs.setdefault("actor", self._stamp[0])
        kwargs.setdefault("cause", self._stamp[1])
        kwargs.setdefault("correlation", self._trace[0])
        kwargs.setdefault("causation", self._trace[1])
        if self._stamp_at is not None:
            kwargs.setdefault("timestamp", self._stamp_at)
        super().trigger_event(event_class, **kwargs)


class DiskMeasured:
    """Disk use measured from outside (no quota enforces it): records crossing the limit
    either way, and nothing for a measurement that changes nothing (metrics are not
    events). The aggregate defines the two events."""

    disk_over_since: str

    def _disk_over_limit(self, used_mib: int, limit_mib: int, at: str) -> None: ...

    def _disk_within_limit(self, used_mib: int, limit_mib: int) -> None: ...

    def _measured(self, used_mib: int, limit_mib: int, at: str) -> bool:
        over = used_mib > limit_mib
        if over and not self.disk_over_since:
            self._disk_over_limit(used_mib=used_mib, limit_mib=limit_mib, at=at)
            return True
        if not over and self.disk_over_since:
            self._disk_within_limit(used_mib=used_mib, limit_mib=limit_mib)
            return True
        return False


# Events recorded before correlation and causation existed have neither in their state:
# they read as "" (set after the dataclass is made, so every event still takes both).
WharfAggregate.Event.correlation = ""  # type: ignore[misc]
WharfAggregate.Event.causation = ""  # type: ignore[misc]
