"""What a printer reports after OPC 40540: its process parameters and its job and feedstock tags."""

from __future__ import annotations

from enum import StrEnum


class ProcessParameter(StrEnum):
    """Process values a powder-bed printer reports for the layer it is printing.

    Their names are the parameters of a design's process window: these tags are the evidence.
    """

    LASER_POWER = "LaserPower"
    CHAMBER_OXYGEN = "ChamberOxygen"
    BUILD_PLATE_TEMPERATURE = "BuildPlateTemperature"
    LAYER_TIME = "LayerTime"

    @property
    def unit(self) -> str:
        """The engineering unit the printer reports it in (UNECE Rec. 20 symbol)."""
        return _UNITS[self]


_UNITS = {
    ProcessParameter.LASER_POWER: "W",
    ProcessParameter.CHAMBER_OXYGEN: "ppm",
    ProcessParameter.BUILD_PLATE_TEMPERATURE: "Cel",
    ProcessParameter.LAYER_TIME: "s",
}

PROCESS_TAGS = frozenset(p.value for p in ProcessParameter)
"""Printer tags that are process evidence."""


class PrinterTag(StrEnum):
    """The job and feedstock tags a printer reports beside its process values."""

    STATE = "State"
    JOB_ID = "JobId"
    DESIGN_ID = "DesignId"
    LAYERS_PLANNED = "LayersPlanned"
    CURRENT_LAYER = "CurrentLayer"
    """Layers completed so far (OPC 40540 §10.1 RunInfoDataType.CurrentLayer)."""
    REMAINING_TIME = "RemainingTime"
    JOBS_COMPLETED = "JobsCompleted"
    MATERIAL_LOT = "MaterialLot"


PRINTER_NAMESPACE = "urn:trustfloor:sim:printer"
"""Namespace of the simulated printers' own nodes (their NodeIds and simulator-only methods);
printers are read through their mappings (config.printers), whatever namespaces they use."""
