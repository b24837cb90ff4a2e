"""Modbus connector against pymodbus devices: every table and type, quality, timing, fan-in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import struct
from collections.abc import AsyncIterator, Mapping, Sequence

import pytest
import pytest_asyncio
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from connectors.modbus import ModbusConnector
from connectors.modbus.connector import raise_swallowed_cancel
from connectors.simulated import SimulatedMachine, listening_port
from models import Cause, Machine, Quality, Reading, SystemClock
from tests.integration.modbus_kit import NOON, noon_clock, poll
from tests.support import free_port, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


def words(fmt: str, *values: object) -> list[int]:
    """Registers of big-endian ``values`` packed with struct ``fmt`` (independent of our codec)."""
    data = struct.pack(">" + fmt, *values)
    return list(struct.unpack(f">{len(data) // 2}H", data))


HOLDING = [
    *words("f", 21.5),  # 0-1: 21.5 °C
    *words("f", math.nan),  # 2-3: NaN
    5000,  # 4: 50.00 A raw 5000 with scale 0.01 (above eu_high 40)
    *words("f", math.inf),  # 5-6: +inf
    *words("q", -(2**40) - 5),  # 7-10: int64
    *words("Q", 2**63 + 12345),  # 11-14: uint64 (above 2**53: kept as the nearest float)
    *words("d", -1234.5678),  # 15-18: float64
    *words("8s", b"SN-42\x00  "),  # 19-22: "SN-42" padded with a NUL and spaces
    0b1000_0000_0000_0101,  # 23: status word, bits 0, 2 and 15 set
]
COILS = [True, False, True, True]
DISCRETE = [False, True]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def device() -> AsyncIterator[int]:
    """Unit 3 with known registers and bits, unit 4 with other values; the rest is illegal."""

    def unit(unit_id: int, holding: list[int], coils: list[bool]) -> SimDevice:
        blocks = (
            [SimData(0, values=coils, datatype=SimType.BITS)],
            [SimData(0, values=DISCRETE, datatype=SimType.BITS)],
            [SimData(0, values=holding, datatype=SimType.REGISTERS)],
            [SimData(0, values=[7], datatype=SimType.REGISTERS)],
        )
        return SimDevice(unit_id, simdata=blocks)

    units = [unit(3, HOLDING, COILS), unit(4, [4444], [False])]
    server = ModbusTcpServer(units, address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    yield listening_port(server)
    await server.shutdown()  # type: ignore[no-untyped-call]


@pytest_asyncio.fixture(loop_scope="session")
async def silent_device() -> AsyncIterator[int]:
    """A TCP peer that accepts connections and never answers, like a hung gateway."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


def machine(
    port: int, tags: Sequence[Mapping[str, object]], unit_id: int = 3, **modbus: object
) -> Machine:
    endpoint = {"port": port, "unit_id": unit_id, "timeout_s": 1.0} | modbus
    return Machine.model_validate({"id": "m1", "modbus": endpoint, "tags": tags})


def holding(name: str, address: int, data_type: str, **extra: object) -> dict[str, object]:
    fields = {k: extra.pop(k) for k in ("length", "bit", "encoding") if k in extra}
    return {
        "name": name,
        "address": {"address": address, "data_type": data_type} | fields,
    } | extra


def bits(name: str, kind: str, address: int) -> dict[str, object]:
    return {"name": name, "address": {"kind": kind, "address": address, "data_type": "bool"}}


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
    assert readings["temp"].source_ts == NOON
    assert readings["broken"].quality is Quality.BAD
    assert readings["broken"].cause is Cause.INVALID_VALUE
    assert "not a number" in readings["broken"].reason
    assert readings["infinite"].cause is Cause.INVALID_VALUE
    assert readings["current"].quality is Quality.UNCERTAIN
    assert readings["current"].value == pytest.approx(50.0)
    assert "above the engineering range" in readings["current"].reason


