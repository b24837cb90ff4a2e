"""A simulated machine that is a real Modbus TCP server (pymodbus) with moving registers."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from connectors.errors import ConnectorError
from connectors.modbus.codec import encode_engineering
from connectors.simulated.signals import SignalShape, clamp, shape_for
from connectors.simulated.wear import MachineWear
from models import Clock, Machine, RegisterKind, Tag

log = logging.getLogger(__name__)

_FUNCTION_TABLE = {3: RegisterKind.HOLDING, 4: RegisterKind.INPUT}


def listening_port(server: ModbusTcpServer) -> int:
    """The TCP port a started pymodbus server listens on (its transport is the asyncio server)."""
    listener = cast(asyncio.Server, server.transport)
    return int(listener.sockets[0].getsockname()[1])


class SimulatedMachine:
    """Serves ``machine``'s register map on 127.0.0.1; values follow the clock at read time."""

    def __init__(
        self,
        machine: Machine,
        clock: Clock,
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        wear: MachineWear | None = None,
    ) -> None:
        self.machine = machine
        self.wear = wear
        """Wear of its components, which shapes its telemetry (none: a machine that never wears)."""
        self._clock = clock
        self._host = host
        self._rng = random.Random(f"{seed}:{machine.id}")
        self._shapes: dict[str, SignalShape] = {
            t.name: shape_for(t, self._rng) for t in machine.tags
        }
        self._epoch = clock.now()
        self._server: ModbusTcpServer | None = None
        self.port = machine.modbus.port

    def value_of(self, tag: Tag, at: datetime) -> float:
        """The engineering value the device shows for ``tag`` at ``at``."""
        seconds = (at - self._epoch).total_seconds()
        value = self._shapes[tag.name].value_at(seconds, self._rng)
        if self.wear is not None:
            value = self.wear.adjust(tag, value, at)
        return clamp(tag, value)

    async def start(self) -> int:
        """Listen (port 0 picks a free one) and return the port."""
        if self._server is not None:
            raise ConnectorError(f"simulated machine {self.machine.id} is already running")
        device = SimDevice(
            self.machine.modbus.unit_id, simdata=self._blocks(), action=self._on_request
        )
        server = ModbusTcpServer(device, address=(self._host, self.port))
        await server.serve_forever(background=True)
        self._server = server
        self.port = listening_port(server)
        log.info(
            "simulated machine %s serving Modbus on %s:%d", self.machine.id, self._host, self.port
        )
        return self.port

    async def stop(self) -> None:
        """Stop serving; connected clients see the connection drop. Restart keeps the port."""
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]  # pymodbus leaves it untyped
            self._server = None

    def _blocks(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        def table(kind: RegisterKind) -> list[SimData]:
            ends = [t.address.end for t in self.machine.tags if t.address.kind is kind]
            count = max(ends, default=1)
            if kind.is_bit_table:  # coils and discrete inputs are served, and stay False
                return [SimData(0, count=count, values=False, datatype=SimType.BITS)]
            return [SimData(0, count=count, values=0, datatype=SimType.REGISTERS)]

        return (
            table(RegisterKind.COIL),
            table(RegisterKind.DISCRETE_INPUT),
            table(RegisterKind.HOLDING),
            table(RegisterKind.INPUT),
        )

    async def _on_request(
        self,
        function_code: int,
        start_address: int,
        _address: int,
        _count: int,
        registers: list[int],
        values: Sequence[int] | Sequence[bool] | None,
    ) -> ExcCodes | None:
        """Refresh the table being read so the client sees the values of this instant."""
        kind = _FUNCTION_TABLE.get(function_code)
        if kind is None or values:
            return None
        now = self._clock.now()
        for tag in self.machine.tags:
            if tag.address.kind is kind and tag.address.data_type.is_numeric:
                offset = tag.address.address - start_address
                registers[offset : offset + tag.address.count] = encode_engineering(
                    tag, self.value_of(tag, now)
                )
        return None
