"""Modbus TCP read client: MBAP frames over one asyncio connection, registers kept as bytes."""

from __future__ import annotations

import asyncio
import itertools
import struct
from dataclasses import dataclass

from connectors.errors import ConnectorError

_REQUEST = struct.Struct(">HHHBBHH")
"""MBAP header (transaction id, protocol 0, length 6, unit id) and a read PDU (function code,
start address, quantity): Modbus Messaging on TCP/IP v1.0b §3.1.3, Application Protocol
v1.1b3 §6.1-§6.4."""

_HEADER = struct.Struct(">HHH")
"""Transaction id, protocol id and the byte count that follows (unit id + PDU)."""

_MAX_FRAME = 260
"""Modbus Messaging on TCP/IP v1.0b §3.1.3: an ADU holds at most 260 bytes."""


class ModbusFrameError(ConnectorError, ConnectionError):
    """A device answered with a frame that is not the reply to the request sent.

    A ConnectionError too: the link cannot be trusted any more, so it is closed and reopened
    like any other communication failure.
    """


@dataclass(frozen=True, slots=True)
class DeviceException:
    """A device's exception reply (Application Protocol v1.1b3 §7): data, not an error."""

    code: int


Reply = bytes | list[bool] | DeviceException
"""Registers as big-endian bytes (as they travel), the bits of a bit table, or an exception."""


def request_frame(transaction: int, unit: int, function: int, address: int, count: int) -> bytes:
    """The ADU of a read request (FC1-FC4) of ``count`` entries from ``address``."""
    return _REQUEST.pack(transaction, 0, 6, unit, function, address, count)


def split_frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Take every complete ADU off the front of ``buffer``: (transaction id, unit id + PDU).

    Requires nothing of the chunking: a frame split over reads waits in ``buffer`` for the rest.
    A length outside 2..254 cannot be Modbus and raises ModbusFrameError.
    """
    frames: list[tuple[int, bytes]] = []
    while len(buffer) >= _HEADER.size:
        transaction, protocol, length = _HEADER.unpack_from(buffer)
        if protocol != 0 or not 2 <= length <= _MAX_FRAME - _HEADER.size:
            raise ModbusFrameError(f"not a Modbus TCP frame (protocol {protocol}, length {length})")
        end = _HEADER.size + length
        if len(buffer) < end:
            break
        frames.append((transaction, bytes(buffer[_HEADER.size : end])))
        del buffer[:end]
    return frames


def parse_reply(frame: bytes, unit: int, function: int, count: int) -> Reply:
    """The answer a frame (unit id + PDU) carries to a read of ``count`` entries by ``function``.

    Registers stay the bytes they travelled as (two per register, high byte first, §4.2); bits
    come packed eight per byte, the first in the lowest bit (§6.1).
    """
    if frame[0] != unit:
        raise ModbusFrameError(f"reply from unit {frame[0]} to a request for unit {unit}")
    answered = frame[1]
    if answered == function | 0x80 and len(frame) >= 3:
        return DeviceException(frame[2])
    if answered != function or len(frame) < 3:
        raise ModbusFrameError(f"reply with function code {answered} to a read by {function}")
    size, data = frame[2], frame[3:]
    wanted = 2 * count if function in (3, 4) else (count + 7) // 8
    if size != wanted or len(data) != size:
        raise ModbusFrameError(f"reply of {len(data)} bytes ({size} announced), {wanted} expected")
    if function in (3, 4):
        return data
    return [bool(data[i >> 3] >> (i & 7) & 1) for i in range(count)]


class ReadClient(asyncio.Protocol):
    """One Modbus TCP connection that sends read requests and matches replies by transaction.

    ``read`` raises OSError (ModbusFrameError included) when the link fails or a reply makes no
    sense, and TimeoutError when the device does not answer in ``timeout_s``.
    """

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._ids = itertools.cycle(range(1, 0x10000))

    @classmethod
    async def connect(cls, host: str, port: int, timeout_s: float) -> ReadClient:
        """A client connected to ``host:port`` (OSError or TimeoutError when it cannot be)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout_s):
            _, client = await loop.create_connection(lambda: cls(timeout_s), host, port)
        return client

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail_pending(ConnectionError(f"connection lost: {exc or 'closed by the device'}"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            frames = split_frames(self._buffer)
        except ModbusFrameError as error:
            self._fail_pending(error)
            self.close()
            return
        for transaction, frame in frames:
            waiter = self._pending.pop(transaction, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(frame)

    async def read(self, function: int, address: int, count: int, unit: int) -> Reply:
        """Send one read request and return its reply."""
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("not connected")
        transaction = next(self._ids)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bytes] = loop.create_future()
        self._pending[transaction] = waiter
        deadline = loop.call_later(self._timeout_s, _expire, waiter, self._timeout_s)
        try:
            self._transport.write(request_frame(transaction, unit, function, address, count))
            frame = await waiter
        finally:
            deadline.cancel()
            self._pending.pop(transaction, None)
        return parse_reply(frame, unit, function, count)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _fail_pending(self, error: Exception) -> None:
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(error)
        self._pending.clear()


def _expire(waiter: asyncio.Future[bytes], timeout_s: float) -> None:
    """A request's deadline passed: its ``read`` raises TimeoutError (one timer per request,
    lighter than a timeout scope)."""
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no reply within {timeout_s:g} s"))
