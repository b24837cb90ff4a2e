"""Test doubles at the ports seam only: fakes of the order book, certificate desk and printer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from models import (
    Clock,
    InvalidStateError,
    NotFoundError,
    OrderState,
    PrinterJobState,
    PrinterStatus,
    PrinterTag,
    PrintJob,
    PrintOrder,
    ProcessParameter,
    Reading,
    Sample,
    TrustfloorError,
    VerificationOutcome,
    good,
)

KNOWN_DESIGN = "bearing-housing"
KNOWN_SERIAL = "P-0001"


class FakeOrderBook:
    """A fake order book: keeps orders in memory and follows the real state rules."""

    def __init__(self) -> None:
        self.orders: dict[str, PrintOrder] = {}

    async def create_order(
        self,
        design_id: str,
        quantity: int,
        reason: str,
        requested_by: str,
        *,
        material_lot: str = "",
    ) -> PrintOrder:
        if design_id != KNOWN_DESIGN:
            raise NotFoundError(f"no design {design_id!r}")
        now = datetime.now(UTC)
        order = PrintOrder(
            id=f"PO-{len(self.orders) + 1:04d}",
            design_id=design_id,
            quantity=quantity,
            reason=reason,
            requested_by=requested_by,
            material_lot=material_lot,
            created_at=now,
            updated_at=now,
        )
        self.orders[order.id] = order
        return order

    async def cancel_order(self, order_id: str, cancelled_by: str) -> PrintOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise NotFoundError(f"no order {order_id!r}")
        if not order.state.is_open:
            raise InvalidStateError(f"order {order_id} is {order.state.value}")
        cancelled = order.model_copy(
            update={"state": OrderState.CANCELLED, "updated_at": datetime.now(UTC)}
        )
        self.orders[order_id] = cancelled
        return cancelled


class FakeCertificateDesk:
    """A fake certificate desk: one known serial; records inspections and revocations."""

    def __init__(self) -> None:
        self.inspections: list[tuple[str, str, str]] = []
        self.revocations: list[tuple[str, str, str]] = []

    def _known(self, serial: str) -> None:
        if serial != KNOWN_SERIAL:
            raise NotFoundError(f"no part {serial!r}")

    async def certificate_json(self, serial: str) -> str:
        self._known(serial)
        return json.dumps({"serial": serial, "verdict": "pass"})

    async def proof_bundle_json(self, serial: str) -> str:
        self._known(serial)
        return json.dumps({"certificate": {"serial": serial}, "proof": []})

    async def verify_bundle(self, bundle_json: str) -> VerificationOutcome:
        bundle = json.loads(bundle_json)
        serial = bundle.get("certificate", {}).get("serial")
        if serial == KNOWN_SERIAL:
            return VerificationOutcome(True, "signature, inclusion and anchor verified")
        return VerificationOutcome(False, f"unknown certificate {serial!r}")

    async def record_inspection(self, serial: str, results_json: str, inspector: str) -> None:
        self._known(serial)
        self.inspections.append((serial, results_json, inspector))

    async def revoke(self, serial: str, reason: str, revoked_by: str) -> None:
        self._known(serial)
        self.revocations.append((serial, reason, revoked_by))


PRINTING_VALUES = {
    ProcessParameter.LASER_POWER: 280.0,
    ProcessParameter.CHAMBER_OXYGEN: 400.0,
    ProcessParameter.BUILD_PLATE_TEMPERATURE: 180.0,
    ProcessParameter.LAYER_TIME: 40.0,
}
"""What the fake printer reports of every layer: the demo designs' windows' middles."""


class PrinterUnreachableError(TrustfloorError):
    """The fake printer's link is down."""


