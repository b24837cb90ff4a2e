"""What a trace or a recall names: lot, printer and build window, design, dossier, order, serial."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from ledger.canonical import JsonObject
from ledger.documents import iso
from ledger.recall.errors import TraceCriteriaError
from models import PrintJob


@dataclass(frozen=True, slots=True)
class TraceCriteria:
    """Parts that match every criterion given; ``start``/``until`` bound the build start
    (``start`` <= job start < ``until``) whatever else is named."""

    lot: str = ""
    printer: str = ""
    design: str = ""
    revision: str = ""
    dossier: str = ""
    order: str = ""
    serial: str = ""
    start: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.revision and not self.design:
            raise TraceCriteriaError("--revision needs --design")
        named = (self.lot, self.printer, self.design, self.dossier, self.order, self.serial)
        if not any(named):
            raise TraceCriteriaError(
                "no criterion: name a lot, printer, design, dossier, order or serial"
            )
        for moment in (self.start, self.until):
            if moment is not None and moment.tzinfo is None:
                raise TraceCriteriaError(f"{moment.isoformat()} has no time zone: add Z or +01:00")
        if self.start is not None and self.until is not None and self.start >= self.until:
            raise TraceCriteriaError(
                f"the window from {iso(self.start)} until {iso(self.until)} is empty"
            )

    def matches(self, job: PrintJob) -> bool:
        """Whether the part made by ``job`` is one these criteria name."""
        checks = (
            (self.lot, job.material_lot),
            (self.printer, job.printer),
            (self.design, job.design.id),
            (self.revision, job.design.revision),
            (self.dossier.lower(), job.design.dossier_sha256),
            (self.order, job.order_id),
            (self.serial, job.serial),
        )
        if any(wanted and wanted != actual for wanted, actual in checks):
            return False
        if self.start is not None and job.started_at < self.start:
            return False
        return self.until is None or job.started_at < self.until

    def describe(self) -> str:
        """The criteria as a person reads them: ``lot L-1, printer am-2, from ... until ...``."""
        named = [f"{name} {value}" for name, value in self._named().items()]
        return ", ".join(named)

    def document(self) -> JsonObject:
        """The criteria as JSON (times in RFC 3339 UTC), only those given."""
        return dict(self._named())

    def _named(self) -> dict[str, str]:
        named = {k: v for k, v in asdict(self).items() if isinstance(v, str) and v}
        if self.start is not None:
            named["from"] = iso(self.start)
        if self.until is not None:
            named["until"] = iso(self.until)
        return named
