"""Timestamps as logs write them (ISO 8601 with or without zone, epoch seconds, milliseconds or nanoseconds,
numbers as strings, Parquet datetimes) turned into ISO 8601 UTC text, and latencies between two of them."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

_EPOCH_MS_FROM = 10**11  # larger epoch numbers are milliseconds
_EPOCH_US_FROM = 10**14
_EPOCH_NS_FROM = 10**17


def parse_timestamp(value: Any) -> datetime | None:
    """A UTC datetime, or None when the value is no timestamp. Zone-less text is taken as UTC."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return _parse_text(text)
        return _from_epoch(number)
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    return None


def _from_epoch(number: float) -> datetime | None:
    if not math.isfinite(number) or number < 0:
        return None
    if number >= _EPOCH_NS_FROM:
        number /= 1e9
    elif number >= _EPOCH_US_FROM:
        number /= 1e6
    elif number >= _EPOCH_MS_FROM:
        number /= 1e3
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_text(text: str) -> datetime | None:
    candidate = text.replace("Z", "+00:00") if text.endswith("Z") else text
    candidate = candidate.replace(",", ".", 1) if "," in candidate[17:24] else candidate
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def as_time(value: Any) -> Any:
    """A timestamp as text: Parquet exports give datetimes (naive ones are UTC, as the exports write UTC)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


def iso_utc(value: Any) -> str | None:
    parsed = parse_timestamp(value)
    return parsed.isoformat().replace("+00:00", "Z") if parsed else None


def latency_ms(start: Any, end: Any) -> float | None:
    """Milliseconds from ``start`` to ``end``; None when either is missing or the order is impossible."""
    begin, finish = parse_timestamp(start), parse_timestamp(end)
    if begin is None or finish is None or finish < begin:
        return None
    return (finish - begin).total_seconds() * 1000.0