class FakePrinter:
    """A printer behind the PrinterControl port, for the faults a real printer has.

    Layers of ``layer_s`` seconds of the test's clock. What a test sets is what the printer
    reports: its feedstock lot, its alarms and hours since maintenance, another job or dossier
    than dispatched, a job of its own keeping it busy, a refusal; ``online = False`` drops the
    link; ``fail(reason)`` aborts the job on the printer's side.
    """

    def __init__(self, printer_id: str, clock: Clock, *, layer_s: float = 40.0) -> None:
        self._id = printer_id
        self._clock = clock
        self._layer_s = layer_s
        self._submitted: dict[str, PrintJob] = {}
        self.job: PrintJob | None = None
        self._started = clock.now()
        self._stopped_at: int | None = None
        self.feedstock = ""
        self.alarms: tuple[str, ...] = ()
        self.hours_since_maintenance: float | None = None
        self.online = True
        self.reports_job: str | None = None
        self.reports_dossier: str | None = None
        self.busy_with = ""
        self.refusal = ""
        self.reason = ""

    @property
    def printer_id(self) -> str:
        return self._id

    async def submit(self, job: PrintJob) -> None:
        self._submitted[job.job_id] = job

    async def start(self, job_id: str) -> None:
        if self.busy_with:
            raise InvalidStateError(f"printer {self._id} is printing job {self.busy_with}")
        if self.refusal:
            raise TrustfloorError(self.refusal)
        self.job = self._submitted.pop(job_id)
        self._started = self._clock.now()
        self._stopped_at = None
        self.reason = ""

    async def abort(self, job_id: str) -> None:
        self.fail("aborted on request")

    def fail(self, reason: str) -> None:
        """The printer stops the job where it is, for ``reason``."""
        self._stopped_at = self.layer()
        self.reason = reason

    def layer(self) -> int:
        """Layers completed by now."""
        if self.job is None:
            return 0
        if self._stopped_at is not None:
            return self._stopped_at
        elapsed = (self._clock.now() - self._started).total_seconds()
        return min(self.job.layers_planned, int(elapsed // self._layer_s))

    def state(self) -> PrinterJobState:
        if self.busy_with:
            return PrinterJobState.PRINTING
        if self.job is None:
            return PrinterJobState.IDLE
        if self._stopped_at is not None:
            return PrinterJobState.ABORTED
        if self.layer() >= self.job.layers_planned:
            return PrinterJobState.COMPLETED
        return PrinterJobState.PRINTING

    async def status(self) -> PrinterStatus:
        if not self.online:
            raise PrinterUnreachableError(f"printer {self._id} does not answer")
        job = self.job
        return PrinterStatus(
            id=self._id,
            job_state=self.state(),
            current_layer=self.layer(),
            layers_planned=job.layers_planned if job else 0,
            material_lot=self.feedstock,
            job_id=self.busy_with or self._reported(job),
            dossier_sha256=self._dossier(job),
            alarms=self.alarms,
            reason=self.reason if self.state() is PrinterJobState.ABORTED else "",
            hours_since_maintenance=self.hours_since_maintenance,
        )

    def _reported(self, job: PrintJob | None) -> str:
        if self.reports_job is not None:
            return self.reports_job
        return job.job_id if job else ""

    def _dossier(self, job: PrintJob | None) -> str:
        if self.reports_dossier is not None:
            return self.reports_dossier
        return job.design.dossier_sha256 if job else ""

    async def process_samples(self) -> AsyncIterator[Sample]:
        for parameter, value in PRINTING_VALUES.items():
            yield Sample(parameter.value, self._clock.now(), value)

    def readings(self) -> list[Reading]:
        """What the printer's telemetry shows now (its state, layer and process values)."""
        now = self._clock.now()
        state = self.state()
        readings = [
            good(self._id, PrinterTag.STATE, now, state.value),
            good(self._id, PrinterTag.CURRENT_LAYER, now, self.layer()),
        ]
        if state is PrinterJobState.PRINTING:
            readings += [good(self._id, p.value, now, v) for p, v in PRINTING_VALUES.items()]
        return readings
