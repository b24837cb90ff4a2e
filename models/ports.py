"""Protocols (ports) through which connectors, maintenance, ledger and the server meet."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from models.parts import (
    DesignDossier,
    EvidenceGap,
    EvidenceSummary,
    MaterialLotSource,
    PrinterHealth,
    PrintJob,
    Sample,
    Verdict,
)
from models.production import Design, OrderState, Part, PrinterStatus, PrintOrder
from models.readings import Reading


class Clock(Protocol):
    """Where time comes from, so tests control it instead of sleeping."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ReadingSink(Protocol):
    """Takes batches of readings; awaiting ``put`` is the back-pressure point."""

    async def put(self, readings: Sequence[Reading]) -> None: ...


@runtime_checkable
class Connector(Protocol):
    """A southbound device link that produces readings until it is stopped."""

    @property
    def name(self) -> str: ...

    @property
    def connected(self) -> bool:
        """Whether the link to the device is up now."""
        ...

    async def run(self, sink: ReadingSink) -> None:
        """Poll or subscribe and hand readings to ``sink``; returns only when cancelled."""
        ...


class Historian(Protocol):
    """Durable store of readings, queried by point and time range."""

    async def write(self, readings: Sequence[Reading]) -> None: ...

    async def query(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[Reading]: ...

    async def close(self) -> None: ...


class OrderDesk(Protocol):
    """Print orders as the MES uses them: created, cancelled while still open."""

    async def create_order(
        self,
        design_id: str,
        quantity: int,
        reason: str,
        requested_by: str,
        *,
        material_lot: str = "",
    ) -> PrintOrder:
        """A new order; ``material_lot`` is the feedstock lot the MES asks for, if any."""
        ...

    async def cancel_order(self, order_id: str, cancelled_by: str) -> PrintOrder: ...


class OrderBook(OrderDesk, Protocol):
    """The site's print orders: created by the MES or an alert, cancelled while still open,
    moved along their life by the print flow.

    Unknown orders raise NotFoundError, changes the order's state does not allow
    InvalidStateError.
    """

    async def get_order(self, order_id: str) -> PrintOrder: ...

    async def list_orders(
        self, states: Collection[OrderState] | None = None, limit: int = 100
    ) -> list[PrintOrder]:
        """Orders, newest first, optionally only those in ``states``."""
        ...

    async def update_state(
        self,
        order_id: str,
        state: OrderState,
        *,
        actor: str,
        printer: str | None = None,
        note: str = "",
    ) -> PrintOrder:
        """Move an order along its life; ``printer`` once it is dispatched, ``note`` says why."""
        ...


class PrinterControl(Protocol):
    """One printer's job control: ISA-95 job orders (OPC 10031-4), OPC 40540 state.

    A job is submitted (Store) and then started (Start), so a printer may hold it until it is
    free; ``abort`` stops it where it is. Refusals raise TrustfloorError: InvalidStateError
    while another job prints, or when the job to abort is not the one printing.
    """

    @property
    def printer_id(self) -> str: ...

    async def submit(self, job: PrintJob) -> None:
        """Hand the printer a job for a registered dossier; it waits until ``start``."""
        ...

    async def start(self, job_id: str) -> None:
        """Start printing a submitted job."""
        ...

    async def abort(self, job_id: str) -> None:
        """Stop the job ``job_id`` while it prints."""
        ...

    async def status(self) -> PrinterStatus:
        """Job state, current layer, layers planned and material lot as the printer shows them."""
        ...

    def process_samples(self) -> AsyncIterator[Sample]:
        """The process values (``models.printing.ProcessParameter``) of each layer it prints,
        as they come; runs until the caller stops iterating."""
        ...


class IssuedRecord(Protocol):
    """A signed record the ledger issued for a part."""

    @property
    def serial(self) -> str: ...


class LicenceStanding(Protocol):
    """A design the site keeps, with its licence: the quota and the pieces made against it."""

    @property
    def dossier(self) -> DesignDossier: ...

    @property
    def quota(self) -> int: ...

    @property
    def produced(self) -> int:
        """Pieces counted on chain plus those printed here that no anchor has counted yet."""
        ...


class PrintingLedger(Protocol):
    """The ledger as the print flow drives it: the printer agent's checks before a piece starts
    (dossier hash on chain, licence quota), its evidence, its certificate, the licence counter.
    """

    async def start_job(
        self,
        *,
        serial: str,
        design_id: str,
        revision: str,
        printer: str,
        order_id: str,
        material_lot: str,
        layers_planned: int | None = None,
        material_lot_source: MaterialLotSource | None = None,
    ) -> PrintJob:
        """Check the dossier and the licence, then record the job as printing; a refusal
        raises TrustfloorError with the reason. Without ``layers_planned``, the layers the
        dossier plans; ``material_lot`` is the order's ("" when it names none)."""
        ...

    async def job_started(
        self, job_id: str, health: PrinterHealth, material_lot: str = ""
    ) -> PrintJob:
        """Keep the printer's health as the job started and the feedstock lot it reports."""
        ...

    async def record_samples(self, job_id: str, samples: Sequence[Sample]) -> int: ...

    async def record_gap(self, job_id: str, gap: EvidenceGap) -> PrintJob:
        """Keep a stretch of the job without process data (the printer did not answer)."""
        ...

    async def reattach_job(self, job_id: str, cause: str) -> PrintJob:
        """Take up a job the printer kept printing while the site was away (a gap since its
        last sample)."""
        ...

    async def finish_job(
        self,
        job_id: str,
        layers_done: int,
        *,
        health: PrinterHealth | None = None,
        stopped: str = "",
    ) -> EvidenceSummary:
        """The job's samples checked against the dossier's process window; a job the printer
        ``stopped`` fails for that reason."""
        ...

    async def refuse_job(
        self, job_id: str, reason: str, layers_done: int, health: PrinterHealth | None = None
    ) -> EvidenceSummary:
        """End a job whose part gets no certificate (the printer ran something else)."""
        ...

    async def drop_job(self, job_id: str, reason: str) -> None:
        """Forget a job the printer did not start (busy or refusing): no piece was made."""
        ...

    async def issue_certificate(self, serial: str) -> IssuedRecord: ...

    async def printing_jobs(self, printers: Collection[str]) -> Sequence[PrintJob]:
        """Jobs on ``printers`` still printing as far as the ledger knows."""
        ...

    async def close_interrupted_jobs(
        self, printers: Collection[str], keep: Collection[str] = ()
    ) -> Sequence[IssuedRecord]:
        """After a restart: certify the parts the last process left unfinished on ``printers``,
        but those of the jobs in ``keep`` (their printer still runs them)."""
        ...

    async def certified_verdicts(self, serials: Iterable[str]) -> Sequence[Verdict | None]:
        """The evidence verdict of each part of ``serials`` in turn, up to the first one not
        certified yet (None for a certified part without evidence)."""
        ...

    async def design_standing(self, design_id: str, revision: str) -> LicenceStanding | None:
        """A design kept here with its licence on chain; None without the design or a chain."""
        ...


class PartsDisplay(Protocol):
    """Where the MES sees printed parts and the designs' licence counters."""

    async def show_part(self, part: Part) -> None: ...

    async def show_design(self, design: Design) -> None: ...


@dataclass(frozen=True, slots=True)
class VerificationOutcome:
    """Verdict of verifying a proof bundle, with the reason a person can act on."""

    valid: bool
    reason: str


class CertificateDesk(Protocol):
    """Part certificates as the quality engineer and the MES use them."""

    async def certificate_json(self, serial: str) -> str: ...

    async def proof_bundle_json(self, serial: str) -> str: ...

    async def verify_bundle(self, bundle_json: str) -> VerificationOutcome: ...

    async def record_inspection(self, serial: str, results_json: str, inspector: str) -> None: ...

    async def revoke(self, serial: str, reason: str, revoked_by: str) -> None: ...


class WorkRequestCloser(Protocol):
    """Where a maintenance work request is closed with what the technician found."""

    async def close_work_request(self, request_id: str, closure: Mapping[str, object]) -> str:
        """Close ``request_id`` with ``closure`` (the fields of a closure: ISO 14224 failure_mode,
        failure_mechanism, failure_cause, failed_at and/or repaired_at, part_serial, closed_by,
        notes); the status it is in after. NotFoundError for an unknown request,
        InvalidRequestError for unknown codes or no time, InvalidStateError when it was closed
        otherwise before."""
        ...


class Aggregate(StrEnum):
    """Processed history aggregates (OPC 10000-13 §5.4: Average, Minimum, Maximum, Count)."""

    AVERAGE = "average"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    COUNT = "count"


class AggregateStatus(StrEnum):
    """Quality of one interval (OPC 10000-13 §5.3 PercentValues; uncertain counts as bad)."""

    GOOD = "good"  # every reading in the interval is Good
    UNCERTAIN_DATA_SUBNORMAL = "uncertain_data_subnormal"  # some readings Good, some not
    BAD_NO_DATA = "bad_no_data"  # no Good reading in the interval


@dataclass(frozen=True, slots=True)
class AggregateValue:
    """One interval of an aggregate; ``value`` is None when the interval has no good data."""

    start: datetime
    value: float | None
    status: AggregateStatus = AggregateStatus.GOOD


@runtime_checkable
class AggregateHistorian(Protocol):
    """A historian that computes interval aggregates of one point."""

    async def aggregate(
        self,
        machine: str,
        tag: str,
        start: datetime,
        end: datetime,
        interval_s: float,
        kind: Aggregate,
    ) -> list[AggregateValue]: ...
