"""SQLite retention and rollups: processed history matches a naive reference before and after."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.historian import Retention, RollupIntervalChangedError, TelemetryStore
from models import Cause, Reading, bad, good, uncertain
from models.ports import Aggregate
from tests.unit.connectors.historian.reference import latest_per_timestamp, reference_aggregate

T0 = datetime(2026, 3, 1, tzinfo=UTC)  # aligned to every rollup interval used here
RAW_S = 100.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TelemetryStore]:
    opened = TelemetryStore(tmp_path / "t.sqlite", Retention(RAW_S, 10, 1000.0), chunk_rows=7)
    yield opened
    opened.close()


def reading(machine: str, micros: int, kind: int, number: float) -> Reading:
    """One of: Good number, Good bool, Good text, Uncertain number, Bad (by ``kind``)."""
    ts = T0 + timedelta(microseconds=micros)
    if kind == 0:
        return good(machine, "t", ts, number)
    if kind == 1:
        return good(machine, "t", ts, number > 0)
    if kind == 2:
        return good(machine, "t", ts, f"text {number}")
    if kind == 3:
        return uncertain(machine, "t", ts, number, Cause.OUT_OF_RANGE, "above eu_high")
    return bad(machine, "t", ts, Cause.COMMUNICATION, "timeout")


readings_strategy = st.lists(
    st.builds(
        reading,
        st.sampled_from(["m1", "m2"]),
        st.integers(0, 400_000_000),
        st.sampled_from([0, 0, 0, 1, 2, 3, 4]),
        st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
    ),
    max_size=60,
    unique_by=lambda r: (r.machine, r.source_ts),
)


def assert_matches_reference(
    store: TelemetryStore, written: list[Reading], interval_s: int, span_s: int
) -> None:
    start, end = T0 - timedelta(seconds=interval_s), T0 + timedelta(seconds=span_s)
    for machine in ("m1", "m2"):
        mine = [r for r in written if r.machine == machine]
        for kind in Aggregate:
            got = store.aggregate(machine, "t", start, end, interval_s, kind)
            expected = reference_aggregate(mine, start, end, interval_s, kind)
            assert [(v.start, v.status) for v in got] == [(s, st_) for s, _, st_ in expected]
            for value, (_, want, _) in zip(got, expected, strict=True):
                assert value.value == (want if want is None else pytest.approx(want, rel=1e-9))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    written=readings_strategy,
    cuts=st.lists(st.integers(0, 60), max_size=2),
    rollup_s=st.sampled_from([1, 5, 10, 60]),
    interval_factor=st.integers(1, 4),
    chunk_rows=st.integers(1, 40),
    nows=st.lists(st.integers(0, 500), max_size=3),
)
def test_processed_history_is_the_same_before_and_after_rollups(
    written: list[Reading],
    cuts: list[int],
    rollup_s: int,
    interval_factor: int,
    chunk_rows: int,
    nows: list[int],
) -> None:
    """Written in up to three batches, maintained in between; no reading is written twice."""
    edges = [0, *sorted(cuts), len(written)]
    batches = [written[a:b] for a, b in itertools.pairwise(edges)]
    with tempfile.TemporaryDirectory() as folder:
        store = TelemetryStore(
            Path(folder) / "t.sqlite", Retention(RAW_S, rollup_s, 1e9), chunk_rows=chunk_rows
        )
        try:
            for index, batch in enumerate(batches):
                store.write(batch)
                if index < len(nows):
                    store.maintain(T0 + timedelta(seconds=RAW_S + sorted(nows)[index]))
                assert_matches_reference(
                    store, written[: edges[index + 1]], rollup_s * interval_factor, 420
                )
        finally:
            store.close()


@settings(max_examples=30, deadline=None)
@given(readings_strategy, st.integers(0, 500))
def test_only_readings_older_than_the_raw_retention_leave_the_raw_table(
    written: list[Reading], now_s: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = TelemetryStore(Path(folder) / "t.sqlite", Retention(RAW_S, 10, 1e9), chunk_rows=3)
        try:
            store.write(written)
            now = T0 + timedelta(seconds=RAW_S + now_s)
            report = store.maintain(now)
            kept = latest_per_timestamp(written)
            young = [r for r in kept if r.source_ts >= now - timedelta(seconds=RAW_S)]
            assert store.count() == len(young)
            assert report.rolled_up == len(kept) - len(young)
            for machine in ("m1", "m2"):
                raw = store.query(machine, "t", T0, T0 + timedelta(seconds=500))
                assert raw == [r for r in young if r.machine == machine]
        finally:
            store.close()


def test_maintain_twice_at_the_same_time_changes_nothing(store: TelemetryStore) -> None:
    store.write([good("m1", "t", T0 + timedelta(seconds=s), float(s)) for s in range(300)])
    now = T0 + timedelta(seconds=250)
    first = store.maintain(now)
    before = store.aggregate("m1", "t", T0, now, 10, Aggregate.AVERAGE)
    again = store.maintain(now)
    assert first.rolled_up == 150
    assert (again.rolled_up, again.expired_aggregates) == (0, 0)
    assert store.aggregate("m1", "t", T0, now, 10, Aggregate.AVERAGE) == before
    assert [v.value for v in before[:3]] == [4.5, 14.5, 24.5]


def test_maintenance_transactions_are_bounded_by_chunk_rows(store: TelemetryStore) -> None:
    store.write([good("m1", "t", T0 + timedelta(seconds=s), 1.0) for s in range(70)])
    report = store.maintain(T0 + timedelta(seconds=RAW_S + 70))
    assert report.rolled_up == 70
    assert report.transactions >= 70 // store.chunk_rows


def test_aggregates_expire_after_their_whole_interval_is_past_retention(
    store: TelemetryStore,
) -> None:
    store.write([good("m1", "t", T0 + timedelta(seconds=s), 1.0) for s in range(0, 30)])
    store.maintain(T0 + timedelta(seconds=RAW_S + 30))
    assert (store.count(), store.count_rollups()) == (0, 3)
    # rollups [0,10) [10,20) [20,30); aggregate retention 1000 s
    store.maintain(T0 + timedelta(seconds=1019))
    assert store.count_rollups() == 2
    store.maintain(T0 + timedelta(seconds=1030))
    assert store.count_rollups() == 0


def test_old_ranges_resolve_to_the_rollup_interval(store: TelemetryStore) -> None:
    store.write([good("m1", "t", T0 + timedelta(seconds=s), float(s)) for s in range(20)])
    store.maintain(T0 + timedelta(seconds=RAW_S + 20))
    values = store.aggregate("m1", "t", T0, T0 + timedelta(seconds=20), 5, Aggregate.COUNT)
    # each 10 s rollup counts in the 5 s interval holding its start
    assert [v.value for v in values] == [10, 0, 10, 0]


def test_the_rollup_interval_is_fixed_once_rollups_exist(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    store = TelemetryStore(path, Retention(RAW_S, 10, 1000.0))
    store.close()
    store = TelemetryStore(path, Retention(RAW_S, 60, 1000.0))  # no rollups yet: allowed
    store.write([good("m1", "t", T0, 1.0)])
    store.maintain(T0 + timedelta(seconds=RAW_S + 60))
    store.close()
    with pytest.raises(RollupIntervalChangedError) as caught:
        TelemetryStore(path, Retention(RAW_S, 10, 1000.0))
    assert "rollup_interval_s = 60" in caught.value.advice


def test_a_late_reading_is_folded_into_its_interval_and_reported(store: TelemetryStore) -> None:
    store.write([good("m1", "t", T0 + timedelta(seconds=s), 2.0) for s in range(10)])
    store.maintain(T0 + timedelta(seconds=RAW_S + 10))
    store.write([good("m1", "t", T0 + timedelta(seconds=5.5), 8.0)])  # after its rollup
    report = store.maintain(T0 + timedelta(seconds=RAW_S + 10))
    assert (report.late, report.rolled_up) == (1, 1)
    values = store.aggregate("m1", "t", T0, T0 + timedelta(seconds=10), 10, Aggregate.AVERAGE)
    assert [v.value for v in values] == [pytest.approx(28.0 / 11)]


def test_a_rewrite_inside_the_raw_retention_replaces_the_reading(store: TelemetryStore) -> None:
    store.write([good("m1", "t", T0, 1.0)])
    store.write([good("m1", "t", T0, 5.0)])
    assert store.count() == 1
    values = store.aggregate("m1", "t", T0, T0 + timedelta(seconds=10), 10, Aggregate.MAXIMUM)
    assert [v.value for v in values] == [5.0]


def test_unknown_points_have_no_data(store: TelemetryStore) -> None:
    values = store.aggregate("nope", "t", T0, T0 + timedelta(seconds=20), 10, Aggregate.MAXIMUM)
    assert [(v.value, v.status.value) for v in values] == [(None, "bad_no_data")] * 2
