"""What a printer reports after OPC 40540: its process parameters and its job and feedstock tags."""

from __future__ import annotations

from enum import StrEnum

from models.machines import OpcUaTag


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
"""Namespace of the printer nodes the site reads (the simulated printers serve it)."""

JOB_MANAGEMENT = "JobManagement"
"""The folder of a printer's job tags and job methods (StartJob, AbortJob)."""
_PROCESS_VALUES = "Monitoring/ProcessValues"

_TAG_PATHS = {
    PrinterTag.STATE: f"{JOB_MANAGEMENT}/State",
    PrinterTag.JOB_ID: f"{JOB_MANAGEMENT}/JobId",
    PrinterTag.DESIGN_ID: f"{JOB_MANAGEMENT}/DesignId",
    PrinterTag.LAYERS_PLANNED: f"{JOB_MANAGEMENT}/LayersPlanned",
    PrinterTag.CURRENT_LAYER: f"{JOB_MANAGEMENT}/CurrentLayer",
    PrinterTag.REMAINING_TIME: f"{JOB_MANAGEMENT}/RemainingTime",
    PrinterTag.JOBS_COMPLETED: f"{JOB_MANAGEMENT}/JobsCompleted",
    PrinterTag.MATERIAL_LOT: "Equipment/Feedstock/MaterialLot",
}

PRINTER_NODE_PATHS: dict[str, str] = {
    **{tag.value: path for tag, path in _TAG_PATHS.items()},
    **{p.value: f"{_PROCESS_VALUES}/{p.value}" for p in ProcessParameter},
}
"""Each printer tag's path under ``Machines/<printer id>/``: OPC 40540's job management,
feedstock and process values."""


def printer_node_id(printer_id: str, name: str) -> str:
    """``nsu=`` NodeId string of a printer tag or job method, valid across server restarts."""
    path = PRINTER_NODE_PATHS.get(name, f"{JOB_MANAGEMENT}/{name}")
    return f"nsu={PRINTER_NAMESPACE};s=Machines/{printer_id}/{path}"


def printer_tags(printer_id: str, sampling_interval_ms: float = 100.0) -> tuple[OpcUaTag, ...]:
    """Tags an OPC UA client connector subscribes to for a printer's telemetry."""
    return tuple(
        OpcUaTag(
            name=name,
            node_id=printer_node_id(printer_id, name),
            unit=ProcessParameter(name).unit if name in PROCESS_TAGS else "",
            sampling_interval_ms=sampling_interval_ms,
        )
        for name in PRINTER_NODE_PATHS
    )
