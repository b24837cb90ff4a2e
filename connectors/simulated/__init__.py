"""Simulated devices: wearing machines as Modbus TCP servers, printers as OPC UA servers."""

from importlib import import_module
from typing import TYPE_CHECKING

from connectors.simulated.printer import SimulatedPrinter
from connectors.simulated.printer_control import SimulatedPrinterControl
from connectors.simulated.printer_model import PrinterModel
from connectors.simulated.site import SimulatedSite, with_simulator_passwords
from connectors.simulated.wear import MachineWear, RunState, TimeBase, WearEvent, WearEventKind
from models import ManualClock

if TYPE_CHECKING:
    from connectors.simulated.history import Sampling, run_to_failure
    from connectors.simulated.machine import SimulatedMachine, listening_port

_LOADED_ON_USE = {
    "Sampling": "connectors.simulated.history",
    "run_to_failure": "connectors.simulated.history",
    "SimulatedMachine": "connectors.simulated.machine",
    "listening_port": "connectors.simulated.machine",
}
"""Names whose module loads pymodbus: imported when a site simulates a machine."""

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


def __getattr__(name: str) -> object:
    """Import a name of ``_LOADED_ON_USE`` from its module when it is first asked for."""
    module = _LOADED_ON_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
