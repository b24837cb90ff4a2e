"""Ingest benchmark: readings/s from simulated Modbus devices to SQLite and OPC UA, and ceilings."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asyncua import ua
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from config import Settings
from connectors import ModbusConnector, SimulatedMachine, SqliteHistorian
from connectors.modbus.codec import Registers, encode_engineering
from connectors.modbus.connector import PlannedRead, plan_groups
from connectors.modbus.transport import ReadClient
from connectors.simulated import listening_port
from models import Machine, ReadingBatch, SystemClock, good
from opcua_server.runtime.ingest import IngestBus
from opcua_server.server import ServerPorts, TrustfloorServer

log = logging.getLogger("bench.ingest")

RAW_REGISTERS = 125
"""Registers per request of the raw Modbus ceiling (the Modbus maximum, §6.3)."""

TYPES = ("float32", "uint16", "int32", "float32", "uint32")
"""Tag data types, cycled through each machine's contiguous register map."""


def machine_spec(index: int, tags: int, *, port: int = 0, poll_interval_s: float = 1.0) -> Any:
    """A machine of ``tags`` contiguous holding-register tags of mixed types."""
    address, specs = 0, []
    for number in range(tags):
        data_type = TYPES[number % len(TYPES)]
        specs.append(
            {
                "name": f"t{number:03d}",
                "unit": "Cel",
                "address": {"address": address, "data_type": data_type},
                "eu_low": 0.0,
                "eu_high": 1000.0,
            }
        )
        address += 1 if data_type == "uint16" else 2
    return {
        "id": f"m{index:04d}",
        "modbus": {"port": port, "poll_interval_s": poll_interval_s},
        "tags": specs,
    }


def machines(count: int, tags: int, ports: Sequence[int] = (), **modbus: Any) -> list[Machine]:
    return [
        Machine.model_validate(machine_spec(i, tags, port=ports[i] if ports else 0, **modbus))
        for i in range(count)
    ]


