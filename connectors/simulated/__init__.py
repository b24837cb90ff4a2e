"""Simulated devices: wearing machines as Modbus TCP servers, printers as OPC UA servers."""

from connectors.simulated.machine import SimulatedMachine, listening_port
from connectors.simulated.printer import (
    JobState,
    PrinterModel,
    ProcessParameter,
    SimulatedPrinter,
    printer_tags,
)
from connectors.simulated.site import ManualClock, SimulatedSite
from connectors.simulated.wear import MachineWear, RunState, TimeBase, WearEvent, WearEventKind

__all__ = [
    "JobState",
    "MachineWear",
    "ManualClock",
    "PrinterModel",
    "ProcessParameter",
    "RunState",
    "SimulatedMachine",
    "SimulatedPrinter",
    "SimulatedSite",
    "TimeBase",
    "WearEvent",
    "WearEventKind",
    "listening_port",
    "printer_tags",
]
