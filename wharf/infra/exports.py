"""Exports: a tenant's audit trail and the bills of a month, as rows read a page at a
time and encoded as JSON Lines, one JSON array, or CSV, chunk by chunk. The CLI writes
them to stdout (`wharf export`); the API streams them (`/exports/...`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wharf.domain.moments import parse_moment, parse_month
from wharf.projections.reads import Reader
from wharf.projections.reads import audit as audit_reads
from wharf.projections.reads import billing as billing_reads

PAGE = 1000
AUDIT_FIELDS: tuple[str, ...] = (
    "position", "occurred_at", "tenant_id", "kind", "object_id", "version", "type", "actor",
    "cause", "summary", "chain")
BILL_FIELDS: tuple[str, ...] = (
    "bill_id", "tenant_id", "hour", "item", "plan", "plan_version", "quantity", "unit_price",
    "amount", "sources")
FORMATS = {"jsonl": "application/x-ndjson", "json": "application/json", "csv": "text/csv"}


def utc(text: str) -> str:
    """An ISO time as UTC text (ValueError if it is none)."""
    return parse_moment(text).isoformat()


def month_span(month: str, zone: str) -> tuple[datetime, datetime]:
    """[first, next first) of `YYYY-MM` in the zone (ValueError if it is none)."""
    year, number = parse_month(month)
    tz = ZoneInfo(zone)
    return (datetime(year, number, 1, tzinfo=tz),
            datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz))


def audit_rows(reader: Reader, tenant_id: str, since: str, until: str
               ) -> Iterator[dict[str, Any]]:
    position = 0
    while page := audit_reads.between(reader, tenant_id, since, until, position, PAGE):
        for row in page:
            yield {field: getattr(row, field) for field in AUDIT_FIELDS}
        position = page[-1].position


def bill_rows(reader: Reader, lo: datetime, hi: datetime, tenant_id: str | None
              ) -> Iterator[dict[str, Any]]:
    """A row per line of each bill (a tenant's, or every tenant's)."""
    after = ""
    while page := billing_reads.all_bills(reader, lo, hi, after, PAGE, tenant_id):
        for bill in page:
            for line in bill.lines:
                yield {"bill_id": bill.id, "tenant_id": bill.tenant_id,
                       "hour": bill.hour.isoformat(), "item": line.item, "plan": line.plan,
                       "plan_version": line.plan_version, "quantity": str(line.quantity),
                       "unit_price": str(line.unit_price), "amount": str(line.amount),
                       "sources": " ".join(str(s) for s in line.sources)}
        after = page[-1].id


def encode(rows: Iterator[dict[str, Any]], fields: tuple[str, ...], form: str
           ) -> Iterator[str]:
    """The rows as text, a chunk a row (CSV with a header; one JSON array; JSON Lines)."""
    if form == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    elif form == "json":
        yield "["
        for i, row in enumerate(rows):
            yield ("," if i else "") + "\n" + json.dumps(row, sort_keys=True)
        yield "\n]\n"
    else:
        for row in rows:
            yield json.dumps(row, sort_keys=True) + "\n"
