"""Printer readings turned into the Printers folder's view (after OPC 40540)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from models import PrinterJobState, PrinterStatus, Quality, Reading

_FIELDS = {
    "State": "job_state",
    "CurrentLayer": "current_layer",
    "LayersPlanned": "layers_planned",
    "MaterialLot": "material_lot",
    "JobId": "order_id",
}


class PrinterView:
    """A ReadingSink that keeps each printer's latest job values and shows them when they change."""

    def __init__(
        self, printers: Sequence[str], show: Callable[[PrinterStatus], Awaitable[None]]
    ) -> None:
        self._status = {printer: PrinterStatus(id=printer) for printer in printers}
        self._show = show

    def status(self, printer: str) -> PrinterStatus | None:
        return self._status.get(printer)

    async def put(self, readings: Sequence[Reading]) -> None:
        changed: set[str] = set()
        for reading in readings:
            current = self._status.get(reading.machine)
            field = _FIELDS.get(reading.tag)
            if current is None or field is None or reading.quality is Quality.BAD:
                continue
            value = _like(getattr(current, field), reading.value)
            if value is not None and getattr(current, field) != value:
                self._status[reading.machine] = current.model_copy(update={field: value})
                changed.add(reading.machine)
        for printer in sorted(changed):
            await self._show(self._status[printer])


def _like(example: object, value: object) -> PrinterJobState | int | str | None:
    """``value`` as the type of the status field it updates; None for a job state not known."""
    if isinstance(example, PrinterJobState):
        return _job_state(value)
    if isinstance(example, int) and isinstance(value, int | float):
        return int(value)
    return "" if value is None else str(value)


def _job_state(value: object) -> PrinterJobState | None:
    try:
        return PrinterJobState(str(value))
    except ValueError:
        return None
