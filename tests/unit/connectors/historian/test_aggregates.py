"""Mergeable partials and the OPC 10000-13 value and status rules, without a store."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.historian.aggregates import (
    MAX_INTERVALS,
    Partial,
    aggregate_values,
    interval_count,
    status_of,
    value_of,
)
from connectors.historian.errors import AggregateQueryError
from models.ports import Aggregate, AggregateStatus
from models.timebase import from_micros

Sample = tuple[bool, float | None]  # (good, number or None for a Good text / a Bad reading)
samples = st.lists(
    st.tuples(st.booleans(), st.none() | st.floats(-1e6, 1e6, allow_nan=False)), max_size=30
)


def partial_of(items: list[Sample]) -> Partial:
    numbers = [number for good, number in items if good and number is not None]
    return Partial(
        count=len(items),
        good=sum(1 for good, _ in items if good),
        numeric=len(numbers),
        total=math.fsum(numbers),
        lowest=min(numbers, default=None),
        highest=max(numbers, default=None),
    )


@given(samples, samples)
def test_merging_partials_equals_the_partial_of_all_readings(
    a: list[Sample], b: list[Sample]
) -> None:
    merged, whole = partial_of(a).merge(partial_of(b)), partial_of(a + b)
    assert (merged.count, merged.good, merged.numeric) == (whole.count, whole.good, whole.numeric)
    assert (merged.lowest, merged.highest) == (whole.lowest, whole.highest)
    assert merged.total == pytest.approx(whole.total, abs=1e-6)


@given(samples)
def test_merging_with_nothing_changes_nothing(items: list[Sample]) -> None:
    partial = partial_of(items)
    assert partial.merge(Partial()) == partial == Partial().merge(partial)


def test_average_is_the_simple_mean_of_good_numbers() -> None:
    partial = partial_of([(True, 1.0), (True, 2.0), (True, 6.0), (False, None)])
    assert value_of(partial, Aggregate.AVERAGE) == 3.0
    assert value_of(partial, Aggregate.MINIMUM) == 1.0
    assert value_of(partial, Aggregate.MAXIMUM) == 6.0
    assert value_of(partial, Aggregate.COUNT) == 3


@pytest.mark.parametrize(
    ("items", "status"),
    [
        ([(True, 1.0), (True, 2.0)], AggregateStatus.GOOD),
        ([(True, 1.0), (False, None)], AggregateStatus.UNCERTAIN_DATA_SUBNORMAL),
        ([(False, None)], AggregateStatus.BAD_NO_DATA),
        ([], AggregateStatus.BAD_NO_DATA),
    ],
)
def test_status_follows_the_share_of_good_readings(
    items: list[Sample], status: AggregateStatus
) -> None:
    for kind in Aggregate:
        assert status_of(partial_of(items), kind) is status


def test_good_text_counts_but_has_no_average() -> None:
    partial = partial_of([(True, None), (True, 4.0)])
    assert status_of(partial, Aggregate.COUNT) is AggregateStatus.GOOD
    assert status_of(partial, Aggregate.AVERAGE) is AggregateStatus.UNCERTAIN_DATA_SUBNORMAL
    assert value_of(partial_of([(True, None)]), Aggregate.AVERAGE) is None


def test_an_interval_without_data_is_bad_no_data_with_count_zero() -> None:
    values = aggregate_values({}, 0, 10, 5, Aggregate.COUNT)
    assert [(v.start, v.value, v.status) for v in values] == [
        (from_micros(0), 0, AggregateStatus.BAD_NO_DATA),
        (from_micros(5), 0, AggregateStatus.BAD_NO_DATA),
    ]


def test_the_last_interval_may_be_cut_short_by_the_end() -> None:
    assert interval_count(0, 11, 5) == 3
    assert interval_count(0, 10, 5) == 2


@pytest.mark.parametrize(
    ("start", "end", "interval"), [(10, 10, 1), (10, 5, 1), (0, 10, 0), (0, MAX_INTERVALS + 1, 1)]
)
def test_impossible_requests_are_refused_with_advice(start: int, end: int, interval: int) -> None:
    with pytest.raises(AggregateQueryError) as caught:
        interval_count(start, end, interval)
    assert "interval" in caught.value.advice
