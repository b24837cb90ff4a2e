"""Design dossiers, print jobs, part evidence, certificates and proof bundles of the ledger."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, Field, field_validator, model_validator

from models.machines import Frozen, Identifier

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
"""A SHA-256 digest as 64 lower-case hex digits (dossiers, samples, leaves, roots)."""

TxHashHex = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$")]
"""A transaction hash as Ethereum JSON-RPC writes it: 0x and 64 lower-case hex digits."""

Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
"""An Ethereum account or contract address (EIP-55 checksummed where trustfloor writes it)."""

SignatureHex = Annotated[str, Field(pattern=r"^[0-9a-f]{128}0[01]$")]
"""A recoverable secp256k1 signature r || s || recovery id (65 bytes) in lower-case hex."""

Revision = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,31}$")]
"""A design revision such as ``C`` or ``2026.1``."""

Serial = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")]
"""A part serial number or job id: printable, no spaces, at most 64 characters."""


def _aware(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    return ts


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Verdict(StrEnum):
    """Whether a part (its evidence, an inspection, its certificate) meets its requirements."""

    PASS = "pass"
    FAIL = "fail"


class FileRole(StrEnum):
    """What a file of a design dossier is."""

    MODEL = "model"
    RECIPE = "recipe"
    DOCUMENT = "document"


class ParameterWindow(Frozen):
    """The allowed range of one process parameter while printing: ``min <= value <= max``."""

    min: float
    max: float
    unit: str = Field("", description="UNECE Rec. 20 symbol where one exists")
    tolerance_s: float = Field(
        0.0, ge=0, description="time out of the window a job may accumulate and still pass"
    )

    @model_validator(mode="after")
    def _ordered_and_finite(self) -> ParameterWindow:
        if not (math.isfinite(self.min) and math.isfinite(self.max)):
            raise ValueError("min and max must be finite")
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside the window (bounds included)."""
        return self.min <= value <= self.max


class DesignFile(Frozen):
    """One file of a dossier, named by its path inside the design folder and its digest."""

    path: str = Field(pattern=r"^[^/\\][^\\]*$", description="relative POSIX path")
    role: FileRole
    sha256: Sha256Hex
    size: int = Field(ge=0)

    @field_validator("path")
    @classmethod
    def _inside_the_folder(cls, path: str) -> str:
        if ".." in path.split("/"):
            raise ValueError("a dossier file must lie inside the design folder")
        return path


class DesignRef(Frozen):
    """Which design revision a job or certificate is about, and the dossier it was printed from."""

    id: Identifier
    revision: Revision
    dossier_sha256: Sha256Hex


class DesignDossier(Frozen):
    """A spare part's industrial dossier (DVI): model file(s), recipe and process window."""

    id: Identifier
    revision: Revision
    name: str = ""
    files: tuple[DesignFile, ...] = Field(min_length=1)
    process_window: dict[Identifier, ParameterWindow] = Field(min_length=1)
    dossier_sha256: Sha256Hex

    @model_validator(mode="after")
    def _has_model_and_recipe(self) -> DesignDossier:
        roles = {f.role for f in self.files}
        missing = {FileRole.MODEL, FileRole.RECIPE} - roles
        if missing:
            raise ValueError(f"a dossier needs a {' and a '.join(sorted(missing))} file")
        paths = [f.path for f in self.files]
        if len(set(paths)) != len(paths):
            raise ValueError("a dossier lists each file once")
        return self

    @property
    def ref(self) -> DesignRef:
        """The reference certificates and jobs carry."""
        return DesignRef(id=self.id, revision=self.revision, dossier_sha256=self.dossier_sha256)


class MaterialLotSource(StrEnum):
    """Where a part's material lot comes from; never invented."""

    PRINTER = "printer"
    """The printer's feedstock at job start."""
    ORDER = "order"
    """The print order, as the MES gave it."""
    UNKNOWN = "unknown"
    """Neither the printer nor the order named one."""


UNKNOWN_LOT = "unknown"
"""What a certificate states as the material lot when neither the printer nor the order gave one."""


