"""The parts list: every part the site printed, with its lot, verdict and certificate status."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from ledger.canonical import JsonObject
from ledger.commands import ledger_store
from ledger.recall.trace import certificate_status
from ledger.store import LedgerStore
from ledger.tables import PartRow
from models import UNKNOWN_LOT, CertificateStatus, MaterialLotSource, Verdict


@dataclass(frozen=True, slots=True)
class PartEntry:
    """One line of the parts list."""

    serial: str
    order: str
    design: str
    printer: str
    material_lot: str
    material_lot_source: MaterialLotSource
    verdict: Verdict | None
    """The certificate's verdict, or the evidence's before it is issued; None while printing."""
    certificate_status: CertificateStatus
    reason: str = ""
    """Why the part was refused a certificate, when it was."""

    def document(self) -> JsonObject:
        """The part as ``trustfloor parts --json`` lists it."""
        entry: JsonObject = {
            "serial": self.serial,
            "order": self.order,
            "design": self.design,
            "printer": self.printer,
            "material_lot": self.material_lot,
            "material_lot_source": self.material_lot_source.value,
            "verdict": None if self.verdict is None else self.verdict.value,
            "certificate_status": self.certificate_status.value,
        }
        if self.reason:
            entry["reason"] = self.reason
        return entry


def part_entries(store: LedgerStore) -> list[PartEntry]:
    """Every part in ``store``, by serial (blocking: SQLite)."""
    suspended = store.suspended_serials()
    return [_entry(row, row.job.serial in suspended) for row in store.parts()]


def list_parts(settings: Settings) -> list[PartEntry]:
    """Every part of the site ``settings`` names, from its ledger store, by serial."""
    store = ledger_store(settings)
    try:
        return part_entries(store)
    finally:
        store.close()


def _entry(row: PartRow, suspended: bool) -> PartEntry:
    job = row.job
    known = job.material_lot_source is not MaterialLotSource.UNKNOWN and job.material_lot
    return PartEntry(
        serial=job.serial,
        order=job.order_id,
        design=f"{job.design.id}/{job.design.revision}",
        printer=job.printer,
        material_lot=job.material_lot if known else UNKNOWN_LOT,
        material_lot_source=job.material_lot_source if known else MaterialLotSource.UNKNOWN,
        verdict=row.verdict,
        certificate_status=certificate_status(row, suspended),
        reason=row.refusal,
    )
