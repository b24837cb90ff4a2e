"""The Printers folder's view keeps a printer's job state as the enum the model defines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from models import PrinterJobState, PrinterStatus, good
from opcua_server.model.printers import PrinterView

AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def shown_after(*states: str) -> list[PrinterStatus]:
    shown: list[PrinterStatus] = []

    async def show(status: PrinterStatus) -> None:
        shown.append(status)

    view = PrinterView(["printer-1"], show)
    for state in states:
        asyncio.run(view.put([good("printer-1", "State", AT, state)]))
    return shown


def test_a_reported_job_state_becomes_the_enum() -> None:
    [printing, completed] = shown_after("Printing", "Completed")
    assert printing.job_state is PrinterJobState.PRINTING
    assert completed.job_state is PrinterJobState.COMPLETED


def test_a_job_state_the_model_does_not_know_leaves_the_status_as_it_was() -> None:
    [printing] = shown_after("Printing", "Warming up")
    assert printing.job_state is PrinterJobState.PRINTING
