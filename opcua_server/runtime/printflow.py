"""The print flow: open orders to idle printers, each piece's evidence to its certificate."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from models import (
    NEXT_STATES,
    PROCESS_TAGS,
    UNKNOWN_LOT,
    CertificateStatus,
    Clock,
    Design,
    EvidenceGap,
    InvalidStateError,
    OrderBook,
    OrderState,
    Part,
    PartsDisplay,
    PrinterControl,
    PrinterHealth,
    PrinterJobState,
    PrinterStatus,
    PrinterTag,
    PrintingLedger,
    PrintJob,
    PrintOrder,
    Quality,
    Reading,
    Sample,
    SystemClock,
    TrustfloorError,
    Verdict,
)

log = logging.getLogger(__name__)

MAX_SCRAPPED_PIECES = 2
"""Failed pieces an order may have and still be reprinted; one more and it is rejected."""

ACTOR = "printflow"
"""Who the order book records for the changes the print flow makes."""

CONNECTION_LOST = "printer connection lost"
"""The cause of an evidence gap while the printer did not answer."""
SITE_AWAY = "trustfloor was not running while the printer kept printing"
"""The cause of the evidence gap of a job taken up again after a restart."""

ENDED = (PrinterJobState.COMPLETED, PrinterJobState.ABORTED)

WAITING = (OrderState.CREATED, OrderState.DISPATCHED, OrderState.PRINTING)
"""Orders the flow prints pieces for; a held order (a recall) waits for a person instead."""

UNREACHABLE = (TrustfloorError, OSError)
"""What a printer's status raises when the printer does not answer."""


def piece_serial(order: PrintOrder, piece: int) -> str:
    """The serial of the ``piece``-th piece (1-based) printed for ``order``."""
    return f"{order.id}-{piece:02d}"


def printer_health(status: PrinterStatus, at: datetime) -> PrinterHealth:
    """The printer's own health as its status shows it at ``at``."""
    return PrinterHealth(
        at=at,
        state=status.job_state.value,
        alarms=status.alarms,
        hours_since_maintenance=status.hours_since_maintenance,
    )


def reported_job(status: PrinterStatus) -> str:
    """The job the printer says it holds ("" when it names none)."""
    return status.job_id or status.order_id


def mismatch(job: PrintJob, status: PrinterStatus) -> str:
    """Why what the printer reports is not the job dispatched to it; "" when it is."""
    if status.job_id and status.job_id != job.job_id:
        return (
            f"printer {job.printer} reports job {status.job_id!r}, not the job {job.job_id!r} "
            "dispatched to it"
        )
    if status.dossier_sha256 and status.dossier_sha256.lower() != job.design.dossier_sha256:
        return (
            f"printer {job.printer} reports dossier {status.dossier_sha256}, not the dossier "
            f"{job.design.dossier_sha256} of design {job.design.id} revision "
            f"{job.design.revision} dispatched to it"
        )
    return ""


def stop_reason(status: PrinterStatus | None) -> str:
    """Why the printer aborted a job, in its words when it gives them."""
    if status is not None and status.reason:
        return status.reason
    return "the printer aborted the job and gave no reason"


PRINTER_LOST_JOB = (
    "the printer lost the job: it answers idle with no job (restarted or reset mid-build)"
)


def lost_the_job(active: ActiveJob, status: PrinterStatus) -> bool:
    """Whether a printer that was building the job now shows no job at all."""
    return active.seen_printing and status.job_state is PrinterJobState.IDLE and not status.job_id


@dataclass(slots=True)
class ActiveJob:
    """A piece being printed: its order, its job as the ledger keeps it, what the printer
    showed of it so far."""

    order: PrintOrder
    job: PrintJob
    seen_printing: bool = False
    printing: bool = False
    layers_done: int = 0
    final_state: str = ""
    gap_since: datetime | None = None
    """When the printer stopped answering (None while it answers)."""
    ended_seen: bool = False
    """Whether the printer's status already showed the job ended on an earlier tick."""
    stop_note: str = ""
    """Why the job stopped when the printer itself cannot say (it lost the job)."""

    @property
    def serial(self) -> str:
        return self.job.serial


