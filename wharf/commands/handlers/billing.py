"""Billing: closing tenant-hours, once each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import CloseHours, MeterTraffic
from wharf.domain.base import WharfAggregate
from wharf.domain.billing import Bill, Line, TrafficMeter, hour_of, total
from wharf.domain.errors import Forbidden, InvalidInput

MAX_BILLS = 1000  # per command: bounded work for one save


def _billing_only(ctx: Context, given: list[dict[str, Any]]) -> None:
    if ctx.actor.kind != "system" and not ctx.actor.is_operator:
        raise Forbidden("only Wharf's billing tick and operators close hours")
    if len(given) > MAX_BILLS:
        raise InvalidInput("bills", f"at most {MAX_BILLS} at a time")


def _hour(data: dict[str, Any]) -> tuple[UUID, datetime]:
    tenant_id, hour = UUID(str(data["tenant_id"])), datetime.fromisoformat(str(data["hour"]))
    if hour != hour_of(hour):
        raise InvalidInput("hour", f"{data['hour']} is not the start of an hour")
    return tenant_id, hour


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
    made: list[WharfAggregate] = []
    for ident, tenant_id, hour, data in _new_hours(ctx, cmd.bills, Bill.id_for):
        lines = [Line.from_data(line) for line in data["lines"]]
        made.append(ctx.new(Bill, id=ident, tenant_id=tenant_id, hour=hour.isoformat(),
                            lines=[line.to_data() for line in lines],
                            total=str(total(lines))))
    return Decision(made, Outcome(id=None))
