"""Moments given as text (API arguments, CLI options, export parameters): one parser, so
that every entry point refuses the same things the same way."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_moment(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime (no offset: UTC). ValueError for anything
    else, a time that cannot be shown in UTC (year 1 at +14:00) included."""
    if not text.isascii():
        raise ValueError(f"not an ISO time: {text[:40]!r}")
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"out of range: {text[:40]!r}") from None


def parse_month(text: str) -> tuple[int, int]:
    """`YYYY-MM` (ASCII digits, years 1 to 9998) as (year, month); ValueError otherwise."""
    year, _, number = text.partition("-")
    if not (year.isascii() and year.isdigit() and number.isascii() and number.isdigit()
            and len(year) == 4 and len(number) == 2 and 1 <= int(number) <= 12
            and 1 <= int(year) <= 9998):
        raise ValueError(f"not a month YYYY-MM: {text[:40]!r}")
    return int(year), int(number)
