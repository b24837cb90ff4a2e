"""HistoryRead from stored rows: the same bytes and continuation points as from Reading objects."""

from __future__ import annotations

from asyncua import ua
from asyncua.ua.ua_binary import extensionobject_to_binary

from models import Cause, Quality, Reading, from_micros
from opcua_server.history.raw import RawPosition, RawRow, raw_result, raw_rows_result

T0_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z

ROWS: list[RawRow] = [
    (T0_US, 21.5, "good", "none", ""),
    (T0_US + 1, 7, "good", "none", ""),
    (T0_US + 1, 8, "good", "none", ""),  # two readings stamped alike: the page may split them
    (T0_US + 2, None, "bad", "communication", "timeout"),
    (T0_US + 3, 99.0, "uncertain", "out_of_range", "above 90"),
    (T0_US + 4, "jammed", "good", "none", ""),
    (T0_US + 5, None, "bad", "none", "no value"),
    (T0_US + 6, -0.25, "bad", "invalid_value", "sensor open"),
]


def reading_of(row: RawRow) -> Reading:
    stamp, value, quality, cause, reason = row
    return Reading(
        machine="mill-1",
        tag="spindle_temp",
        source_ts=from_micros(stamp),
        value=value,
        quality=Quality(quality),
        cause=Cause(cause),
        reason=reason,
    )


def wire(result: ua.HistoryReadResult) -> bytes:
    return bytes(extensionobject_to_binary(result.HistoryData))


def test_rows_encode_as_the_readings_data_values_do_page_by_page() -> None:
    readings = [reading_of(row) for row in ROWS]
    for limit in range(1, len(ROWS) + 1):
        for first in range(len(ROWS)):
            after = RawPosition(from_micros(ROWS[first][0]), skip=first % 2)
            fast = raw_rows_result(ROWS[first:], limit, after)
            slow = raw_result(readings[first:], limit, after)
            assert wire(fast) == wire(slow)
            assert fast.ContinuationPoint == slow.ContinuationPoint


def test_an_empty_page_encodes_as_no_values() -> None:
    fast = raw_rows_result([], 10, RawPosition(from_micros(T0_US)))
    assert wire(fast) == wire(raw_result([], 10, RawPosition(from_micros(T0_US))))
    assert fast.ContinuationPoint is None
