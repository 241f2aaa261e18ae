"""Cassandra ``timestamp`` values come back from the driver as naive UTC datetimes; the
code compares aware ones."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