async def test_64_bit_numbers_strings_and_bits_of_a_register_decode(device: int) -> None:
    tags = [
        holding("i64", 7, "int64"),
        holding("u64", 11, "uint64"),
        holding("f64", 15, "float64", scale=2.0, offset=1.0),
        holding("serial", 19, "string", length=4),
        holding("ready", 23, "bool", bit=0),
        holding("fault", 23, "bool", bit=1),
        holding("door", 23, "bool", bit=2),
        holding("estop", 23, "bool", bit=15),
    ]
    readings, connected = await poll(machine(device, tags))
    assert connected
    values = {name: r.value for name, r in readings.items()}
    assert values == {
        "i64": float(-(2**40) - 5),
        "u64": float(2**63 + 12345),
        "f64": pytest.approx(-1234.5678 * 2 + 1),
        "serial": "SN-42",
        "ready": True,
        "fault": False,
        "door": True,
        "estop": True,
    }
    assert {type(v) for v in values.values()} == {float, str, bool}
    assert all(r.quality is Quality.GOOD for r in readings.values())


async def test_coils_and_discrete_inputs_are_read_as_bools(device: int) -> None:
    tags = [
        bits("c0", "coil", 0),
        bits("c1", "coil", 1),
        bits("c3", "coil", 3),
        bits("d1", "discrete_input", 1),
    ]
    m = machine(device, tags)
    connector = ModbusConnector(m, noon_clock())
    assert [(r.kind, r.address, r.count) for r in connector.plan] == [
        ("coil", 0, 2),
        ("coil", 3, 1),
        ("discrete_input", 1, 1),
    ]
    readings, _ = await poll(m)
    assert {name: r.value for name, r in readings.items()} == {
        "c0": True,
        "c1": False,
        "c3": True,
        "d1": True,
    }


async def test_illegal_address_is_bad_with_the_exception_code_and_others_still_read(
    device: int,
) -> None:
    tags = [
        holding("temp", 0, "float32"),
        holding("missing", 100, "uint16"),
        bits("missing_bit", "discrete_input", 100),
    ]
    readings, connected = await poll(machine(device, tags))
    assert connected, "an exception reply is an answer: the link is up"
    assert readings["temp"].quality is Quality.GOOD
    for name in ("missing", "missing_bit"):
        assert readings[name].quality is Quality.BAD
        assert readings[name].cause is Cause.DEVICE_EXCEPTION
        assert readings[name].reason == "device exception 2 (illegal data address)"


async def test_input_registers_are_read_from_their_own_table(device: int) -> None:
    tags = [{"name": "level", "address": {"kind": "input", "address": 0, "data_type": "int16"}}]
    readings, _ = await poll(machine(device, tags))
    assert readings["level"].value == 7.0


async def test_each_connector_talks_to_its_own_unit_id(device: int) -> None:
    three, _ = await poll(machine(device, [holding("first", 0, "uint16")], unit_id=3))
    four, _ = await poll(machine(device, [holding("first", 0, "uint16")], unit_id=4))
    assert three["first"].value == float(HOLDING[0])
    assert four["first"].value == 4444.0


async def test_paced_requests_read_the_same_values(device: int) -> None:
    tags = [holding("a", 0, "float32"), holding("b", 7, "int64"), bits("c", "coil", 0)]
    paced, connected = await poll(machine(device, tags, request_pacing_s=0.02))
    assert connected
    assert len(ModbusConnector(machine(device, tags), noon_clock()).plan) == 3
    assert [r.quality for r in paced.values()] == [Quality.GOOD] * 3


async def test_unreachable_device_gives_bad_readings_for_every_tag() -> None:
    tags = [holding("a", 0, "uint16"), holding("b", 1, "uint16")]
    readings, connected = await poll(machine(free_port(), tags))
    assert not connected
    assert {r.cause for r in readings.values()} == {Cause.COMMUNICATION}
    assert all(r.value is None and "cannot connect" in r.reason for r in readings.values())


async def test_a_device_that_never_answers_times_out_as_a_communication_error(
    silent_device: int,
) -> None:
    tags = [holding("a", 0, "uint16"), bits("b", "coil", 0)]
    readings, connected = await poll(machine(silent_device, tags, timeout_s=0.2))
    assert not connected
    assert [r.cause for r in readings.values()] == [Cause.COMMUNICATION] * 2
    assert all("communication error" in r.reason for r in readings.values())


async def test_a_repeated_failure_is_logged_once_and_its_recovery_once(
    device: int, caplog: pytest.LogCaptureFixture
) -> None:
    tags = [holding("missing", 100, "uint16"), bits("missing_bit", "coil", 100)]
    connector = ModbusConnector(machine(device, tags), noon_clock())
    caplog.set_level(logging.DEBUG, logger="connectors.modbus.connector")
    try:
        for _ in range(3):
            await connector.poll_once()
    finally:
        await connector.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert all("illegal data address" in w for w in warnings)


