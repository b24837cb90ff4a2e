"""Line protocol of readings, checked against influxdb-client's own Point encoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from connectors.historian.lineprotocol import QUALITY_CODES, reading_line, reading_lines
from models import Cause, Quality, Reading, bad, good, uncertain
from models.timebase import to_micros

T0 = datetime(2026, 3, 1, tzinfo=UTC)
names = st.text(st.characters(codec="utf-8", exclude_characters="\\"), min_size=1, max_size=12)
numbers = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53)
texts = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=20)


def point_line(measurement: str, reading: Reading) -> str:
    point: Any = Point(measurement)  # type: ignore[no-untyped-call]  # unannotated upstream
    point.tag("machine", reading.machine).tag("tag", reading.tag)
    point.field("quality", QUALITY_CODES[reading.quality])
    if reading.quality is not Quality.GOOD:
        point.field("cause", reading.cause.value)
    if isinstance(reading.value, str):
        point.field("value_text", reading.value)
    elif reading.value is not None:
        point.field("value", float(reading.value))
    point.time(to_micros(reading.source_ts), WritePrecision.US)
    return str(point.to_line_protocol())


@given(names, names, numbers, st.integers(0, 10**12))
def test_numbers_encode_like_influxdb_client(machine: str, tag: str, value: float, us: int) -> None:
    reading = good(machine, tag, T0 + timedelta(microseconds=us), value)
    assert reading_line("telemetry", reading) == point_line("telemetry", reading)


@given(names, texts)
def test_text_values_encode_like_influxdb_client(machine: str, value: str) -> None:
    reading = good(machine, "serial", T0, value)
    assert reading_line("telemetry", reading) == point_line("telemetry", reading)


@given(st.sampled_from(list(Cause)), st.floats(-1e9, 1e9))
def test_uncertain_and_bad_readings_keep_their_quality_and_cause(
    cause: Cause, value: float
) -> None:
    for reading in (uncertain("m", "t", T0, value, cause, "r"), bad("m", "t", T0, cause, "r")):
        assert reading_line("telemetry", reading) == point_line("telemetry", reading)


def test_a_bad_reading_has_no_value_and_the_bad_status_code() -> None:
    line = reading_line("telemetry", bad("mill-1", "temp", T0, Cause.COMMUNICATION, "timeout"))
    micros = to_micros(T0)
    assert line == (
        f'telemetry,machine=mill-1,tag=temp cause="communication",quality=2147483648i {micros}'
    )


def test_bools_are_numbers_and_newlines_in_text_stay_on_one_line() -> None:
    lines = reading_lines("telemetry", [good("m", "on", T0, True), good("m", "s", T0, "a\nb")])
    assert b"value=1 " in lines[0]
    assert b'value_text="a\\nb"' in lines[1]
    assert all(b"\n" not in line for line in lines)
