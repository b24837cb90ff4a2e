"""Interval aggregates (OPC 10000-13 Average, Minimum, Maximum, Count) from mergeable partials."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from connectors.historian.errors import AggregateQueryError
from models import Aggregate, AggregateStatus, AggregateValue, from_micros

MAX_INTERVALS = 100_000
"""Most processing intervals one request may ask for."""


@dataclass(frozen=True, slots=True)
class Partial:
    """What the readings of one interval sum up to; partials of disjoint readings merge exactly.

    ``count`` counts readings of every quality, ``good`` the Good ones, ``numeric`` the Good ones
    with a number (int, float or bool); ``total``/``lowest``/``highest`` are over those numbers.
    """

    count: int = 0
    good: int = 0
    numeric: int = 0
    total: float = 0.0
    lowest: float | None = None
    highest: float | None = None

    def merge(self, other: Partial) -> Partial:
        """The partial of both sets of readings together."""
        return Partial(
            count=self.count + other.count,
            good=self.good + other.good,
            numeric=self.numeric + other.numeric,
            total=self.total + other.total,
            lowest=_pick(min, self.lowest, other.lowest),
            highest=_pick(max, self.highest, other.highest),
        )


def _pick(
    choose: Callable[[float, float], float], a: float | None, b: float | None
) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return choose(a, b)


def status_of(partial: Partial, kind: Aggregate) -> AggregateStatus:
    """PercentValues status (OPC 10000-13 §5.3) with the default AggregateConfiguration.

    TreatUncertainAsBad = true and PercentDataGood = PercentDataBad = 100: Good when every
    reading counts, Bad_NoData when none does, Uncertain_DataSubNormal in between. Count uses
    every Good reading; Average, Minimum and Maximum only Good readings holding a number.
    """
    usable = partial.good if kind is Aggregate.COUNT else partial.numeric
    if usable == 0:
        return AggregateStatus.BAD_NO_DATA
    if usable < partial.count:
        return AggregateStatus.UNCERTAIN_DATA_SUBNORMAL
    return AggregateStatus.GOOD


def value_of(partial: Partial, kind: Aggregate) -> float | None:
    """The aggregate's value (OPC 10000-13 v1.04 §5.4.3.5, .10, .11, .21).

    Average is the simple mean of the Good numeric values (sum / number), not time-weighted.
    Count is the number of Good values, 0 when there is none. The others are None without data.
    """
    if kind is Aggregate.COUNT:
        return partial.good
    if partial.numeric == 0:
        return None
    if kind is Aggregate.AVERAGE:
        return partial.total / partial.numeric
    return partial.lowest if kind is Aggregate.MINIMUM else partial.highest


def interval_count(start_us: int, end_us: int, interval_us: int) -> int:
    """Processing intervals covering [start, end); the last one may be cut short by ``end``.

    Requires start < end and interval > 0; raises AggregateQueryError beyond MAX_INTERVALS.
    """
    if interval_us <= 0 or end_us <= start_us:
        raise AggregateQueryError(
            f"requires start < end and interval > 0 (got {end_us - start_us} µs, {interval_us} µs)"
        )
    count = -(-(end_us - start_us) // interval_us)
    if count > MAX_INTERVALS:
        raise AggregateQueryError(f"{count} intervals requested; at most {MAX_INTERVALS}")
    return count


def interval_starts(start_us: int, end_us: int, interval_us: int) -> Iterator[int]:
    """Start of each processing interval, oldest first."""
    for index in range(interval_count(start_us, end_us, interval_us)):
        yield start_us + index * interval_us


def aggregate_values(
    partials: Mapping[int, Partial], start_us: int, end_us: int, interval_us: int, kind: Aggregate
) -> list[AggregateValue]:
    """One value per processing interval, stamped with its start (``partials`` keyed by index)."""
    empty = Partial()
    values = []
    for index, interval_start in enumerate(interval_starts(start_us, end_us, interval_us)):
        partial = partials.get(index, empty)
        values.append(
            AggregateValue(
                start=from_micros(interval_start),
                value=value_of(partial, kind),
                status=status_of(partial, kind),
            )
        )
    return values