class PrintFlow:
    """Dispatches print orders to idle printers and certifies each printed piece.

    A ReadingSink on the ingest bus: the printers' own telemetry is the evidence. Every piece
    passes the printer agent's checks (dossier hash on chain, licence quota) before it starts;
    a refused order is rejected with the reason. The job carries the design, its revision, the
    dossier hash and the layers the dossier plans; a busy printer makes the order wait, a
    printer refusing the job rejects it with the printer's reason. On every tick the printers'
    status is read: a printer that does not answer opens an evidence gap (closed, with its
    interval, when it answers again); one that reports another job or dossier than the one
    dispatched gets no certificate for the piece (refused, the order rejected with the
    reason). The material lot is the printer's feedstock at job start, else the order's; the
    printer's health at the job's start and end goes into the certificate.

    A piece whose evidence fails the process window keeps its failing certificate (scrap) and
    is printed again; a piece the printer aborted is scrap with the printer's reason. The order
    is certified once it has ``quantity`` passing pieces, and rejected after
    ``MAX_SCRAPPED_PIECES`` + 1 failures. After a restart, a job its printer still runs is
    taken up again by its id and certified with the gap stated. It knows orders, printers, the
    ledger and the MES's view only by their ports.
    """

    def __init__(
        self,
        orders: OrderBook,
        ledger: PrintingLedger,
        printers: Mapping[str, PrinterControl],
        display: PartsDisplay,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._orders = orders
        self._ledger = ledger
        self._printers = printers
        self._display = display
        self._clock = clock or SystemClock()
        self._active: dict[str, ActiveJob] = {}
        self._lock = asyncio.Lock()
        self._resumed = False
        self._unavailable: dict[str, str] = {}
        """Why each printer could not take a job on the last try (logged once)."""
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
                samples.setdefault(job.job.job_id, []).append(
                    Sample(r.tag, r.source_ts, float(r.value))
                )
            elif r.tag == PrinterTag.CURRENT_LAYER and isinstance(r.value, int | float):
                job.layers_done = max(job.layers_done, int(r.value))
            elif r.tag == PrinterTag.STATE and _follow_state(job, str(r.value)):
                finished.append(r.machine)
        for job_id, batch in samples.items():
            await self._ledger.record_samples(job_id, batch)
        async with self._lock:  # a tick never sees a piece half finished
            for printer in finished:
                await self._finish(printer)

    async def tick(self) -> None:
        """Watch the printing jobs, then start the next piece of the oldest open order on every
        idle printer."""
        async with self._lock:
            if not self._resumed:
                await self._resume()
            for printer in list(self._active):
                await self._watch(printer)
            idle = [p for p in self._printers if p not in self._active]
            if not idle:
                return
            waiting = await self._orders.list_orders(WAITING)
            for order in sorted(waiting, key=lambda o: o.created_at):
                if any(job.order.id == order.id for job in self._active.values()):
                    continue
                while idle and not await self._start(order, idle.pop(0)):
                    pass
                if not idle:
                    break

    # ------------------------------------------------------------------ starting a piece

    async def _start(self, order: PrintOrder, printer: str) -> bool:
        """Start the order's next piece on ``printer``; False when the printer cannot take it
        now (busy, not answering), True when the order was served (started or rejected)."""
        control = self._printers[printer]
        before = await self._status(printer)
        if before is None:
            return self._cannot_take(printer, "it does not answer")
        if before.job_state is PrinterJobState.PRINTING:
            return self._cannot_take(printer, f"it is printing job {reported_job(before)!r}")
        if (await self._orders.get_order(order.id)).state not in WAITING:
            return True  # held or cancelled since it was listed: it waits for a person now
        serial = piece_serial(order, await self._pieces_done(order) + 1)
        try:
            job = await self._ledger.start_job(
                serial=serial,
                design_id=order.design_id,
                revision=order.design_revision,
                printer=printer,
                order_id=order.id,
                material_lot=order.material_lot,
            )
        except TrustfloorError as refused:
            log.warning("order %s refused by the printer agent: %s", order.id, refused)
            await self._advance(
                order, OrderState.REJECTED, f"refused by the printer agent: {refused}"
            )
            return True
        try:
            await control.submit(job)
            await control.start(job.job_id)
        except InvalidStateError as busy:
            await self._ledger.drop_job(job.job_id, f"printer {printer} is busy: {busy}")
            return self._cannot_take(printer, str(busy))
        except TrustfloorError as refused:
            reason = f"printer {printer} refused the job: {refused}"
            await self._ledger.drop_job(job.job_id, reason)
            log.warning("order %s rejected: %s", order.id, reason)
            await self._advance(order, OrderState.REJECTED, reason)
            return True
        self._unavailable.pop(printer, None)
        active = ActiveJob(await self._mark_printing(order, printer), job)
        self._active[printer] = active
        log.info("printing %s (%s) on %s", serial, order.design_id, printer)
        await self._observe_start(printer, active)
        return True

    def _cannot_take(self, printer: str, why: str) -> bool:
        if self._unavailable.get(printer) != why:
            log.info("printer %s cannot take a job now: %s", printer, why)
            self._unavailable[printer] = why
        return False

    async def _mark_printing(self, order: PrintOrder, printer: str) -> PrintOrder:
        """Move the order to printing on ``printer`` (also one a crash left dispatched)."""
        if order.state is OrderState.CREATED:
            order = await self._orders.update_state(
                order.id, OrderState.DISPATCHED, actor=ACTOR, printer=printer
            )
        if order.state is OrderState.DISPATCHED:
            order = await self._orders.update_state(
                order.id, OrderState.PRINTING, actor=ACTOR, printer=printer
            )
        return order

    async def _observe_start(self, printer: str, active: ActiveJob) -> None:
        """What the printer says as the job starts: its health and feedstock lot, and whether
        it runs the job dispatched."""
        status = await self._status(printer)
        if status is None:
            active.gap_since = self._clock.now()
            return
        active.job = await self._ledger.job_started(
            active.job.job_id, printer_health(status, self._clock.now()), status.material_lot
        )
        await self._check_reported(printer, active, status)

    async def _pieces_done(self, order: PrintOrder) -> int:
        printing = sum(1 for job in self._active.values() if job.order.id == order.id)
        return printing + len(await self._verdicts_of(order))

    async def _verdicts_of(self, order: PrintOrder) -> Sequence[Verdict | None]:
        """The verdict of each decided piece of ``order``, in piece order."""
        pieces = (piece_serial(order, piece) for piece in itertools.count(1))
        return await self._ledger.certified_verdicts(pieces)

    # ------------------------------------------------------------------ watching a piece

    async def _status(self, printer: str) -> PrinterStatus | None:
        """The printer's status; None when it does not answer."""
        try:
            return await self._printers[printer].status()
        except UNREACHABLE as lost:
            log.debug("printer %s does not answer: %s", printer, lost)
            return None

    async def _watch(self, printer: str) -> None:
        """One look at a printing job's printer: gaps while it does not answer, another job or
        dossier than dispatched, a job that ended without its end reaching the telemetry."""
        active = self._active[printer]
        status = await self._status(printer)
        now = self._clock.now()
        if status is None:
            if active.gap_since is None:
                log.warning(
                    "printer %s stopped answering while printing %s", printer, active.serial
                )
                active.gap_since = now
            return
        if active.gap_since is not None:
            gap = EvidenceGap(start=active.gap_since, end=now, cause=CONNECTION_LOST)
            active.job = await self._ledger.record_gap(active.job.job_id, gap)
            active.gap_since = None
            log.warning("printer %s answers again; %s continues", printer, active.serial)
        if await self._check_reported(printer, active, status):
            return
        if lost_the_job(active, status):
            log.warning("printer %s lost %s: %s", printer, active.serial, PRINTER_LOST_JOB)
            active.final_state = PrinterJobState.ABORTED
            active.stop_note = PRINTER_LOST_JOB
            await self._finish(printer)
            return
        if status.job_state in ENDED and reported_job(status) in ("", active.job.job_id):
            active.layers_done = max(active.layers_done, status.current_layer)
            if active.ended_seen:  # the telemetry did not bring the end within a tick
                active.final_state = status.job_state
                await self._finish(printer)
            active.ended_seen = True

    async def _check_reported(self, printer: str, active: ActiveJob, status: PrinterStatus) -> bool:
        """Refuse the piece when the printer reports another job or dossier; True if it did."""
        why = mismatch(active.job, status)
        if not why:
            return False
        del self._active[printer]
        layers = max(active.layers_done, status.current_layer)
        health = printer_health(status, self._clock.now())
        evidence = await self._ledger.refuse_job(active.job.job_id, why, layers, health)
        await self._show_part(active, evidence.verdict, CertificateStatus.REFUSED, why)
        self.rejected += 1
        log.warning("order %s rejected: %s", active.order.id, why)
        await self._advance(active.order, OrderState.REJECTED, f"part {active.serial}: {why}")
        return True

    # ------------------------------------------------------------------ ending a piece

    async def _finish(self, printer: str) -> None:
        job = self._active.pop(printer, None)
        if job is None:
            return
        status = await self._status(printer)
        health = None if status is None else printer_health(status, self._clock.now())
        if status is not None:
            job.layers_done = max(job.layers_done, status.current_layer)
        # OPC 40540: a Completed job built every planned layer; an aborted one what it reported.
        completed = job.final_state == PrinterJobState.COMPLETED
        layers = job.job.layers_planned if completed else job.layers_done
        stopped = "" if completed else job.stop_note or stop_reason(status)
        evidence = await self._ledger.finish_job(
            job.job.job_id, layers, health=health, stopped=stopped
        )
        await self._ledger.issue_certificate(job.serial)
        passed = evidence.verdict is Verdict.PASS
        self.certified += passed
        self.rejected += not passed
        await self._show_part(job, evidence.verdict, CertificateStatus.ISSUED, stopped)
        log.info("part %s printed: verdict %s", job.serial, evidence.verdict.value)
        await self._show_design(job.order)
        await self._settle(job.order)

    async def _show_part(
        self, job: ActiveJob, verdict: Verdict, certificate: CertificateStatus, reason: str
    ) -> None:
        await self._display.show_part(
            Part(
                serial=job.serial,
                order_id=job.order.id,
                design_id=job.order.design_id,
                printer=job.job.printer,
                verdict=verdict,
                certificate=certificate,
                material_lot=job.job.material_lot or UNKNOWN_LOT,
                material_lot_source=job.job.material_lot_source,
                reason=reason,
            )
        )

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

    # ------------------------------------------------------------------ after a restart

    async def _resume(self) -> None:
        """After a restart: jobs their printers still run are taken up again by their id (the
        time away is a gap in their evidence); the builds the printers no longer run died with
        the last process (scrap, certified as interrupted); orders it left settled but not
        closed are closed."""
        kept = [
            job.job_id
            for job in await self._ledger.printing_jobs(self._printers)
            if await self._reattach(job)
        ]
        for signed in await self._ledger.close_interrupted_jobs(self._printers, keep=kept):
            log.warning("part %s was interrupted by a restart: certified as scrap", signed.serial)
        states = [OrderState.DISPATCHED, OrderState.PRINTING, OrderState.PRINTED]
        for order in await self._orders.list_orders(states):
            await self._settle(order)
        self._resumed = True

    async def _reattach(self, job: PrintJob) -> bool:
        """Take up ``job`` again if its printer still runs it (or ended it while the site was
        away, or does not answer yet); False when the printer shows no trace of it."""
        status = await self._status(job.printer)
        if status is not None and (
            reported_job(status) != job.job_id
            or status.job_state not in (PrinterJobState.PRINTING, *ENDED)
        ):
            return False
        job = await self._ledger.reattach_job(job.job_id, SITE_AWAY)
        order = await self._mark_printing(await self._orders.get_order(job.order_id), job.printer)
        active = ActiveJob(order, job, seen_printing=True)
        self._active[job.printer] = active
        log.warning("taking up %s again on %s after a restart", job.serial, job.printer)
        if status is None:
            active.gap_since = self._clock.now()
        elif status.job_state in ENDED:
            active.layers_done = status.current_layer
            active.final_state = status.job_state
            await self._finish(job.printer)
        else:
            active.printing = True
        return True

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
    if job.seen_printing and state in ENDED:
        job.final_state = state
        return True
    return False
