"""Composition root: wires simulators, connectors, the ingest bus, the historian and the server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from connectors import ModbusConnector, SimulatedMachine, SqliteHistorian
from models import Clock, Machine, SystemClock
from opcua_server.ingest import IngestBus
from opcua_server.server import TrustfloorServer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """What the live status line shows."""

    machines: int
    machines_up: int
    readings: int
    pending: int
    stored: int


class Site:
    """One running trustfloor process: ``start`` brings everything up, ``stop`` takes it down."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        seed: int = 0,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self._environ = environ
        self._seed = seed
        self.simulators: dict[str, SimulatedMachine] = {}
        self.connectors: list[ModbusConnector] = []
        self.historian: SqliteHistorian | None = None
        self.server: TrustfloorServer | None = None
        self.bus: IngestBus | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start simulated devices, the server, the historian and one connector per machine."""
        machines = [await self._with_simulator(m) for m in self.settings.site.machines]
        site = self.settings.site.model_copy(update={"machines": tuple(machines)})
        self.settings = self.settings.model_copy(update={"site": site})
        data_dir = Path(self.settings.data_dir)
        self.historian = SqliteHistorian(data_dir / self.settings.historian.sqlite_file)
        self.server = TrustfloorServer(self.settings, self._environ)
        await self.server.start()
        hist = self.settings.historian
        self.bus = IngestBus(
            [self.historian, self.server],
            capacity=self.settings.queue_size,
            batch_size=hist.batch_size,
            flush_interval_s=hist.flush_interval_s,
        )
        self._tasks.append(asyncio.create_task(self.bus.run(), name="ingest"))
        for machine in machines:
            connector = ModbusConnector(machine, self.clock)
            self.connectors.append(connector)
            self._tasks.append(asyncio.create_task(connector.run(self.bus), name=connector.name))

    async def _with_simulator(self, machine: Machine) -> Machine:
        if not machine.simulated:
            return machine
        simulator = SimulatedMachine(machine, self.clock, seed=self._seed)
        port = await simulator.start()
        self.simulators[machine.id] = simulator
        return machine.model_copy(
            update={"modbus": machine.modbus.model_copy(update={"port": port})}
        )

    def status(self) -> SiteStatus:
        stats = self.bus.stats if self.bus else None
        return SiteStatus(
            machines=len(self.connectors),
            machines_up=sum(1 for c in self.connectors if c.connected),
            readings=stats.received if stats else 0,
            pending=stats.pending if stats else 0,
            stored=stats.delivered if stats else 0,
        )

    async def stop(self) -> None:
        """Stop polling, store what was accepted, then stop the server and devices."""
        ingest, connector_tasks = self._tasks[:1], self._tasks[1:]
        for task in connector_tasks:
            task.cancel()
        await asyncio.gather(*connector_tasks, return_exceptions=True)
        if self.bus is not None:
            await self.bus.close()
        await asyncio.gather(*ingest, return_exceptions=True)
        self._tasks.clear()
        if self.server is not None:
            await self.server.stop()
        if self.historian is not None:
            await self.historian.close()
        for simulator in self.simulators.values():
            await simulator.stop()
        log.info("stopped cleanly")
