"""Billing: closing tenant-hours, once each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import CloseHours, MeterTraffic
from wharf.domain.base import WharfAggregate
from wharf.domain.billing import Ledger, Line, TrafficMeter, hour_of, month_of
from wharf.domain.errors import Forbidden, InvalidInput

MAX_BILLS = 1000  # per command: bounded work for one save


def _billing_only(ctx: Context, given: list[dict[str, Any]]) -> None:
    if ctx.actor.kind != "system" and not ctx.actor.is_operator:
        raise Forbidden("only Wharf's billing tick and operators close hours")
    if len(given) > MAX_BILLS:
        raise InvalidInput("bills", f"at most {MAX_BILLS} at a time")


def _hour(data: dict[str, Any]) -> tuple[UUID, datetime]:
    tenant_id, hour = UUID(str(data["tenant_id"])), datetime.fromisoformat(str(data["hour"]))
    start = hour_of(hour)
    if hour != start:
        raise InvalidInput("hour", f"{data['hour']} is not the start of an hour")
    return tenant_id, start


def _new_hours(ctx: Context, given: list[dict[str, Any]],
               id_for: Callable[[UUID, datetime], UUID]
               ) -> Iterator[tuple[UUID, UUID, datetime, dict[str, Any]]]:
    """Each tenant-hour given whose aggregate does not exist yet (nor was made earlier in
    this decision): recorded once, never twice."""
    _billing_only(ctx, given)
    for data in given:
        tenant_id, hour = _hour(data)
        ident = id_for(tenant_id, hour)
        if not ctx.exists(ident):
            yield ident, tenant_id, hour, data


def meter_traffic(ctx: Context, cmd: MeterTraffic) -> Decision:
    made: list[WharfAggregate] = [
        ctx.new(TrafficMeter, id=ident, tenant_id=tenant_id, hour=hour.isoformat(),
                sent={str(k): int(v) for k, v in data["sent"].items()})
        for ident, tenant_id, hour, data in _new_hours(ctx, cmd.records, TrafficMeter.id_for)]
    return Decision(made, Outcome(id=None))


def close_hours(ctx: Context, cmd: CloseHours) -> Decision:
    """Each tenant-month's ledger records the given hours it has not closed yet, in one
    event (a second close of an hour, or two ticks at once, change nothing: the ledger
    knows its hours, and the log's version check decides between two ticks)."""
    _billing_only(ctx, cmd.bills)
    months: dict[tuple[UUID, str], list[tuple[datetime, list[Line]]]] = {}
    for data in cmd.bills:
        tenant_id, hour = _hour(data)
        months.setdefault((tenant_id, month_of(hour)), []).append(
            (hour, [Line.from_data(line) for line in data["lines"]]))
    changed: list[WharfAggregate] = []
    for (tenant_id, month), bills in months.items():
        ident = Ledger.id_for(tenant_id, bills[0][0])
        ledger = (ctx.load(Ledger, ident, "ledger") if ctx.exists(ident) else
                  ctx.new(Ledger, id=ident, tenant_id=tenant_id, month=month))
        if ledger.close(bills):
            changed.append(ledger)
    return Decision(changed, Outcome(id=None))