class PrinterHealth(Frozen):
    """The printer's own health at one moment of a job, as it reported it."""

    at: AwareDatetime
    state: str = Field(max_length=64, description="the printer's job or machine state")
    alarms: tuple[str, ...] = Field((), description="its active alarms, in its own words")
    anomaly_score: float | None = Field(None, allow_inf_nan=False)
    """A model's anomaly score of the printer's telemetry, where a model scores it."""
    model_version: str = Field("", max_length=64)
    hours_since_maintenance: float | None = Field(None, ge=0, allow_inf_nan=False)


class EvidenceGap(Frozen):
    """A stretch of a job during which no process data could be recorded, and why."""

    start: AwareDatetime
    end: AwareDatetime
    cause: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> EvidenceGap:
        if self.end < self.start:
            raise ValueError("a gap ends after it starts")
        return self


class PrintJob(Frozen):
    """One run on one printer for one order, making the part ``serial``.

    What the printer said at the job's start and end (its health, its feedstock lot) and the
    gaps in its evidence are added to the job as they become known.
    """

    job_id: Serial
    serial: Serial
    design: DesignRef
    printer: Identifier
    order_id: str = Field(max_length=64)
    material_lot: str = Field(max_length=64)
    layers_planned: int = Field(ge=1)
    started_at: AwareDatetime
    material_lot_source: MaterialLotSource = MaterialLotSource.UNKNOWN
    health_at_start: PrinterHealth | None = None
    health_at_end: PrinterHealth | None = None
    gaps: tuple[EvidenceGap, ...] = ()


class Sample(NamedTuple):
    """One process telemetry value of a running job (a plain tuple: there are many)."""

    parameter: str
    ts: datetime
    value: float


class Excursion(Frozen):
    """A stretch of time during which one parameter stayed outside its window."""

    start: AwareDatetime
    end: AwareDatetime
    worst: float = Field(description="the value farthest outside the window")


class ParameterStats(Frozen):
    """One parameter of a job checked against its window."""

    parameter: Identifier
    samples: int = Field(ge=0)
    min: float | None
    max: float | None
    mean: float | None
    std: float | None = Field(description="population standard deviation")
    out_of_window_s: float = Field(ge=0)
    excursions: tuple[Excursion, ...] = ()
    excursion_count: int = Field(0, ge=0, description="all excursions; the list may be cut")


class EvidenceSummary(Frozen):
    """A job's process evidence: statistics per parameter, verdict, digest of the raw samples."""

    samples_sha256: Sha256Hex
    samples: int = Field(ge=0)
    started_at: AwareDatetime
    ended_at: AwareDatetime
    layers_done: int = Field(ge=0)
    layers_planned: int = Field(ge=1)
    parameters: tuple[ParameterStats, ...]
    verdict: Verdict
    reasons: tuple[str, ...] = ()


class InspectionResult(Frozen):
    """One check of a printed part by a quality engineer (CMM, CT scan, tensile coupon...)."""

    check: str = Field(min_length=1, max_length=64)
    result: Verdict
    inspector: str = Field(min_length=1, max_length=64)
    at: AwareDatetime
    value: float | None = Field(None, allow_inf_nan=False)
    unit: str = ""
    note: str = Field("", max_length=500)


class MachineHealth(Frozen):
    """The printer's predicted health when the part was built."""

    model_version: str = Field(min_length=1, max_length=64)
    score: float = Field(allow_inf_nan=False)


class PartCertificate(Frozen):
    """What a certificate states about one part, before it is encoded and signed."""

    serial: Serial
    design: DesignRef
    printer: Identifier
    order_id: str
    job_id: Serial
    material_lot: str
    evidence: EvidenceSummary
    inspections: tuple[InspectionResult, ...] = ()
    health: MachineHealth | None = None
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    issuer: Address
    issued_at: AwareDatetime
    material_lot_source: MaterialLotSource = MaterialLotSource.UNKNOWN
    health_at_start: PrinterHealth | None = None
    health_at_end: PrinterHealth | None = None
    gaps: tuple[EvidenceGap, ...] = ()
    notes: tuple[str, ...] = ()
    """What a reader must know that does not fail the part (an unknown lot, evidence gaps)."""
    verify_url: str = Field("", max_length=512)
    """Where anyone can verify the certificate online; empty until a base URL is configured."""


