"""A printer's operation counters: builds started and time spent building, never shrinking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opcua_server.model.additive import OperationCount

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_a_build_counts_one_cycle_and_its_duration() -> None:
    count = OperationCount().observe(True, T0).observe(True, T0 + timedelta(seconds=5))
    assert (count.cycles, count.duration_at(T0 + timedelta(seconds=5))) == (1, 5000.0)
    ended = count.observe(False, T0 + timedelta(seconds=8))
    assert (ended.cycles, ended.duration_ms, ended.printing_since) == (1, 8000.0, None)
    again = ended.observe(False, T0 + timedelta(hours=1)).observe(True, T0 + timedelta(hours=2))
    assert again.cycles == 2
    assert again.observe(False, T0 + timedelta(hours=2, seconds=2)).duration_ms == 10000.0


def test_the_count_survives_its_text_and_a_bad_record_starts_at_zero() -> None:
    count = OperationCount(cycles=3, duration_ms=1234.5)
    assert OperationCount.from_text(count.to_text()) == count
    assert OperationCount.from_text("") == OperationCount()
    assert OperationCount.from_text("three 1.0") == OperationCount()


def test_a_clock_going_back_adds_no_negative_time() -> None:
    count = OperationCount(duration_ms=100.0).observe(True, T0)
    assert count.duration_at(T0 - timedelta(seconds=1)) == 100.0
