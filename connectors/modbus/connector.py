"""Modbus TCP connector: one client and one lock per device, planned reads, backoff, quality."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ExceptionResponse

from connectors.errors import CodecError
from connectors.modbus.codec import decode_engineering
from connectors.modbus.planner import ReadRequest, plan_reads
from models import Cause, Clock, Machine, Reading, ReadingSink, RegisterKind, Tag, bad, good
from models.readings import uncertain

log = logging.getLogger(__name__)

_EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
"""Modbus Application Protocol v1.1b3 §7 exception codes."""


@dataclass(slots=True)
class Backoff:
    """Exponential backoff between reconnect attempts: initial, ×2 each time, capped."""

    initial_s: float = 0.5
    max_s: float = 30.0
    _next: float = field(default=0.0, init=False)

    def next_delay(self) -> float:
        self._next = self.initial_s if self._next == 0.0 else min(self._next * 2, self.max_s)
        return self._next

    def reset(self) -> None:
        self._next = 0.0


class LogOnce:
    """Logs the first failure of a kind loudly, repeats quietly, and the recovery once."""

    def __init__(self, logger: logging.Logger, subject: str) -> None:
        self._logger = logger
        self._subject = subject
        self._active: set[str] = set()

    def failed(self, key: str, message: str) -> None:
        level = logging.DEBUG if key in self._active else logging.WARNING
        self._active.add(key)
        self._logger.log(level, "%s: %s", self._subject, message)

    def succeeded(self, key: str) -> None:
        if key in self._active:
            self._active.discard(key)
            self._logger.info("%s: %s recovered", self._subject, key)


def exception_text(code: int) -> str:
    """``"device exception 2 (illegal data address)"``."""
    return f"device exception {code} ({_EXCEPTION_NAMES.get(code, 'unknown')})"


class ModbusConnector:
    """Polls one Modbus TCP device on its own schedule and turns every outcome into readings."""

    def __init__(self, machine: Machine, clock: Clock, *, backoff: Backoff | None = None) -> None:
        self.machine = machine
        self._clock = clock
        self._plan = plan_reads(machine.tags, max_gap=machine.modbus.max_gap)
        self._backoff = backoff or Backoff()
        self._lock = asyncio.Lock()
        self._client: AsyncModbusTcpClient | None = None
        self.connected = False
        self._log = LogOnce(log, f"modbus {machine.id} {machine.modbus.host}:{machine.modbus.port}")

    @property
    def name(self) -> str:
        return f"modbus:{self.machine.id}"

    @property
    def plan(self) -> list[ReadRequest]:
        return list(self._plan)

    async def run(self, sink: ReadingSink) -> None:
        """Poll until cancelled; a lost device yields Bad readings at each reconnect attempt."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = loop.time()
                readings, connected = await self.poll_once()
                await sink.put(readings)
                if connected:
                    self._backoff.reset()
                    delay = self.machine.modbus.poll_interval_s - (loop.time() - started)
                else:
                    delay = self._backoff.next_delay()
                await asyncio.sleep(max(0.0, delay))
        finally:
            await self.close()

    async def poll_once(self) -> tuple[list[Reading], bool]:
        """Read every planned request once; returns the readings and whether the link is up."""
        async with self._lock:
            readings, self.connected = await self._poll_locked()
            return readings, self.connected

    async def _poll_locked(self) -> tuple[list[Reading], bool]:
        now = self._clock.now()
        if not await self._connected():
            reason = f"cannot connect to {self.machine.modbus.host}:{self.machine.modbus.port}"
            return self._all_bad(self.machine.tags, now, Cause.COMMUNICATION, reason), False
        readings: list[Reading] = []
        for index, request in enumerate(self._plan):
            try:
                readings.extend(await self._read(request, now))
            except (ModbusException, OSError, TimeoutError) as error:
                reason = f"communication error: {error}"
                self._log.failed("link", reason)
                await self.close()
                rest = [t for r in self._plan[index:] for t in r.tags]
                readings.extend(self._all_bad(rest, now, Cause.COMMUNICATION, reason))
                return readings, False
        self._log.succeeded("link")
        return readings, True

    async def close(self) -> None:
        """Close the connection; the next poll reconnects."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _connected(self) -> bool:
        if self._client is not None and self._client.connected:
            return True
        endpoint = self.machine.modbus
        self._client = AsyncModbusTcpClient(
            endpoint.host,
            port=endpoint.port,
            timeout=endpoint.timeout_s,
            retries=0,
            reconnect_delay=0,
        )
        if await self._client.connect():
            return True
        self._log.failed("link", f"cannot connect to {endpoint.host}:{endpoint.port}")
        await self.close()
        return False

    async def _read(self, request: ReadRequest, now: datetime) -> list[Reading]:
        assert self._client is not None
        read = (
            self._client.read_holding_registers
            if request.kind is RegisterKind.HOLDING
            else self._client.read_input_registers
        )
        response = await read(
            request.address, count=request.count, device_id=self.machine.modbus.unit_id
        )
        key = f"{request.kind} {request.address}+{request.count}"
        if isinstance(response, ExceptionResponse) or response.isError():
            code = int(getattr(response, "exception_code", 0))
            self._log.failed(key, exception_text(code))
            return self._all_bad(request.tags, now, Cause.DEVICE_EXCEPTION, exception_text(code))
        self._log.succeeded(key)
        return [
            self._reading(tag, request.slice_for(tag, response.registers), now)
            for tag in request.tags
        ]

    def _reading(self, tag: Tag, registers: Sequence[int], now: datetime) -> Reading:
        machine = self.machine.id
        try:
            value = decode_engineering(tag, registers)
        except CodecError as error:
            return bad(machine, tag.name, now, Cause.INVALID_VALUE, str(error))
        if tag.eu_high is not None and value > tag.eu_high:
            reason = f"{value:g} is above the engineering range (max {tag.eu_high:g})"
            return uncertain(machine, tag.name, now, value, Cause.OUT_OF_RANGE, reason)
        if tag.eu_low is not None and value < tag.eu_low:
            reason = f"{value:g} is below the engineering range (min {tag.eu_low:g})"
            return uncertain(machine, tag.name, now, value, Cause.OUT_OF_RANGE, reason)
        return good(machine, tag.name, now, value)

    def _all_bad(
        self, tags: Iterable[Tag], now: datetime, cause: Cause, reason: str
    ) -> list[Reading]:
        return [bad(self.machine.id, tag.name, now, cause, reason) for tag in tags]
