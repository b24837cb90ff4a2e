"""What the Modbus connector tests share: the time their clocks read, one poll of a machine."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.modbus import ModbusConnector
from models import Machine, Reading
from models.timebase import ManualClock

NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
"""The time every connector of these tests reads on its clock."""


def noon_clock() -> ManualClock:
    """A clock that stays at :data:`NOON`."""
    return ManualClock(NOON)


async def poll(m: Machine) -> tuple[dict[str, Reading], bool]:
    """One poll of every tag of ``m`` by a fresh connector: readings by tag, and connected."""
    connector = ModbusConnector(m, noon_clock())
    try:
        readings, connected = await connector.poll_once()
    finally:
        await connector.close()
    return {r.tag: r for r in readings}, connected
