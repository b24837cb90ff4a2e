"""A naive reference for interval aggregates: straight from the readings, no SQL, no partials."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta

from models import Quality, Reading
from models.ports import Aggregate, AggregateStatus

Row = tuple[datetime, float | None, AggregateStatus]


def latest_per_timestamp(readings: Iterable[Reading]) -> list[Reading]:
    """What the store keeps: the last reading written for each (machine, tag, timestamp)."""
    kept = {(r.machine, r.tag, r.source_ts): r for r in readings}
    return sorted(kept.values(), key=lambda r: r.source_ts)


def reference_aggregate(
    readings: Iterable[Reading],
    start: datetime,
    end: datetime,
    interval_s: float,
    kind: Aggregate,
) -> list[Row]:
    """OPC 10000-13 Average/Minimum/Maximum/Count per interval, computed the obvious way."""
    kept = latest_per_timestamp(readings)
    step = timedelta(seconds=interval_s)
    rows: list[Row] = []
    low = start
    while low < end:
        inside = [r for r in kept if low <= r.source_ts < min(low + step, end)]
        rows.append((low, *_one_interval(inside, kind)))
        low += step
    return rows


def _one_interval(inside: list[Reading], kind: Aggregate) -> tuple[float | None, AggregateStatus]:
    good = [r for r in inside if r.quality is Quality.GOOD]
    numbers = [float(r.value) for r in good if isinstance(r.value, int | float)]
    usable = len(good) if kind is Aggregate.COUNT else len(numbers)
    if usable == 0:
        status = AggregateStatus.BAD_NO_DATA
    elif usable < len(inside):
        status = AggregateStatus.UNCERTAIN_DATA_SUBNORMAL
    else:
        status = AggregateStatus.GOOD
    if kind is Aggregate.COUNT:
        return len(good), status
    if not numbers:
        return None, status
    if kind is Aggregate.AVERAGE:
        return statistics.fmean(numbers), status
    return (min(numbers) if kind is Aggregate.MINIMUM else max(numbers)), status
