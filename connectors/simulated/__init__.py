"""Simulated devices: wearing machines as Modbus TCP servers, printers as OPC UA servers."""

from connectors.simulated.history import Sampling, run_to_failure
from connectors.simulated.machine import SimulatedMachine, listening_port
from connectors.simulated.printer import SimulatedPrinter
from connectors.simulated.printer_control import SimulatedPrinterControl
from connectors.simulated.printer_model import PrinterModel
from connectors.simulated.site import SimulatedSite, with_simulator_passwords
from connectors.simulated.wear import MachineWear, RunState, TimeBase, WearEvent, WearEventKind
from models import ManualClock

__all__ = [
    "MachineWear",
    "ManualClock",
    "PrinterModel",
    "RunState",
    "Sampling",
    "SimulatedMachine",
    "SimulatedPrinter",
    "SimulatedPrinterControl",
    "SimulatedSite",
    "TimeBase",
    "WearEvent",
    "WearEventKind",
    "listening_port",
    "run_to_failure",
    "with_simulator_passwords",
]