class InclusionProof(Frozen):
    """An RFC 6962 §2.1.1 audit path from a leaf to the root of its batch."""

    leaf_index: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    path: tuple[Sha256Hex, ...]
    root: Sha256Hex


class AnchorReceipt(Frozen):
    """Where a batch root was anchored: chain, contract, transaction and block."""

    chain_id: int = Field(ge=1)
    contract: Address
    tx_hash: TxHashHex
    block_number: int = Field(ge=0)
    root: Sha256Hex
    size: int = Field(ge=1)
    block_header: str | None = Field(
        None,
        pattern=r"^0x(?:[0-9a-f]{2})+$",
        max_length=64_000,
        description="on a Besu QBFT chain, the anchoring block's header (RLP, hex) with its "
        "validators' commit seals, checked offline by `trustfloor verify --validators FILE`",
    )


class RecordKind(StrEnum):
    """The kinds of signed records the ledger appends as leaves."""

    CERTIFICATE = "certificate"
    INSPECTION = "inspection"
    REVOCATION = "revocation"
    SUSPENSION = "suspension"
    """A certificate held by a recall campaign until the part is cleared or withdrawn."""
    REINSTATEMENT = "reinstatement"
    """A suspension lifted: the part was inspected and found fine."""
    END_OF_LIFE = "end_of_life"
    """The part taken back, or dismantled: its life closed on the record."""


class AttestedRecord(Frozen):
    """A signed record as issued (its JSON document), with its proof and anchor when known."""

    kind: RecordKind
    document: dict[str, Any] = Field(description="the signed JSON object, exactly as issued")
    signature: SignatureHex
    leaf_hash: Sha256Hex
    proof: InclusionProof | None = None
    anchor: AnchorReceipt | None = None
    checkpoint: str | None = Field(
        None,
        max_length=16_384,
        description="bundle 2: the site log's checkpoint the proof leads to, as a C2SP signed "
        "note with the site's signature line and each witness's cosignature line",
    )


class RevocationStatus(StrEnum):
    """What the issuing site knew about a certificate's revocation when it exported it."""

    NOT_REVOKED = "not_revoked"
    REVOKED = "revoked"


class ProofBundle(Frozen):
    """Everything a third party needs to verify one part's certificate, offline or online."""

    format: Literal["trustfloor.bundle/1", "trustfloor.bundle/2"] = "trustfloor.bundle/1"
    """1: each batch its own tree; 2: one site log, its records' proofs lead to checkpoints."""
    log_key: str | None = Field(
        None, max_length=512, description="bundle 2: the site log's verifier key (signed-note)"
    )
    certificate: AttestedRecord
    records: tuple[AttestedRecord, ...] = Field(
        (), description="signed records issued later about the part: inspections, revocation"
    )
    revocation: RevocationStatus = RevocationStatus.NOT_REVOKED
    exported_at: AwareDatetime

    @model_validator(mode="after")
    def _certificate_first(self) -> ProofBundle:
        if self.certificate.kind is not RecordKind.CERTIFICATE:
            raise ValueError("a bundle's certificate must be a certificate record")
        if any(r.kind is RecordKind.CERTIFICATE for r in self.records):
            raise ValueError("later records are inspections or revocations, not certificates")
        return self


@dataclass(frozen=True, slots=True)
class VerificationCheck:
    """One check a verification made, whether it held, and what it found.

    A plain dataclass: verification makes several per bundle and must stay fast.
    """

    name: str
    passed: bool
    detail: str


class VerificationReport(Frozen):
    """The verdict on a proof bundle: every check with its finding.

    ``valid`` means authentic (signed by a trusted issuer, included in its batch, anchored and
    not revoked, as far as the mode could check); ``part_verdict`` is what the certificate says
    of the part itself. ``warnings`` name what a valid report did not check (an issuer
    accepted without a trust anchor).
    """

    mode: Literal["offline", "online"]
    valid: bool
    part_verdict: Verdict | None
    serial: str | None
    checks: tuple[VerificationCheck, ...]
    warnings: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """The findings of the checks that failed."""
        return tuple(f"{c.name}: {c.detail}" for c in self.checks if not c.passed)
