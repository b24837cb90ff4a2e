"""The ledger store's tables: the SQLite schema, the rows read from it and their states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ledger.merkle import HASH_SIZE
from models import AnchorReceipt, EvidenceSummary, PrintJob, RecordKind, Verdict

SCHEMA = """
CREATE TABLE IF NOT EXISTS designs (
    design_key BLOB PRIMARY KEY,
    dossier TEXT NOT NULL,
    registered_tx TEXT,
    saved_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    design_key BLOB NOT NULL,
    job TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('printing', 'finished', 'certified')),
    evidence TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_design ON jobs (design_key, state);
CREATE TABLE IF NOT EXISTS samples (
    job_id TEXT NOT NULL,
    parameter TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (job_id, parameter, ts_us)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY,
    at_us INTEGER NOT NULL,
    serial TEXT NOT NULL,
    design TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inspections (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    root BLOB NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    sealed_us INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sealed', 'sending', 'anchored')),
    receipt TEXT
);
CREATE TABLE IF NOT EXISTS leaves (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    serial TEXT NOT NULL,
    design_key BLOB,
    body BLOB NOT NULL,
    leaf_hash BLOB NOT NULL UNIQUE,
    signature BLOB NOT NULL,
    created_us INTEGER NOT NULL,
    batch_id INTEGER REFERENCES batches (id),
    leaf_index INTEGER,
    proof BLOB
);
CREATE INDEX IF NOT EXISTS leaves_by_serial ON leaves (serial, kind);
CREATE INDEX IF NOT EXISTS leaves_by_batch ON leaves (batch_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS one_certificate_per_serial
    ON leaves (serial) WHERE kind = 'certificate';
CREATE UNIQUE INDEX IF NOT EXISTS one_revocation_per_serial
    ON leaves (serial) WHERE kind = 'revocation';
CREATE TABLE IF NOT EXISTS revocation_marks (
    serial TEXT PRIMARY KEY,
    tx_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refused_jobs (
    job_id TEXT PRIMARY KEY REFERENCES jobs (job_id),
    reason TEXT NOT NULL,
    at_us INTEGER NOT NULL
);
"""


class JobState(StrEnum):
    """A print job's life in the ledger: printing, finished (evidence checked), certified."""

    PRINTING = "printing"
    FINISHED = "finished"
    CERTIFIED = "certified"


class BatchState(StrEnum):
    """A batch's life: sealed (root known), sending (anchor transaction sent), anchored."""

    SEALED = "sealed"
    SENDING = "sending"
    ANCHORED = "anchored"


@dataclass(frozen=True, slots=True)
class NewLeaf:
    """A signed record to append; ``job_id`` marks that job certified in the same transaction."""

    kind: RecordKind
    serial: str
    body: bytes
    leaf_hash: bytes
    signature: bytes
    created_at: datetime
    design_key: bytes | None = None
    job_id: str | None = None


@dataclass(frozen=True, slots=True)
class BatchRow:
    """A sealed batch and, once anchored, its receipt."""

    id: int
    root: bytes
    size: int
    sealed_us: int
    state: BatchState
    receipt: AnchorReceipt | None
    checkpoint: str | None = None
    """The site log's signed checkpoint with the cosignatures received (ledger/sitelog.py);
    None for a batch sealed before the site log."""
    log_key: str | None = None
    """The verifier key of the log key that signed ``checkpoint``."""


@dataclass(frozen=True, slots=True)
class LeafRow:
    """A stored signed record, with its batch and proof once sealed."""

    seq: int
    kind: RecordKind
    serial: str
    body: bytes
    leaf_hash: bytes
    signature: bytes
    created_us: int
    batch: BatchRow | None
    leaf_index: int | None
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A print job as stored: the job, its state and its evidence once finished."""

    job: PrintJob
    design_key: bytes
    state: JobState
    evidence: EvidenceSummary | None


@dataclass(frozen=True, slots=True)
class PartRow:
    """One part as the ledger knows it: its job, where its certificate stands, and why it was
    refused when it was. ``verdict`` is the certificate's, or the evidence's before it."""

    job: PrintJob
    state: JobState
    verdict: Verdict | None
    certified: bool
    anchored: bool
    revoked: bool
    refusal: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """A job the printer agent refused to start, and why."""

    at_us: int
    serial: str
    design: str
    reason: str


@dataclass(frozen=True, slots=True)
class PendingRevocationMark:
    """A revocation anchored on chain whose certificate is not yet marked revoked there."""

    serial: str
    certificate_leaf_hash: bytes
    certificate_root: bytes
    record_root: bytes


BATCH_COLUMNS = (
    "b.id, b.root, b.size, b.sealed_us, b.state, b.receipt, (SELECT k.note || COALESCE(("
    "SELECT group_concat(w.line, '') FROM cosignatures w WHERE w.batch_id = b.id), '')"
    " FROM checkpoints k WHERE k.batch_id = b.id),"
    " (SELECT k.log_key FROM checkpoints k WHERE k.batch_id = b.id)"
)
LEAF_COLUMNS = (
    "l.seq, l.kind, l.serial, l.body, l.leaf_hash, l.signature, l.created_us, l.leaf_index,"
    " l.proof, " + BATCH_COLUMNS
)


def job_record(row: Sequence[Any]) -> JobRecord:
    job, design_key, state, evidence = row
    return JobRecord(
        PrintJob.model_validate_json(job),
        bytes(design_key),
        JobState(state),
        None if evidence is None else EvidenceSummary.model_validate_json(evidence),
    )


def batch_row(row: Sequence[Any]) -> BatchRow:
    batch_id, root, size, sealed_us, state, receipt, checkpoint, log_key = row
    return BatchRow(
        id=batch_id,
        root=bytes(root),
        size=size,
        sealed_us=sealed_us,
        state=BatchState(state),
        receipt=None if receipt is None else AnchorReceipt.model_validate_json(receipt),
        checkpoint=checkpoint,
        log_key=log_key,
    )


def leaf_row(row: Sequence[Any]) -> LeafRow:
    seq, kind, serial, body, leaf_hash, signature, created_us, index, proof = row[:9]
    raw_proof = bytes(proof or b"")
    return LeafRow(
        seq=seq,
        kind=RecordKind(kind),
        serial=serial,
        body=bytes(body),
        leaf_hash=bytes(leaf_hash),
        signature=bytes(signature),
        created_us=created_us,
        batch=None if row[9] is None else batch_row(row[9:]),
        leaf_index=index,
        proof=tuple(raw_proof[i : i + HASH_SIZE] for i in range(0, len(raw_proof), HASH_SIZE)),
    )