class CollectingSink:
    """A ReadingSink that keeps every batch it is given."""

    def __init__(self) -> None:
        self.batches: list[list[Reading]] = []

    async def put(self, readings: Sequence[Reading]) -> None:
        self.batches.append(list(readings))

    def tags_per_batch(self) -> list[set[str]]:
        return [{r.tag for r in batch} for batch in self.batches]


@contextlib.asynccontextmanager
async def running(
    connectors: Sequence[ModbusConnector], sink: CollectingSink
) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c.run(sink), name=c.name) for c in connectors]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_poll_groups_are_polled_at_their_own_rates_over_one_connection(device: int) -> None:
    fast = {**holding("fast", 0, "float32"), "poll_group": "fast"}
    slow = {**holding("slow", 4, "uint16"), "poll_group": "slow"}
    default = holding("default", 7, "int64")
    groups = [{"name": "fast", "interval_s": 0.02}, {"name": "slow", "interval_s": 3600}]
    m = machine(device, [fast, slow, default], poll_groups=groups, poll_interval_s=3600)
    connector = ModbusConnector(m, noon_clock())
    assert connector.groups == {"fast": 0.02, "slow": 3600, None: 3600}
    sink = CollectingSink()
    async with running([connector], sink):
        await wait_until(lambda: sum("fast" in tags for tags in sink.tags_per_batch()) >= 4)
    first, *rest = sink.tags_per_batch()
    assert first == {"fast", "slow", "default"}, "every group is due at the start"
    assert all(tags == {"fast"} for tags in rest), "then only the fast group comes round"


async def test_many_simulated_devices_are_polled_concurrently() -> None:
    clock = SystemClock()
    machines = [
        Machine.model_validate(
            {
                "id": f"m{i}",
                "modbus": {"port": 0, "poll_interval_s": 0.05},
                "tags": [
                    holding("temp", 0, "float32", eu_low=10.0, eu_high=90.0),
                    holding("speed", 2, "uint32", eu_low=0.0, eu_high=3000.0),
                ],
            }
        )
        for i in range(6)
    ]
    simulators = [SimulatedMachine(m, clock, seed=7) for m in machines]
    ports = [await s.start() for s in simulators]
    try:
        connectors = [
            ModbusConnector(
                m.model_copy(update={"modbus": m.modbus.model_copy(update={"port": p})}), clock
            )
            for m, p in zip(machines, ports, strict=True)
        ]
        sink = CollectingSink()
        async with running(connectors, sink):
            await wait_until(lambda: len(sink.batches) >= 3 * len(machines))
    finally:
        for simulator in simulators:
            await simulator.stop()
    readings = [r for batch in sink.batches for r in batch]
    assert {r.machine for r in readings} == {m.id for m in machines}
    assert all(r.quality is Quality.GOOD for r in readings)
    temperatures = [r.value for r in readings if r.tag == "temp"]
    assert all(isinstance(t, float) and 10.0 <= t <= 90.0 for t in temperatures)


async def test_a_simulated_machine_serves_bit_tables_and_non_numeric_tags() -> None:
    """Simulated devices move numbers only; coils, bits and strings are served and stay at rest."""
    m = Machine.model_validate(
        {
            "id": "sim",
            "modbus": {"port": 0},
            "tags": [
                holding("temp", 0, "float64", eu_low=10.0, eu_high=90.0),
                holding("serial", 4, "string", length=3),
                holding("ready", 7, "bool", bit=4),
                bits("running", "coil", 20),
                bits("door", "discrete_input", 3),
            ],
        }
    )
    simulator = SimulatedMachine(m, SystemClock())
    port = await simulator.start()
    try:
        served = m.model_copy(update={"modbus": m.modbus.model_copy(update={"port": port})})
        readings, connected = await poll(served)
    finally:
        await simulator.stop()
    assert connected
    assert all(r.quality is Quality.GOOD for r in readings.values()), readings
    assert {name: r.value for name, r in readings.items() if name != "temp"} == {
        "serial": "",
        "ready": False,
        "running": False,
        "door": False,
    }


async def test_a_cancel_swallowed_by_an_await_still_stops_the_poll_loop() -> None:
    """Python 3.11's wait_for returns a result that races a cancel; the loop re-raises it."""

    async def poll_loop_step() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):  # what wait_for does on the race
            await asyncio.sleep(0)
        raise_swallowed_cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(poll_loop_step())
