"""The print flow: open orders to idle printers, each piece's evidence to its certificate."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from models import (
    NEXT_STATES,
    PROCESS_TAGS,
    CertificateStatus,
    Design,
    OrderBook,
    OrderState,
    Part,
    PartsDisplay,
    PrinterControl,
    PrinterJobState,
    PrinterTag,
    PrintingLedger,
    PrintOrder,
    Quality,
    Reading,
    Sample,
    TrustfloorError,
    Verdict,
)

log = logging.getLogger(__name__)

MAX_SCRAPPED_PIECES = 2
"""Failed pieces an order may have and still be reprinted; one more and it is rejected."""

ACTOR = "printflow"
"""Who the order book records for the changes the print flow makes."""


def piece_serial(order: PrintOrder, piece: int) -> str:
    """The serial of the ``piece``-th piece (1-based) printed for ``order``."""
    return f"{order.id}-{piece:02d}"


def material_lot(order: PrintOrder) -> str:
    """The feedstock lot the pieces of ``order`` are printed from."""
    return f"LOT-{order.created_at:%Y%m%d}-A"


@dataclass(slots=True)
class ActiveJob:
    """A piece being printed: its order, serial and the job the ledger records evidence for."""

    order: PrintOrder
    serial: str
    piece: int
    seen_printing: bool = False
    printing: bool = False
    layers_done: int = 0
    final_state: str = ""


class PrintFlow:
    """Dispatches print orders to idle printers and certifies each printed piece.

    A ReadingSink on the ingest bus: the printers' own telemetry is the evidence. Every piece
    passes the printer agent's checks (dossier hash on chain, licence quota) before it starts;
    a refused order is rejected with the reason. A piece whose evidence fails the process window
    keeps its failing certificate (scrap) and is printed again; the order is certified once it
    has ``quantity`` passing pieces, and rejected after ``MAX_SCRAPPED_PIECES`` + 1 failures.
    It knows orders, printers, the ledger and the MES's view only by their ports.
    """

    def __init__(
        self,
        orders: OrderBook,
        ledger: PrintingLedger,
        printers: Mapping[str, PrinterControl],
        display: PartsDisplay,
        *,
        layers: int = 200,
    ) -> None:
        self._orders = orders
        self._ledger = ledger
        self._printers = printers
        self._display = display
        self._layers = layers
        self._active: dict[str, ActiveJob] = {}
        self._lock = asyncio.Lock()
        self._resumed = False
        self.certified = 0
        self.rejected = 0

    async def put(self, readings: Sequence[Reading]) -> None:
        """Keep process samples of printing jobs; notice jobs that completed."""
        samples: dict[str, list[Sample]] = {}
        finished: list[str] = []
        for r in readings:
            job = self._active.get(r.machine)
            if job is None or r.quality is Quality.BAD or r.value is None:
                continue
            if r.tag in PROCESS_TAGS and job.printing and isinstance(r.value, int | float):
                samples.setdefault(job.serial, []).append(
                    Sample(r.tag, r.source_ts, float(r.value))
                )
            elif r.tag == PrinterTag.CURRENT_LAYER and isinstance(r.value, int | float):
                job.layers_done = max(job.layers_done, int(r.value))
            elif r.tag == PrinterTag.STATE and _follow_state(job, str(r.value)):
                finished.append(r.machine)
        for serial, batch in samples.items():
            await self._ledger.record_samples(serial, batch)
        async with self._lock:  # a tick never sees a piece half finished
            for printer in finished:
                await self._finish(printer)

    async def tick(self) -> None:
        """Start the next piece of the oldest open order on every idle printer."""
        async with self._lock:
            if not self._resumed:
                await self._resume()
            idle = [p for p in self._printers if p not in self._active]
            if not idle:
                return
            waiting = await self._orders.list_orders(
                [OrderState.CREATED, OrderState.DISPATCHED, OrderState.PRINTING]
            )
            for order in sorted(waiting, key=lambda o: o.created_at):
                if not idle:
                    break
                if any(job.order.id == order.id for job in self._active.values()):
                    continue
                await self._start(order, idle.pop(0))

    async def _start(self, order: PrintOrder, printer: str) -> None:
        piece = await self._pieces_done(order) + 1
        serial = piece_serial(order, piece)
        try:
            job = await self._ledger.start_job(
                serial=serial,
                design_id=order.design_id,
                revision=order.design_revision,
                printer=printer,
                order_id=order.id,
                material_lot=material_lot(order),
                layers_planned=self._layers,
            )
        except TrustfloorError as refused:
            log.warning("order %s refused by the printer agent: %s", order.id, refused)
            await self._advance(
                order, OrderState.REJECTED, f"refused by the printer agent: {refused}"
            )
            return
        if order.state is OrderState.CREATED:
            order = await self._orders.update_state(
                order.id, OrderState.DISPATCHED, actor=ACTOR, printer=printer
            )
        if order.state is OrderState.DISPATCHED:  # also one a crash left dispatched
            order = await self._orders.update_state(
                order.id, OrderState.PRINTING, actor=ACTOR, printer=printer
            )
        await self._printers[printer].submit(job)
        await self._printers[printer].start(job.job_id)
        self._active[printer] = ActiveJob(order, serial, piece)
        log.info("printing %s (%s) on %s", serial, order.design_id, printer)

    async def _pieces_done(self, order: PrintOrder) -> int:
        printing = sum(1 for job in self._active.values() if job.order.id == order.id)
        return printing + len(await self._verdicts_of(order))

    async def _verdicts_of(self, order: PrintOrder) -> Sequence[Verdict | None]:
        """The verdict of each certified piece of ``order``, in piece order."""
        pieces = (piece_serial(order, piece) for piece in itertools.count(1))
        return await self._ledger.certified_verdicts(pieces)

    async def _finish(self, printer: str) -> None:
        job = self._active.pop(printer)
        # OPC 40540: a Completed job built every planned layer; an aborted one what it reported.
        completed = job.final_state == PrinterJobState.COMPLETED
        layers = self._layers if completed else job.layers_done
        evidence = await self._ledger.finish_job(job.serial, layers)
        await self._ledger.issue_certificate(job.serial)
        passed = evidence.verdict is Verdict.PASS
        self.certified += passed
        self.rejected += not passed
        await self._display.show_part(
            Part(
                serial=job.serial,
                order_id=job.order.id,
                design_id=job.order.design_id,
                printer=printer,
                verdict=evidence.verdict,
                certificate=CertificateStatus.ISSUED,
            )
        )
        log.info("part %s printed: verdict %s", job.serial, evidence.verdict.value)
        await self._show_design(job.order)
        await self._settle(job.order)

    async def _settle(self, order: PrintOrder) -> None:
        """Close the order once its certified pieces decide it."""
        verdicts = await self._verdicts_of(order)
        good = verdicts.count(Verdict.PASS)
        if good >= order.quantity:
            await self._advance(order, OrderState.CERTIFIED)
        elif len(verdicts) - good > MAX_SCRAPPED_PIECES:
            failed = f"{len(verdicts) - good} pieces failed"
            log.warning("order %s rejected: %s", order.id, failed)
            await self._advance(order, OrderState.REJECTED, failed)

    async def _resume(self) -> None:
        """After a crash: the builds the last process left on its printers died with it (scrap,
        certified as interrupted); orders it left settled but not closed are closed."""
        for signed in await self._ledger.close_interrupted_jobs(self._printers):
            log.warning("part %s was interrupted by a restart: certified as scrap", signed.serial)
        states = [OrderState.DISPATCHED, OrderState.PRINTING, OrderState.PRINTED]
        for order in await self._orders.list_orders(states):
            await self._settle(order)
        self._resumed = True

    async def _show_design(self, order: PrintOrder) -> None:
        """The design's licence counter: pieces anchored on chain plus those waiting for a batch."""
        standing = await self._ledger.design_standing(order.design_id, order.design_revision)
        if standing is None:
            return
        await self._display.show_design(
            Design(
                id=order.design_id,
                revision=order.design_revision,
                name=standing.dossier.name,
                dossier_hash=standing.dossier.dossier_sha256,
                licensed_quantity=standing.quota,
                parts_produced=standing.produced,
            )
        )

    async def _advance(self, order: PrintOrder, final: OrderState, reason: str = "") -> None:
        """Close an order: printed then certified or rejected; one refused before it printed is
        rejected at once. ``reason`` is why (the order's StateReason)."""
        current = await self._orders.get_order(order.id)
        if current.state is OrderState.PRINTING:
            current = await self._orders.update_state(order.id, OrderState.PRINTED, actor=ACTOR)
        if final in NEXT_STATES.get(current.state, frozenset()):
            await self._orders.update_state(order.id, final, actor=ACTOR, note=reason)


def _follow_state(job: ActiveJob, state: str) -> bool:
    """Follow the printer's job state; True once the job has printed and then ended."""
    job.printing = state == PrinterJobState.PRINTING
    job.seen_printing = job.seen_printing or job.printing
    if job.seen_printing and state in (PrinterJobState.COMPLETED, PrinterJobState.ABORTED):
        job.final_state = state
        return True
    return False