def settings(data_dir: Path, site_machines: Sequence[Machine]) -> Settings:
    """A site on a free OPC UA port with no Prometheus endpoint and no users.

    The machines are taken as they are (pydantic keeps validated instances), not copied.
    """
    return Settings.model_validate(
        {
            "data_dir": str(data_dir),
            "server": {"port": 0, "metrics_port": None},
            "site": {"machines": list(site_machines)},
        }
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the device process: machines' register maps and a raw register server, on their own core ---

FRAMES = 64
"""Register snapshots each bench device cycles through, one per request."""


class ReplayedMachine:
    """A bench device: a machine's holding registers replayed from snapshots of its simulation.

    The snapshots are taken from :class:`SimulatedMachine` once, at start; each request then
    answers the next one with a slice copy, so the device process costs about what a raw
    pymodbus server costs and the benchmark measures trustfloor, not the simulator.
    """

    def __init__(self, machine: Machine, seed: int) -> None:
        simulator, clock = SimulatedMachine(machine, SystemClock(), seed=seed), SystemClock()
        size = max(t.address.end for t in machine.tags)
        self.frames: list[list[int]] = []
        for frame in range(FRAMES):
            at = clock.now() + timedelta(seconds=frame)
            registers = [0] * size
            for tag in machine.tags:
                start = tag.address.address
                registers[start : tag.address.end] = encode_engineering(
                    tag, simulator.value_of(tag, at)
                )
            self.frames.append(registers)
        self.requests = 0
        self.server = ModbusTcpServer(
            SimDevice(
                machine.modbus.unit_id,
                simdata=[SimData(0, count=size, values=0, datatype=SimType.REGISTERS)],
                action=self.answer,
            ),
            address=("127.0.0.1", 0),
        )

    async def answer(
        self,
        _function_code: int,
        start_address: int,
        _address: int,
        _count: int,
        registers: list[int],
        values: Sequence[int] | Sequence[bool] | None,
    ) -> None:
        """Fill the registers being read from the next snapshot."""
        if values:
            return
        frame = self.frames[self.requests % FRAMES]
        self.requests += 1
        registers[:] = frame[start_address : start_address + len(registers)]


async def serve_devices(count: int, tags: int) -> None:
    """Serve ``count`` machines and one raw 125-register device until stdin closes."""
    replayed = [ReplayedMachine(m, seed=i) for i, m in enumerate(machines(count, tags))]
    for device in replayed:
        await device.server.serve_forever(background=True)
    raw_blocks = [SimData(0, count=RAW_REGISTERS, values=0x1234, datatype=SimType.REGISTERS)]
    raw = ModbusTcpServer(SimDevice(1, simdata=raw_blocks), address=("127.0.0.1", 0))
    await raw.serve_forever(background=True)
    ports = [listening_port(device.server) for device in replayed]
    print(json.dumps({"ports": ports, "raw_port": listening_port(raw)}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in [*(d.server for d in replayed), raw]:
        await server.shutdown()  # type: ignore[no-untyped-call]  # pymodbus leaves it untyped


@dataclass(frozen=True, slots=True)
class Devices:
    """The device process and where its servers listen."""

    process: asyncio.subprocess.Process
    ports: list[int]
    raw_port: int

    @classmethod
    async def start(cls, count: int, tags: int) -> Devices:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.ingest",
            "--serve-devices",
            str(count),
            "--tags",
            str(tags),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        started = json.loads(await process.stdout.readline())
        return cls(process, started["ports"], started["raw_port"])

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


# --- ceilings, measured in the same run ---


async def for_seconds(seconds: float, step: Callable[[], Awaitable[int]]) -> float:
    """Run ``step`` (returning units done) until ``seconds`` pass; returns units per second."""
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        done += await step()
    return done / elapsed


async def modbus_ceiling(port: int, clients: int, seconds: float) -> tuple[float, float]:
    """Raw pymodbus reads of 125 registers by ``clients`` concurrent connections.

    Returns registers/s and the client's CPU microseconds per request.
    """
    requests = 0

    async def one_client() -> float:
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
        await client.connect()

        async def read() -> int:
            nonlocal requests
            response = await client.read_holding_registers(0, count=RAW_REGISTERS, device_id=1)
            requests += 1
            return len(response.registers)

        try:
            return await for_seconds(seconds, read)
        finally:
            client.close()

    cpu = time.process_time()
    registers_per_s = sum(await asyncio.gather(*(one_client() for _ in range(clients))))
    return registers_per_s, 1e6 * (time.process_time() - cpu) / max(requests, 1)


async def read_client_cost(port: int, seconds: float) -> float:
    """The connector's own client reading 125 registers: CPU microseconds per request."""
    client = await ReadClient.connect("127.0.0.1", port, 5.0)

    async def read() -> int:
        await client.read(3, 0, RAW_REGISTERS, 1)
        return 1

    try:
        return await cpu_per_item(seconds, read)
    finally:
        client.close()


def sqlite_ceiling(folder: Path, rows: int = 300_000, batch: int = 1000) -> float:
    """Raw executemany of 1000-row batches, one transaction each, into the historian's layout
    (a Good reading: point, time, value, status 0, no reason)."""
    db = sqlite3.connect(folder / "ceiling.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE readings (point INTEGER NOT NULL, ts_us INTEGER NOT NULL, value,"
        " status INTEGER NOT NULL, reason TEXT, PRIMARY KEY (point, ts_us)) WITHOUT ROWID"
    )
    insert = "INSERT OR REPLACE INTO readings (point, ts_us, value, status) VALUES (?, ?, ?, 0)"
    batches = [
        [(n % 20_000, n, float(n)) for n in range(first, first + batch)]
        for first in range(0, rows, batch)
    ]
    started = time.perf_counter()
    for values in batches:
        db.execute("BEGIN")
        db.executemany(insert, values)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return rows / elapsed


async def opcua_ceiling(
    server: TrustfloorServer, points: Sequence[Machine], seconds: float
) -> float:
    """asyncua ``write_attribute_value`` of prepared DataValues to the tag variables: writes/s."""
    assert server.address_space is not None
    space, ua_server = server.address_space, server.ua_server
    now = datetime.now(UTC)
    writes = [
        (
            space.node_id(m.id, t.name),
            ua.DataValue(
                ua.Variant(1.0, ua.VariantType.Double), SourceTimestamp=now, ServerTimestamp=now
            ),
        )
        for m in points
        for t in m.tags
    ]

    async def write_all() -> int:
        for node_id, value in writes:
            await ua_server.write_attribute_value(node_id, value)
        return len(writes)

    return await for_seconds(seconds, write_all)


# --- where the time goes: CPU per reading of each stage alone, on the pipeline's own objects ---


async def cpu_per_item(seconds: float, step: Callable[[], Awaitable[int]]) -> float:
    """CPU microseconds per item of ``step``, all threads; ``step`` returns its items, 0 to end."""
    done, cpu, started = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - started < seconds and (items := await step()):
        done += items
    return 1e6 * (time.process_time() - cpu) / max(done, 1)


def responses(machine: Machine) -> list[tuple[PlannedRead, Registers]]:
    """Each planned read of ``machine`` with a response holding 500.0 in every tag."""
    planned = []
    for read in plan_groups(machine)[None]:
        response = [0] * read.request.count
        for field in read.fields:
            response[field.start : field.start + field.tag.address.count] = encode_engineering(
                field.tag, 500.0
            )
        planned.append((read, Registers(response)))
    return planned


def poll_batches(machine: Machine, count: int, size: int = 1000) -> list[ReadingBatch]:
    """``count`` batches of ``size`` Good readings of ``machine``, decoded as polls decode them
    and joined as the ingest bus joins them."""
    planned, start = responses(machine), datetime.now(UTC)
    polls = -(-count * size // len(machine.tags))
    joined = ReadingBatch.joined(
        [
            read.batch(registers, start + timedelta(microseconds=n))
            for n in range(polls)
            for read, registers in planned
        ]
    )
    return [joined.part(i, i + size) for i in range(0, count * size, size)]


async def stage_costs(pipeline: Pipeline, machine: Machine, seconds: float) -> dict[str, float]:
    """CPU us per reading: decoding a response into readings, the historian, the OPC UA publish."""
    planned, now = responses(machine), datetime.now(UTC)

    async def decode() -> int:
        return sum(len(read.batch(registers, now)) for read, registers in planned)

    batches = poll_batches(machine, 60)

    async def store() -> int:
        if not batches:
            pipeline.historian.count()  # folds what is still incoming, so its cost is counted
            return 0
        batch = batches.pop()
        await pipeline.historian.write(batch)
        return len(batch)

    fixed = poll_batches(machine, 1)[0]

    async def publish() -> int:
        await pipeline.server.publish(fixed)
        return len(fixed)

    return {
        "decode_us": await cpu_per_item(seconds, decode),
        "historian_us": await cpu_per_item(seconds, store),
        "publish_us": await cpu_per_item(seconds, publish),
    }


# --- end to end: devices -> ModbusConnector -> IngestBus -> SqliteHistorian + OPC UA ---


def write_history(
    historian: SqliteHistorian, site_machines: Sequence[Machine], seconds: int
) -> None:
    """One Good reading a second of every tag for the ``seconds`` before now, as a historian
    holds after running that long (each point's rows then fill pages of their own)."""
    end, batch = datetime.now(UTC), []
    for second in range(seconds, 0, -1):
        at = end - timedelta(seconds=second)
        batch += [
            ReadingBatch.good(m.id, [t.name for t in m.tags], at, [1.0] * len(m.tags))
            for m in site_machines
        ]
        if sum(map(len, batch)) >= 100_000 or second == 1:
            historian.store.write(ReadingBatch.joined(batch))
            batch = []


@dataclass(slots=True)
class Pipeline:
    """trustfloor wired as its runtime wires it, polling as fast as the devices answer."""

    server: TrustfloorServer
    historian: SqliteHistorian
    bus: IngestBus
    tasks: list[asyncio.Task[None]]

    @classmethod
    async def start(
        cls, folder: Path, site_machines: Sequence[Machine], history_s: int = 0
    ) -> Pipeline:
        site = settings(folder, site_machines)
        historian = SqliteHistorian(folder / site.historian.sqlite_file)
        await asyncio.to_thread(write_history, historian, site_machines, history_s)
        server = TrustfloorServer(site, {}, ServerPorts(historian=historian))
        await server.start()
        hist = site.historian
        bus = IngestBus(
            [historian, server],
            capacity=site.queue_size,
            batch_size=hist.batch_size,
            flush_interval_s=hist.flush_interval_s,
        )
        tasks = [asyncio.create_task(bus.run(), name="ingest")]
        clock = SystemClock()
        for machine in site_machines:
            connector = ModbusConnector(machine, clock)
            tasks.append(asyncio.create_task(connector.run(bus), name=connector.name))
        return cls(server, historian, bus, tasks)

    async def rate(self, warmup_s: float, seconds: float, devices_pid: int) -> dict[str, float]:
        """Readings/s delivered to both sinks after ``warmup_s``, and the CPU cores spent: by
        the whole process, by the event loop's thread alone, by the devices."""
        await asyncio.sleep(warmup_s)
        delivered, started = self.bus.stats.delivered, time.perf_counter()
        cpu, loop_cpu = time.process_time(), time.thread_time()
        device_cpu = cpu_seconds(devices_pid)
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - started
        return {
            "readings": (self.bus.stats.delivered - delivered) / elapsed,
            "cores": (time.process_time() - cpu) / elapsed,
            "loop_cores": (time.thread_time() - loop_cpu) / elapsed,
            "device_cores": (cpu_seconds(devices_pid) - device_cpu) / elapsed,
        }

    async def stop_polling(self) -> None:
        ingest, pollers = self.tasks[0], self.tasks[1:]
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        await self.bus.close()
        await ingest

    async def stop(self) -> None:
        await self.server.stop()
        await self.historian.close()


@dataclass(frozen=True, slots=True)
class Figures:
    """What the benchmark prints (``--json``: see :func:`json_figures`)."""

    readings_per_s: float
    ceiling_modbus_regs_per_s: float
    ceiling_sqlite_rows_per_s: float
    ceiling_opcua_writes_per_s: float
    peak_rss_mb: float
    devices: int
    tags: int
    readings_polled: int
    readings_stored: int
    cpu_cores_used: float
    loop_cores_used: float
    device_cores_used: float
    rss_machines: int
    rss_tags: int
    rss_build_s: float
    request_us: float
    pymodbus_request_us: float
    decode_us: float
    historian_us: float
    publish_us: float
    history_s: int

    @property
    def trustfloor_cpu_us_per_reading(self) -> float:
        return 1e6 * self.cpu_cores_used / self.readings_per_s

    @property
    def tightest_ceiling(self) -> float:
        """The lowest of the ceilings, in readings/s of these tags."""
        modbus_readings = self.ceiling_modbus_regs_per_s / REGISTERS_PER_READING
        return min(modbus_readings, self.ceiling_sqlite_rows_per_s, self.ceiling_opcua_writes_per_s)


async def end_to_end(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    devices = await Devices.start(args.devices, args.tags)
    try:
        log.info("measuring the raw Modbus ceiling")
        modbus, pymodbus_request_us = await modbus_ceiling(
            devices.raw_port, args.devices, args.ceiling_seconds
        )
        request_us = await read_client_cost(devices.raw_port, min(args.ceiling_seconds, 1.0))
        site = machines(args.devices, args.tags, devices.ports, poll_interval_s=0.001)
        log.info("starting the pipeline")
        pipeline = await Pipeline.start(folder, site, args.history)
        try:
            log.info("measuring end to end")
            figures = await pipeline.rate(args.warmup, args.seconds, devices.process.pid)
            log.info("stopping the connectors")
            await pipeline.stop_polling()
            polled = pipeline.bus.stats.received
            stored = pipeline.historian.count() - args.history * args.devices * args.tags
            log.info("measuring the OPC UA write ceiling")
            opcua = await opcua_ceiling(pipeline.server, site, args.ceiling_seconds)
            log.info("measuring the stages one by one")
            stages = await stage_costs(pipeline, site[0], min(args.ceiling_seconds, 1.0))
        finally:
            await pipeline.stop()
    finally:
        log.info("stopping the devices")
        await devices.stop()
    requests_per_reading = len(plan_groups(site[0])[None]) / args.tags
    counts = {"polled": polled, "stored": stored}
    return (
        figures
        | stages
        | counts
        | {"modbus": modbus, "opcua": opcua}
        | {"request_us": request_us * requests_per_reading}
        | {"pymodbus_request_us": pymodbus_request_us * requests_per_reading}
    )


# --- peak RSS of 1000 machines x 20 tags: address space, connectors' plans, one round buffered ---


async def build_for_rss(machine_count: int, tags: int) -> dict[str, float]:
    """Build what a site of this size holds, with one full poll round waiting in the ingest bus."""
    started = time.perf_counter()
    site_machines = machines(machine_count, tags, [1] * machine_count)
    with tempfile.TemporaryDirectory(prefix="trustfloor-rss-") as folder:
        site = settings(Path(folder), site_machines)
        historian = SqliteHistorian(Path(folder) / site.historian.sqlite_file)
        server = TrustfloorServer(site, {}, ServerPorts(historian=historian))
        await server.start()
        connectors = [ModbusConnector(m, SystemClock()) for m in site_machines]
        bus = IngestBus([historian, server], capacity=machine_count * tags)
        now = datetime.now(UTC)
        for machine in site_machines:
            await bus.put([good(machine.id, t.name, now, 1.0) for t in machine.tags])
        built = time.perf_counter() - started
        rss = peak_rss_mb()
        assert len(connectors) == machine_count
        assert bus.stats.pending == machine_count * tags
        await server.stop()
        await historian.close()
    return {"peak_rss_mb": rss, "build_s": built}


async def measure_rss(machine_count: int, tags: int) -> dict[str, float]:
    """Peak RSS of :func:`build_for_rss`, in a fresh process so nothing else counts."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.ingest",
        "--rss-child",
        "--rss-machines",
        str(machine_count),
        "--rss-tags",
        str(tags),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    result: dict[str, float] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


async def run(args: argparse.Namespace) -> Figures:
    with tempfile.TemporaryDirectory(prefix="trustfloor-bench-") as folder:
        e2e = await end_to_end(args, Path(folder))
        sqlite_rate = sqlite_ceiling(Path(folder))
    rss = await measure_rss(args.rss_machines, args.rss_tags)
    return Figures(
        readings_per_s=e2e["readings"],
        ceiling_modbus_regs_per_s=e2e["modbus"],
        ceiling_sqlite_rows_per_s=sqlite_rate,
        ceiling_opcua_writes_per_s=e2e["opcua"],
        peak_rss_mb=rss["peak_rss_mb"],
        devices=args.devices,
        tags=args.tags,
        readings_polled=int(e2e["polled"]),
        readings_stored=int(e2e["stored"]),
        cpu_cores_used=e2e["cores"],
        loop_cores_used=e2e["loop_cores"],
        device_cores_used=e2e["device_cores"],
        rss_machines=args.rss_machines,
        rss_tags=args.rss_tags,
        rss_build_s=rss["build_s"],
        request_us=e2e["request_us"],
        pymodbus_request_us=e2e["pymodbus_request_us"],
        decode_us=e2e["decode_us"],
        historian_us=e2e["historian_us"],
        publish_us=e2e["publish_us"],
        history_s=args.history,
    )


REGISTERS_PER_READING = 1.8
"""The bench tags' mix: four of every five tags take two registers."""


def report(f: Figures) -> Iterator[str]:
    """The figures beside the ceilings measured in the same run, as printed."""
    modbus_readings = f.ceiling_modbus_regs_per_s / REGISTERS_PER_READING
    rows = [
        ("readings/s end to end", f.readings_per_s, "goal >= 0.8 x tightest ceiling"),
        ("  CPU cores: trustfloor", f.cpu_cores_used, f"of {os.cpu_count()}, shared"),
        (
            "    of which the event loop's thread",
            f.loop_cores_used,
            "rest: worker threads (SQLite)",
        ),
        ("  CPU cores: bench devices", f.device_cores_used, "separate process"),
        ("  trustfloor CPU us per reading", f.trustfloor_cpu_us_per_reading, "goal <= 10"),
        ("  devices CPU us per reading", 1e6 * f.device_cores_used / f.readings_per_s, ""),
        ("  readings polled", f.readings_polled, ""),
        ("  readings in the historian", f.readings_stored, "must equal polled"),
        ("ceiling: raw pymodbus registers/s", f.ceiling_modbus_regs_per_s, "125 per request"),
        ("  as readings/s of these tags", modbus_readings, "1.8 registers each"),
        ("ceiling: raw SQLite rows/s", f.ceiling_sqlite_rows_per_s, "executemany 1000"),
        ("ceiling: asyncua writes/s", f.ceiling_opcua_writes_per_s, "write_attribute_value"),
        ("end to end / tightest ceiling", f.readings_per_s / f.tightest_ceiling, "goal >= 0.8"),
        ("stage CPU us per reading, alone:", math.nan, ""),
        ("  Modbus request (client side)", f.request_us, "ReadClient, 125 registers"),
        ("    the same by pymodbus's client", f.pymodbus_request_us, "as the ceiling reads"),
        ("  decode into readings", f.decode_us, "connector"),
        ("  SqliteHistorian.write", f.historian_us, "1000 of one machine, both threads"),
        ("  OPC UA publish", f.publish_us, "TrustfloorServer.publish"),
        (f"peak RSS MB, {f.rss_machines} x {f.rss_tags} tags", f.peak_rss_mb, "goal <= 300"),
        ("  seconds to build it", f.rss_build_s, ""),
    ]
    yield f"ingest: {f.devices} Modbus devices x {f.tags} tags -> SQLite + OPC UA"
    for label, value, note in rows:
        number = "" if math.isnan(value) else f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
        yield f"  {label:<36} {number:>12}  {note}".rstrip()


def json_figures(f: Figures) -> dict[str, object]:
    """The ``--json`` object: what was measured, on how many cores, and the figures."""
    return {
        "measured": (
            f"{f.devices} Modbus devices x {f.tags} tags (own process) polled as fast as they "
            "answer -> IngestBus -> SqliteHistorian + OPC UA address space; same-run ceilings"
        ),
        "cores": os.cpu_count(),
        "readings_per_s": round(f.readings_per_s, 1),
        "ceiling_modbus_regs_per_s": round(f.ceiling_modbus_regs_per_s, 1),
        "ceiling_sqlite_rows_per_s": round(f.ceiling_sqlite_rows_per_s, 1),
        "ceiling_opcua_writes_per_s": round(f.ceiling_opcua_writes_per_s, 1),
        "peak_rss_mb": round(f.peak_rss_mb, 1),
        "trustfloor_cpu_us_per_reading": round(f.trustfloor_cpu_us_per_reading, 2),
        "end_to_end_over_tightest_ceiling": round(f.readings_per_s / f.tightest_ceiling, 3),
        "readings_polled": f.readings_polled,
        "readings_stored": f.readings_stored,
        "cpu_cores_used": round(f.cpu_cores_used, 3),
        "loop_cores_used": round(f.loop_cores_used, 3),
        "device_cores_used": round(f.device_cores_used, 3),
        "devices": f.devices,
        "tags": f.tags,
        "history_s": f.history_s,
    }


SWEEP_DEVICES = (10, 20, 50)
"""Device counts of ``--sweep``."""


async def sweep(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """End-to-end readings/s and CPU per reading at each device count (no RSS, no stages)."""
    sizes: dict[str, dict[str, float]] = {}
    for count in SWEEP_DEVICES:
        log.info("sweep: %d devices", count)
        sized = argparse.Namespace(**{**vars(args), "devices": count})
        with tempfile.TemporaryDirectory(prefix="trustfloor-bench-") as folder:
            e2e = await end_to_end(sized, Path(folder))
        sizes[str(count)] = {
            "readings_per_s": round(e2e["readings"], 1),
            "trustfloor_cpu_us_per_reading": round(1e6 * e2e["cores"] / e2e["readings"], 2),
            "ceiling_modbus_readings_per_s": round(e2e["modbus"] / REGISTERS_PER_READING, 1),
            "ceiling_opcua_writes_per_s": round(e2e["opcua"], 1),
            "readings_dropped": e2e["polled"] - e2e["stored"],
        }
    return sizes


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--devices", type=int, default=20, help="Modbus devices polled")
    parser.add_argument("--tags", type=int, default=100, help="tags per device")
    parser.add_argument("--seconds", type=float, default=10.0, help="end-to-end measuring time")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="seconds of one-a-second readings of every tag in the historian before polling",
    )
    parser.add_argument("--ceiling-seconds", type=float, default=3.0, help="per ceiling")
    parser.add_argument("--rss-machines", type=int, default=1000)
    parser.add_argument("--rss-tags", type=int, default=20)
    parser.add_argument("--sweep", action="store_true", help="also at 10, 20 and 50 devices")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress on stderr")
    parser.add_argument("--serve-devices", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    # connections cut mid-request at shutdown make pymodbus dump its last frames: not a finding
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    if args.verbose:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
        log.setLevel(logging.INFO)
    if args.serve_devices is not None:
        asyncio.run(serve_devices(args.serve_devices, args.tags))
        return
    if args.rss_child:
        print(json.dumps(asyncio.run(build_for_rss(args.rss_machines, args.rss_tags))))
        return
    figures = asyncio.run(run(args))
    sizes = asyncio.run(sweep(args)) if args.sweep else None
    if args.json:
        print(json.dumps(json_figures(figures) | ({"sizes": sizes} if sizes else {})))
    else:
        print("\n".join(report(figures)))
        if sizes:
            print(f"  sweep (devices x {args.tags} tags): {json.dumps(sizes)}")
    if figures.readings_stored != figures.readings_polled:
        sys.exit(
            f"the historian holds {figures.readings_stored} of {figures.readings_polled} readings"
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
