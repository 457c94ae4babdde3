"""Host health: a host whose engine stays silent past the grace period is lost (its
stateless containers are placed elsewhere); a lost host that answers again recovers."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from wharf.commands import messages as m
from wharf.schedulers.leading import Leading
from wharf.schedulers.placement import HostRoom
from wharf.schedulers.ports import Observed

log = logging.getLogger(__name__)


class HostHealth:
    def __init__(self, leading: Leading, grace: timedelta) -> None:
        self.leading = leading
        self.grace = grace
        self._silent_since: dict[str, datetime] = {}  # host id -> its first silent pass

    def check(self, hosts: list[HostRoom], observed: dict[str, list[Observed]],
              silent: list[str], now: datetime
              ) -> tuple[int, list[HostRoom], datetime | None]:
        """Records hosts lost and recovered. Returns the position written, the hosts as
        they now are, and when the next silent host's grace period ends."""
        position, wake_at, states = 0, None, {}
        for host in hosts:
            if host.id in observed:
                self._silent_since.pop(host.id, None)
                if host.state == "lost":
                    outcome = self.leading.record(m.MarkHostRecovered, host_id=UUID(host.id))
                    position = max(position, outcome.position)
                    log.warning("host %s answers again", host.name)
                    states[host.id] = "active"  # its own state is back on the next pass
            elif host.id in silent:
                since = self._silent_since.setdefault(host.id, now)
                if host.state not in ("active", "draining"):
                    continue
                if now - since >= self.grace:
                    outcome = self.leading.record(m.MarkHostLost, host_id=UUID(host.id),
                                                  silent_since=since.isoformat())
                    position = max(position, outcome.position)
                    log.warning("host %s lost: silent since %s", host.name, since)
                    states[host.id] = "lost"
                else:
                    due = since + self.grace
                    wake_at = due if wake_at is None else min(wake_at, due)
        hosts = [replace(h, state=states[h.id]) if h.id in states else h for h in hosts]
        return position, hosts, wake_at
