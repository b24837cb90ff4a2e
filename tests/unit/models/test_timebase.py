"""Microseconds since the epoch, exact both ways, and the clock moved by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.timebase import ManualClock, from_micros, seconds_to_micros, to_micros

START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@given(st.datetimes(timezones=st.just(UTC)))
def test_micros_round_trip_exactly_over_the_whole_calendar(ts: datetime) -> None:
    assert from_micros(to_micros(ts)) == ts


def test_micros_count_from_the_unix_epoch() -> None:
    assert to_micros(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert to_micros(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == -1
    assert to_micros(START) == 1_795_334_400_000_000
    assert seconds_to_micros(1.5) == 1_500_000


def test_a_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(START)
    assert clock.now() == clock.now() == START
    assert clock.advance(30) == START + timedelta(seconds=30)
    clock.set(START + timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_a_ticking_clock_answers_ordered_times() -> None:
    clock = ManualClock(START, tick=timedelta(milliseconds=1))
    assert [clock.now() for _ in range(3)] == [
        START,
        START + timedelta(milliseconds=1),
        START + timedelta(milliseconds=2),
    ]
    assert clock.peek() == START + timedelta(milliseconds=3)


def test_a_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))
