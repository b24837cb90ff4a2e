"""Modbus TCP framing: requests as the spec lays them out, replies split and parsed whole."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.modbus.transport import (
    DeviceException,
    ModbusFrameError,
    parse_reply,
    request_frame,
    split_frames,
)


def reply(transaction: int, pdu: bytes, unit: int = 1) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


def test_a_read_request_is_the_mbap_header_and_the_read_pdu() -> None:
    # Modbus Messaging on TCP/IP v1.0b §3.1.3; Application Protocol v1.1b3 §6.3
    assert request_frame(0x0102, 17, 3, 0x006B, 3) == bytes.fromhex(
        "0102 0000 0006 11 03 006B 0003"
    )


@given(
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=125),
    st.lists(st.integers(1, 40), min_size=1, max_size=8),
)
def test_frames_split_anywhere_come_out_whole_and_in_order(
    registers: list[int], cuts: list[int]
) -> None:
    data = struct.pack(f">{len(registers)}H", *registers)
    pdu = bytes([3, len(data)]) + data
    stream = reply(7, pdu) + reply(8, bytes([0x83, 2]))
    buffer, frames, position = bytearray(), [], 0
    for cut in [*cuts, len(stream)]:
        buffer += stream[position : position + cut]
        position += cut
        frames += split_frames(buffer)
    assert [t for t, _ in frames] == [7, 8]
    assert not buffer
    assert parse_reply(frames[0][1], 1, 3, len(registers)) == data
    assert parse_reply(frames[1][1], 1, 3, len(registers)) == DeviceException(2)


def test_bits_come_lowest_first_eight_to_a_byte() -> None:
    # Application Protocol v1.1b3 §6.1: coils 20-38 answered as CD 6B 05
    bits = parse_reply(bytes([1, 1, 3, 0xCD, 0x6B, 0x05]), 1, 1, 19)
    assert bits == [bool(0xCD >> i & 1) for i in range(8)] + [
        bool(0x6B >> i & 1) for i in range(8)
    ] + [True, False, True]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (bytes([2, 3, 2, 0, 1]), "unit 2"),
        (bytes([1, 4, 2, 0, 1]), "function code 4"),
        (bytes([1, 3, 4, 0, 1]), "2 bytes"),
    ],
)
def test_a_reply_that_does_not_answer_the_request_is_refused(frame: bytes, reason: str) -> None:
    with pytest.raises(ModbusFrameError, match=reason):
        parse_reply(frame, 1, 3, 1)


def test_a_stream_that_is_not_modbus_is_refused() -> None:
    with pytest.raises(ModbusFrameError, match="protocol 1"):
        split_frames(bytearray(struct.pack(">HHHB", 1, 1, 3, 1) + b"\x03\x00"))
