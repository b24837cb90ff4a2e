"""Modbus connector against a pymodbus device with fixed registers: bad input becomes quality."""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from connectors.modbus import ModbusConnector
from connectors.simulated import listening_port
from models import Cause, Machine, Quality, Reading

pytestmark = pytest.mark.asyncio(loop_scope="session")


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def float_registers(value: float) -> list[int]:
    return list(struct.unpack(">HH", struct.pack(">f", value)))


HOLDING = [*float_registers(21.5), *float_registers(math.nan), 5000, *float_registers(math.inf)]
"""0-1: 21.5 °C, 2-3: NaN, 4: 50.00 A raw 5000 with scale 0.01 (above eu_high 40), 5-6: +inf."""


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def device() -> AsyncIterator[int]:
    """A device with 7 holding registers and 1 input register; anything else is illegal."""
    blocks = (
        [SimData(0, count=1, values=False, datatype=SimType.BITS)],
        [SimData(0, count=1, values=False, datatype=SimType.BITS)],
        [SimData(0, values=HOLDING, datatype=SimType.REGISTERS)],
        [SimData(0, values=[7], datatype=SimType.REGISTERS)],
    )
    server = ModbusTcpServer(SimDevice(3, simdata=blocks), address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    yield listening_port(server)
    await server.shutdown()  # type: ignore[no-untyped-call]


def machine(port: int, tags: Sequence[Mapping[str, object]], unit_id: int = 3) -> Machine:
    return Machine.model_validate(
        {"id": "m1", "modbus": {"port": port, "unit_id": unit_id, "timeout_s": 1.0}, "tags": tags}
    )


def holding(name: str, address: int, data_type: str, **extra: object) -> dict[str, object]:
    return {"name": name, "address": {"address": address, "data_type": data_type}} | extra


async def poll(m: Machine) -> tuple[dict[str, Reading], bool]:
    connector = ModbusConnector(m, FixedClock())
    try:
        readings, connected = await connector.poll_once()
    finally:
        await connector.close()
    return {r.tag: r for r in readings}, connected


async def test_good_nan_and_out_of_range_values_each_get_their_quality(device: int) -> None:
    tags = [
        holding("temp", 0, "float32"),
        holding("broken", 2, "float32"),
        holding("current", 4, "uint16", scale=0.01, eu_high=40.0),
        holding("infinite", 5, "float32"),
    ]
    readings, connected = await poll(machine(device, tags))
    assert connected
    assert readings["temp"].quality is Quality.GOOD
    assert readings["temp"].value == pytest.approx(21.5)
    assert readings["temp"].source_ts == FixedClock().now()
    assert readings["broken"].quality is Quality.BAD
    assert readings["broken"].cause is Cause.INVALID_VALUE
    assert "not a number" in readings["broken"].reason
    assert readings["infinite"].cause is Cause.INVALID_VALUE
    assert readings["current"].quality is Quality.UNCERTAIN
    assert readings["current"].value == pytest.approx(50.0)
    assert "above the engineering range" in readings["current"].reason


async def test_illegal_address_is_bad_with_the_exception_code_and_others_still_read(
    device: int,
) -> None:
    tags = [holding("temp", 0, "float32"), holding("missing", 100, "uint16")]
    readings, connected = await poll(machine(device, tags))
    assert connected, "an exception reply is an answer: the link is up"
    assert readings["temp"].quality is Quality.GOOD
    assert readings["missing"].quality is Quality.BAD
    assert readings["missing"].cause is Cause.DEVICE_EXCEPTION
    assert readings["missing"].reason == "device exception 2 (illegal data address)"


async def test_input_registers_are_read_from_their_own_table(device: int) -> None:
    tags = [{"name": "level", "address": {"kind": "input", "address": 0, "data_type": "int16"}}]
    readings, _ = await poll(machine(device, tags))
    assert readings["level"].value == 7.0


async def test_unreachable_device_gives_bad_readings_for_every_tag() -> None:
    from tests.support import free_port

    tags = [holding("a", 0, "uint16"), holding("b", 1, "uint16")]
    readings, connected = await poll(machine(free_port(), tags))
    assert not connected
    assert {r.cause for r in readings.values()} == {Cause.COMMUNICATION}
    assert all(r.value is None and "cannot connect" in r.reason for r in readings.values())


async def test_a_repeated_failure_is_logged_once_and_its_recovery_once(
    device: int, caplog: pytest.LogCaptureFixture
) -> None:
    connector = ModbusConnector(machine(device, [holding("missing", 100, "uint16")]), FixedClock())
    caplog.set_level(logging.DEBUG, logger="connectors.modbus.connector")
    try:
        for _ in range(3):
            await connector.poll_once()
    finally:
        await connector.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "illegal data address" in warnings[0].getMessage()
