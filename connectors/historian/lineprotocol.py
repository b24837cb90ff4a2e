"""Readings as InfluxDB line protocol: escaping, fields and the source timestamp in µs, no I/O."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from models import Quality, Reading, to_micros

QUALITY_CODES: dict[Quality, int] = {
    Quality.GOOD: 0x0000_0000,
    Quality.UNCERTAIN: 0x4000_0000,
    Quality.BAD: 0x8000_0000,
}
"""The ``quality`` field: the severity bits of an OPC UA StatusCode (OPC 10000-4 §7.39)."""

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_STRING = str.maketrans({'"': r"\"", "\\": r"\\", "\n": r"\n"})


def escape_measurement(name: str) -> str:
    """A measurement name with commas, spaces and control whitespace escaped."""
    return name.translate(_MEASUREMENT)


def escape_key(text: str) -> str:
    """A tag key, tag value or field key with commas, equals signs and spaces escaped."""
    return text.translate(_KEY)


def quote_string(text: str) -> str:
    """A string field value: quoted, with quotes and backslashes escaped, newlines as ``\\n``."""
    return f'"{text.translate(_STRING)}"'


def format_float(number: float) -> str:
    """A float field as the shortest text that round-trips (``12.0`` is written ``12``)."""
    text = str(float(number))
    return text[:-2] if text.endswith(".0") else text


def reading_fields(reading: Reading) -> str:
    """``cause``, ``quality``, ``value`` (float) or ``value_text`` (string), sorted by key.

    A number or bool goes to ``value``, text to ``value_text`` (a field keeps one type), a Bad
    reading has no value; ``cause`` is written only when the reading is not Good.
    """
    value = reading.value
    if reading.quality is Quality.GOOD and isinstance(value, float):  # the common case, fast
        return f"quality=0i,value={format_float(value)}"
    fields = []
    if reading.quality is not Quality.GOOD:
        fields.append(f"cause={quote_string(reading.cause.value)}")
    fields.append(f"quality={QUALITY_CODES[reading.quality]}i")
    if isinstance(value, str):
        fields.append(f"value_text={quote_string(value)}")
    elif value is not None:
        fields.append(f"value={format_float(value)}")
    return ",".join(fields)


@functools.lru_cache(maxsize=65_536)
def series_key(measurement: str, machine: str, tag: str) -> str:
    """``measurement,machine=…,tag=…`` escaped: the series a point belongs to (cached)."""
    return f"{escape_measurement(measurement)},machine={escape_key(machine)},tag={escape_key(tag)}"


def reading_line(measurement: str, reading: Reading) -> str:
    """One point (InfluxDB line protocol): tags machine and tag, timestamp in microseconds."""
    series = series_key(measurement, reading.machine, reading.tag)
    return f"{series} {reading_fields(reading)} {to_micros(reading.source_ts)}"


def reading_lines(measurement: str, readings: Iterable[Reading]) -> list[bytes]:
    """Each reading's line, UTF-8 encoded, in the order given."""
    return [reading_line(measurement, reading).encode() for reading in readings]
