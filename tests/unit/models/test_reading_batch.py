"""Reading batches: columns that read back as the readings they hold, joined and split in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models import Cause, Quality, Reading, ReadingBatch, bad, good, uncertain

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def mixed() -> list[Reading]:
    return [
        good("m1", "a", T0, 1.5),
        uncertain("m1", "b", T0, 11.0, Cause.OUT_OF_RANGE, "11 is above the engineering range"),
        bad("m2", "a", T0 + timedelta(seconds=1), Cause.COMMUNICATION, "cannot connect"),
        good("m2", "s", T0 + timedelta(seconds=1), "idle"),
    ]


def test_a_good_batch_reads_back_as_good_readings() -> None:
    batch = ReadingBatch.good("m1", ("a", "b"), T0, [1.0, 2.0])
    assert list(batch) == [good("m1", "a", T0, 1.0), good("m1", "b", T0, 2.0)]
    assert batch[1] == Reading(machine="m1", tag="b", source_ts=T0, value=2.0)
    assert batch.all_good


def test_readings_survive_the_trip_through_columns() -> None:
    readings = mixed()
    batch = ReadingBatch.of(readings)
    assert list(batch) == readings
    assert [batch[i] for i in range(len(batch))] == readings
    assert ReadingBatch.of(batch) is batch
    assert not batch.all_good
    assert batch[2].quality is Quality.BAD
    assert batch[2].value is None


def test_joined_and_split_batches_keep_the_order() -> None:
    first, second = ReadingBatch.of(mixed()), ReadingBatch.good("m3", ("x",), T0, [7.0])
    joined = ReadingBatch.joined([first, second])
    assert list(joined) == [*mixed(), good("m3", "x", T0, 7.0)]
    assert list(joined.part(1, 3)) == mixed()[1:3]
    assert list(joined[3:]) == [mixed()[3], good("m3", "x", T0, 7.0)]
    assert list(joined[::2]) == [mixed()[0], mixed()[2], good("m3", "x", T0, 7.0)]


def test_a_materialised_reading_can_be_copied_with_changes() -> None:
    reading = ReadingBatch.good("m1", ("a",), T0, [1.0])[0]
    changed = reading.model_copy(update={"value": 2.0})
    assert changed.value == 2.0
    assert reading.value == 1.0
    assert "value" in changed.model_fields_set


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        ReadingBatch(("m",), ("a", "b"), (T0,), (1.0,), (Quality.GOOD,), (Cause.NONE,), ("",))


def test_the_readings_are_built_once_for_every_sink_that_iterates() -> None:
    batch = ReadingBatch.of(mixed())
    first, second = list(batch), list(batch)
    assert all(a is b for a, b in zip(first, second, strict=True))
    assert batch[0] is first[0]


def test_readings_given_as_objects_are_handed_on_as_they_are() -> None:
    readings = mixed()
    assert all(a is b for a, b in zip(ReadingBatch.of(readings), readings, strict=True))
