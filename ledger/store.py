"""The ledger's SQLite store: jobs, samples, signed leaves, batches, receipts; durable on commit."""

# Durability: WAL with synchronous=FULL, so every commit is on disk (fsync) before the call
# that made it returns; callers acknowledge only what a returned call wrote. Each method is one
# transaction. The connection is shared by threads under a lock, so the async service can run
# the blocking calls in a worker thread.

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ledger.errors import LedgerStateError, StoreError, UnknownRecordError
from ledger.merkle import root_and_inclusion_proofs
from ledger.sitelog import (
    LOG_SCHEMA,
    SiteLogStore,
    grow_log,
    log_placed_leaves,
    place_waiting,
    waiting_leaves,
)
from ledger.tables import (
    BATCH_COLUMNS,
    LEAF_COLUMNS,
    SCHEMA,
    BatchRow,
    BatchState,
    JobRecord,
    JobState,
    LeafRow,
    NewLeaf,
    PartRow,
    PendingRevocationMark,
    Refusal,
    batch_row,
    job_record,
    leaf_row,
)
from models import (
    AnchorReceipt,
    DesignDossier,
    EvidenceSummary,
    InspectionResult,
    PrintJob,
    RecordKind,
    Sample,
    Synchronous,
    Verdict,
    from_micros,
    to_micros,
)

_UNANCHORED_CERTIFICATES = (
    "SELECT COUNT(*) FROM leaves l LEFT JOIN batches b ON b.id = l.batch_id"
    " WHERE l.kind = 'certificate' AND (b.id IS NULL OR b.state != 'anchored')"
)
"""Certificates issued but not yet anchored: waiting for a batch, or in one not yet on chain."""

_NOT_REFUSED = "job_id NOT IN (SELECT job_id FROM refused_jobs)"
"""Jobs whose part was not refused a certificate (the printer ran the job dispatched)."""

_PARTS = (
    "SELECT j.job, j.state, j.evidence, r.reason, json_extract(CAST(c.body AS TEXT),"
    " '$.verdict'), c.seq IS NOT NULL, b.state, EXISTS (SELECT 1 FROM leaves v"
    " WHERE v.serial = j.serial AND v.kind = 'revocation')"
    " FROM jobs j LEFT JOIN refused_jobs r ON r.job_id = j.job_id"
    " LEFT JOIN leaves c ON c.serial = j.serial AND c.kind = 'certificate'"
    " LEFT JOIN batches b ON b.id = c.batch_id ORDER BY j.serial"
)
"""Every part with its certificate's verdict and batch, its revocation and its refusal."""

_SUSPENDED_CERTIFICATES = (
    "SELECT c.seq FROM leaves c WHERE c.kind = 'certificate' AND (SELECT s.kind FROM leaves s"
    " WHERE s.serial = c.serial AND s.kind IN ('suspension', 'reinstatement')"
    " ORDER BY s.seq DESC LIMIT 1) = 'suspension' ORDER BY c.seq"
)
"""Certificates whose part's latest suspension or reinstatement record is a suspension."""


class LedgerStore(SiteLogStore):
    """One SQLite file (WAL, synchronous=FULL) holding everything the site's ledger issued."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            SCHEMA + LOG_SCHEMA,
            Synchronous.FULL,
            error=StoreError,
            opened_as=f"the ledger store {path}",
            label=f"ledger store {path}",
        )

    # ------------------------------------------------------------------ designs

    def save_design(
        self, design_key: bytes, dossier: DesignDossier, registered_tx: str | None, at: datetime
    ) -> None:
        """Keep the dossier registered under ``design_key``: evidence is checked against its
        process window, and a tampered copy is compared with it file by file."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO designs (design_key, dossier, registered_tx, saved_us)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (design_key) DO UPDATE SET"
                " dossier = excluded.dossier, saved_us = excluded.saved_us,"
                " registered_tx = COALESCE(excluded.registered_tx, designs.registered_tx)",
                (design_key, dossier.model_dump_json(), registered_tx, to_micros(at)),
            )

    def design(self, design_key: bytes) -> DesignDossier | None:
        """The registered dossier kept for ``design_key``, if this site registered or saw it."""
        with self._read() as cur:
            row = cur.execute(
                "SELECT dossier FROM designs WHERE design_key = ?", (design_key,)
            ).fetchone()
        return None if row is None else DesignDossier.model_validate_json(row[0])

    # ------------------------------------------------------------------ jobs and samples

    def start_job(self, job: PrintJob, design_key: bytes) -> None:
        """Record a job as printing; its piece counts against the licence from now on."""
        try:
            with self._tx() as cur:
                cur.execute(
                    "INSERT INTO jobs (job_id, serial, design_key, job, state)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (job.job_id, job.serial, design_key, job.model_dump_json(), JobState.PRINTING),
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise LedgerStateError(
                    f"job {job.job_id} or serial {job.serial} already exists"
                ) from None
            raise

    def job(self, job_id: str) -> JobRecord:
        """A stored job; UnknownRecordError when unknown."""
        return self._job_where("job_id = ?", job_id, f"no job {job_id}")

    def job_by_serial(self, serial: str) -> JobRecord:
        """The job that made part ``serial``; UnknownRecordError when unknown."""
        return self._job_where("serial = ?", serial, f"no part with serial {serial}")

    def _job_where(self, condition: str, value: str, missing: str) -> JobRecord:
        with self._read() as cur:
            row = cur.execute(
                f"SELECT job, design_key, state, evidence FROM jobs WHERE {condition}", (value,)
            ).fetchone()
        if row is None:
            raise UnknownRecordError(missing)
        return job_record(row)

    def update_job(self, job: PrintJob) -> None:
        """Keep what became known about a printing job (the printer's lot, health, gaps)."""
        with self._tx() as cur:
            self._require_state(cur, job.job_id, JobState.PRINTING)
            cur.execute(
                "UPDATE jobs SET job = ? WHERE job_id = ?", (job.model_dump_json(), job.job_id)
            )

    def drop_job(self, job_id: str) -> None:
        """Forget a printing job the printer never started, with its samples: no piece."""
        with self._tx() as cur:
            self._require_state(cur, job_id, JobState.PRINTING)
            cur.execute("DELETE FROM samples WHERE job_id = ?", (job_id,))
            cur.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))

    def refuse_job(self, job_id: str, evidence: EvidenceSummary, reason: str, at: datetime) -> None:
        """End a printing job whose part gets no certificate, keeping its evidence and why."""
        with self._tx() as cur:
            self._require_state(cur, job_id, JobState.PRINTING)
            cur.execute(
                "UPDATE jobs SET state = ?, evidence = ? WHERE job_id = ?",
                (JobState.FINISHED, evidence.model_dump_json(), job_id),
            )
            cur.execute(
                "INSERT INTO refused_jobs (job_id, reason, at_us) VALUES (?, ?, ?)",
                (job_id, reason, to_micros(at)),
            )

    def refusal_of(self, job_id: str) -> str | None:
        """Why the part of ``job_id`` was refused a certificate; None when it was not."""
        with self._read() as cur:
            row = cur.execute(
                "SELECT reason FROM refused_jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def last_sample_at(self, job_id: str) -> datetime | None:
        """When the job's latest sample was taken; None before its first."""
        with self._read() as cur:
            latest = cur.execute(
                "SELECT MAX(ts_us) FROM samples WHERE job_id = ?", (job_id,)
            ).fetchone()[0]
        return None if latest is None else from_micros(latest)

    def parts(self) -> list[PartRow]:
        """Every part this site printed or is printing, by serial."""
        with self._read() as cur:
            rows = cur.execute(_PARTS).fetchall()
        return [_part_row(row) for row in rows]

    def uncertified_jobs(self) -> list[JobRecord]:
        """Jobs still printing or finished without a certificate, in the order they started;
        parts refused a certificate are not among them."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT job, design_key, state, evidence FROM jobs WHERE state IN (?, ?)"
                f" AND {_NOT_REFUSED} ORDER BY rowid",
                (JobState.PRINTING, JobState.FINISHED),
            ).fetchall()
        return [job_record(row) for row in rows]

    def add_samples(self, job_id: str, samples: Sequence[Sample]) -> int:
        """Record samples of a printing job; a replayed (parameter, ts) keeps its first value.

        Returns how many were new.
        """
        rows = [(job_id, s.parameter, to_micros(s.ts), float(s.value)) for s in samples]
        with self._tx() as cur:
            self._require_state(cur, job_id, JobState.PRINTING)
            before = self._db.total_changes
            cur.executemany(
                "INSERT OR IGNORE INTO samples (job_id, parameter, ts_us, value)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )
            return self._db.total_changes - before

    def samples(self, job_id: str) -> list[Sample]:
        """Every sample of a job, in (parameter, time) order."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT parameter, ts_us, value FROM samples WHERE job_id = ?"
                " ORDER BY parameter, ts_us",
                (job_id,),
            ).fetchall()
        return [Sample(p, from_micros(t), v) for p, t, v in rows]

    def finish_job(
        self, job_id: str, evidence: EvidenceSummary, job: PrintJob | None = None
    ) -> None:
        """Mark a printing job finished with its checked evidence (and, given ``job``, what
        became known about it at its end)."""
        with self._tx() as cur:
            self._require_state(cur, job_id, JobState.PRINTING)
            cur.execute(
                "UPDATE jobs SET state = ?, evidence = ? WHERE job_id = ?",
                (JobState.FINISHED, evidence.model_dump_json(), job_id),
            )
            if job is not None:
                cur.execute(
                    "UPDATE jobs SET job = ? WHERE job_id = ?", (job.model_dump_json(), job_id)
                )

    def prune_samples(self, ended_before: datetime) -> tuple[int, int]:
        """Delete the process samples of certified jobs whose last sample is older than
        ``ended_before``: their certificates keep the evidence summary and the samples' digest.
        Returns (jobs, samples) deleted."""
        with self._tx() as cur:
            jobs = [
                str(row[0])
                for row in cur.execute(
                    "SELECT s.job_id FROM samples s JOIN jobs j ON j.job_id = s.job_id"
                    " WHERE j.state = ? GROUP BY s.job_id HAVING MAX(s.ts_us) < ?",
                    (JobState.CERTIFIED, to_micros(ended_before)),
                ).fetchall()
            ]
            before = self._db.total_changes
            cur.executemany("DELETE FROM samples WHERE job_id = ?", [(j,) for j in jobs])
            return len(jobs), self._db.total_changes - before

    def _require_state(self, cur: sqlite3.Cursor, job_id: str, state: JobState) -> None:
        row = cur.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            raise UnknownRecordError(f"no job {job_id}")
        if row[0] != state:
            raise LedgerStateError(f"job {job_id} is {row[0]}, not {state}")

    def record_refusal(self, at: datetime, serial: str, design: str, reason: str) -> None:
        """Keep why the printer agent refused a job."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO refusals (at_us, serial, design, reason) VALUES (?, ?, ?, ?)",
                (to_micros(at), serial, design, reason),
            )

    def refusals(self, limit: int = 100) -> list[Refusal]:
        """The latest refusals, newest first."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT at_us, serial, design, reason FROM refusals ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Refusal(*row) for row in rows]

    def unanchored_pieces(self, design_key: bytes) -> int:
        """Pieces of a design this site printed or is printing that no anchor has counted yet."""
        with self._read() as cur:
            jobs = cur.execute(
                "SELECT COUNT(*) FROM jobs WHERE design_key = ? AND state IN (?, ?)"
                f" AND {_NOT_REFUSED}",
                (design_key, JobState.PRINTING, JobState.FINISHED),
            ).fetchone()[0]
            leaves = cur.execute(
                "SELECT COUNT(*) FROM leaves l LEFT JOIN batches b ON l.batch_id = b.id"
                " WHERE l.kind = ? AND l.design_key = ? AND (b.id IS NULL OR b.state != ?)",
                (RecordKind.CERTIFICATE, design_key, BatchState.ANCHORED),
            ).fetchone()[0]
        return int(jobs) + int(leaves)

    # ------------------------------------------------------------------ inspections

    def add_pending_inspection(self, serial: str, result: InspectionResult) -> None:
        """Keep an inspection until the part's certificate is issued with it."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO inspections (serial, result) VALUES (?, ?)",
                (serial, result.model_dump_json()),
            )

    def pending_inspections(self, serial: str) -> tuple[InspectionResult, ...]:
        """Inspections waiting for the part's certificate, in the order they were recorded."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT result FROM inspections WHERE serial = ? ORDER BY id", (serial,)
            ).fetchall()
        return tuple(InspectionResult.model_validate_json(r[0]) for r in rows)

    # ------------------------------------------------------------------ leaves

    def append(self, leaves: Sequence[NewLeaf]) -> None:
        """Append signed records in one transaction, durable when this returns.

        A certificate's job becomes certified and its pending inspections are consumed in the
        same transaction. LedgerStateError when a serial already has a certificate (or a
        revocation) or a job is not finished; nothing is written then.
        """
        with self._appending() as cur:
            self._insert_leaves(cur, leaves)

    def append_sealing(
        self, leaves: Sequence[NewLeaf], batch_size: int, at: datetime
    ) -> list[BatchRow]:
        """:meth:`append`, and in the same transaction seal every full batch of ``batch_size``
        that the waiting leaves and these make, oldest first: the batches, roots and proofs
        :meth:`seal` would give one by one. The leaves of a batch that arrive with it are
        written once, with their proof, and one commit (one fsync) covers it all.

        With the site's log key the full batches grow the site log, each with its signed
        checkpoint, in the same transaction. Leaves beyond the last full batch keep waiting.
        """
        if batch_size < 1:
            raise ValueError(f"a batch holds at least one leaf, not {batch_size}")
        make_batch = self._batch_maker(at)
        sealed: list[BatchRow] = []
        with self._appending() as cur:
            rest = list(leaves)
            waiting = waiting_leaves(cur, batch_size)
            while len(waiting) + len(rest) >= batch_size:
                arriving, rest = (
                    rest[: batch_size - len(waiting)],
                    rest[batch_size - len(waiting) :],
                )
                hashes = [h for _, h in waiting] + [leaf.leaf_hash for leaf in arriving]
                batch, first, proofs = make_batch(cur, hashes)
                place_waiting(cur, batch.id, waiting, proofs, first)
                self._insert_leaves(
                    cur, arriving, batch.id, first + len(waiting), proofs[len(waiting) :]
                )
                if self.log_signer is not None:
                    log_placed_leaves(cur, batch.id)
                sealed.append(batch)
                waiting = waiting_leaves(cur, batch_size)
            self._insert_leaves(cur, rest)
        return sealed

    def _batch_maker(self, at: datetime) -> _BatchMaker:
        """How append_sealing makes a batch of leaf hashes: a tree of its own, or the site log
        grown by them when the site's log key is given (refused when the ledger keeps a log
        and the key is not given)."""
        signer = self.log_signer
        if signer is not None:

            def grow(cur: sqlite3.Cursor, hashes: Sequence[bytes]) -> _MadeBatch:
                grown = grow_log(cur, hashes, at, signer)
                return grown.batch, grown.first, grown.proofs

            return grow
        if self.has_log():
            raise LedgerStateError("this ledger keeps a site log: sealing needs its log key")

        def own_tree(cur: sqlite3.Cursor, hashes: Sequence[bytes]) -> _MadeBatch:
            root, proofs = root_and_inclusion_proofs(hashes)
            return _insert_batch(cur, root, len(hashes), at), 0, proofs

        return own_tree

    @contextmanager
    def _appending(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction that inserts leaves: a second record of a serial is refused."""
        try:
            with self._tx() as cur:
                yield cur
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise LedgerStateError(f"a record was already issued: {exc.__cause__}") from None
            raise

    def _insert_leaves(
        self,
        cur: sqlite3.Cursor,
        leaves: Sequence[NewLeaf],
        batch_id: int | None = None,
        first_index: int = 0,
        proofs: Sequence[Sequence[bytes]] = (),
    ) -> None:
        """Insert signed records (one executemany) and certify their jobs; with ``batch_id`` they
        are leaves ``first_index``, ``first_index`` + 1, ... of that batch with ``proofs``."""
        placed = batch_id is not None
        cur.executemany(
            _INSERT_LEAF,
            [
                (
                    leaf.kind.value,
                    leaf.serial,
                    leaf.design_key,
                    leaf.body,
                    leaf.leaf_hash,
                    leaf.signature,
                    to_micros(leaf.created_at),
                    batch_id,
                    first_index + n if placed else None,
                    b"".join(proofs[n]) if placed else None,
                )
                for n, leaf in enumerate(leaves)
            ],
        )
        for leaf in leaves:
            if leaf.job_id is not None:
                self._certify_job(cur, leaf.job_id, leaf.serial)

    def _certify_job(self, cur: sqlite3.Cursor, job_id: str, serial: str) -> None:
        self._require_state(cur, job_id, JobState.FINISHED)
        cur.execute("UPDATE jobs SET state = ? WHERE job_id = ?", (JobState.CERTIFIED, job_id))
        cur.execute("DELETE FROM inspections WHERE serial = ?", (serial,))

    def leaf(self, serial: str, kind: RecordKind) -> LeafRow | None:
        """The record of one kind about part ``serial`` (the first, for inspections)."""
        rows = self._leaves("l.serial = ? AND l.kind = ?", (serial, kind.value))
        return rows[0] if rows else None

    def records_about(self, serial: str) -> list[LeafRow]:
        """The inspection and revocation records issued about part ``serial``, oldest first."""
        return self._leaves("l.serial = ? AND l.kind != ?", (serial, RecordKind.CERTIFICATE.value))

    def revoked_positions(self) -> list[int]:
        """The leaf ``seq`` of every certificate whose part has a revocation record: the
        status-list bits to set."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT DISTINCT c.seq FROM leaves c JOIN leaves r"
                " ON r.serial = c.serial AND r.kind = ? WHERE c.kind = ? ORDER BY c.seq",
                (RecordKind.REVOCATION.value, RecordKind.CERTIFICATE.value),
            ).fetchall()
        return [int(row[0]) for row in rows]

    def suspended_positions(self) -> list[int]:
        """The leaf ``seq`` of every certificate a recall holds now (its part's latest
        suspension or reinstatement record is a suspension): the suspension status-list bits."""
        with self._read() as cur:
            rows = cur.execute(_SUSPENDED_CERTIFICATES).fetchall()
        return [int(row[0]) for row in rows]

    def suspended_serials(self) -> set[str]:
        """The parts whose certificate a recall holds now."""
        with self._read() as cur:
            rows = cur.execute(
                f"SELECT serial FROM leaves WHERE seq IN ({_SUSPENDED_CERTIFICATES})"
            ).fetchall()
        return {str(row[0]) for row in rows}

    def _leaves(self, condition: str, args: tuple[object, ...]) -> list[LeafRow]:
        with self._read() as cur:
            rows = cur.execute(
                f"SELECT {LEAF_COLUMNS} FROM leaves l LEFT JOIN batches b ON l.batch_id = b.id"
                f" WHERE {condition} ORDER BY l.seq",
                args,
            ).fetchall()
        return [leaf_row(r) for r in rows]

    # ------------------------------------------------------------------ batches

    def pending(self) -> tuple[int, int | None]:
        """How many leaves wait for a batch, and when the oldest was appended (µs)."""
        with self._read() as cur:
            count, oldest = cur.execute(
                "SELECT COUNT(*), MIN(created_us) FROM leaves WHERE batch_id IS NULL"
            ).fetchone()
        return int(count), oldest

    def seal(self, max_size: int, at: datetime) -> BatchRow | None:
        """Seal the oldest waiting leaves (at most ``max_size``) into one batch; None if none.

        Computes the RFC 6962 root and every leaf's inclusion proof in the same transaction.
        With the site's log key (``log_signer``) the leaves grow the site log instead.
        """
        if self.log_signer is not None:
            return self.seal_into_log(max_size, at, self.log_signer)
        if self.has_log():
            raise LedgerStateError("this ledger keeps a site log: sealing needs its log key")
        with self._tx() as cur:
            rows = waiting_leaves(cur, max_size)
            if not rows:
                return None
            root, proofs = root_and_inclusion_proofs([h for _, h in rows])
            batch = _insert_batch(cur, root, len(rows), at)
            place_waiting(cur, batch.id, rows, proofs)
        return batch

    def batches(self, *states: BatchState) -> list[BatchRow]:
        """Batches in any of ``states`` (every batch when none is given), oldest first."""
        where = f"WHERE b.state IN ({', '.join('?' * len(states))})" if states else ""
        with self._read() as cur:
            rows = cur.execute(
                f"SELECT {BATCH_COLUMNS} FROM batches b {where} ORDER BY b.id",
                tuple(s.value for s in states),
            ).fetchall()
        return [batch_row(r) for r in rows]

    def batch_pieces(self, batch_id: int) -> dict[bytes, int]:
        """Certificates per design key in a batch: the pieces its anchor counts."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT design_key, COUNT(*) FROM leaves WHERE batch_id = ? AND kind = ?"
                " AND design_key IS NOT NULL GROUP BY design_key ORDER BY design_key",
                (batch_id, RecordKind.CERTIFICATE.value),
            ).fetchall()
        return {bytes(k): int(n) for k, n in rows}

    def mark_sending(self, batch_id: int) -> None:
        """Note that an anchor transaction for the batch is about to be sent."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE batches SET state = ? WHERE id = ? AND state != ?",
                (BatchState.SENDING, batch_id, BatchState.ANCHORED),
            )

    def record_anchor(self, batch_id: int, receipt: AnchorReceipt) -> None:
        """Store the batch's anchor receipt (replacing an older one after a re-anchor)."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE batches SET state = ?, receipt = ? WHERE id = ?",
                (BatchState.ANCHORED, receipt.model_dump_json(), batch_id),
            )

    # ------------------------------------------------------------------ revocations

    def revocation_marks(self, *, include_marked: bool = False) -> list[PendingRevocationMark]:
        """Anchored revocations of anchored certificates not yet marked revoked on chain
        (with ``include_marked``, those already marked too, for reconciling)."""
        unmarked = "" if include_marked else " AND m.serial IS NULL"
        with self._read() as cur:
            rows = cur.execute(
                "SELECT r.serial, c.leaf_hash, cb.root, rb.root FROM leaves r"
                " JOIN batches rb ON r.batch_id = rb.id"
                " JOIN leaves c ON c.serial = r.serial AND c.kind = ?"
                " JOIN batches cb ON c.batch_id = cb.id"
                " LEFT JOIN revocation_marks m ON m.serial = r.serial"
                f" WHERE r.kind = ? AND rb.state = ? AND cb.state = ?{unmarked}"
                " ORDER BY r.seq",
                (
                    RecordKind.CERTIFICATE.value,
                    RecordKind.REVOCATION.value,
                    BatchState.ANCHORED,
                    BatchState.ANCHORED,
                ),
            ).fetchall()
        return [PendingRevocationMark(s, bytes(c), bytes(cr), bytes(rr)) for s, c, cr, rr in rows]

    def record_revocation_mark(self, serial: str, tx_hash: str) -> None:
        """Note that the chain knows the certificate of ``serial`` is revoked."""
        with self._tx() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO revocation_marks (serial, tx_hash) VALUES (?, ?)",
                (serial, tx_hash),
            )

    def counts(self) -> Mapping[str, int]:
        """Leaves, batches by state and jobs by state: a status line's numbers."""
        with self._read() as cur:
            leaves = cur.execute("SELECT COUNT(*) FROM leaves").fetchone()[0]
            batches = dict(cur.execute("SELECT state, COUNT(*) FROM batches GROUP BY state"))
            jobs = dict(cur.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"))
            unanchored = cur.execute(_UNANCHORED_CERTIFICATES).fetchone()[0]
        return {
            "leaves": int(leaves),
            "certificates_unanchored": int(unanchored),
            **{f"batches_{s.value}": int(batches.get(s.value, 0)) for s in BatchState},
            **{f"jobs_{s.value}": int(jobs.get(s.value, 0)) for s in JobState},
        }


_MadeBatch = tuple[BatchRow, int, Sequence[Sequence[bytes]]]
"""A batch made of leaf hashes: its row, the index of the first of them, their proofs."""
_BatchMaker = Callable[[sqlite3.Cursor, Sequence[bytes]], _MadeBatch]

_INSERT_LEAF = (
    "INSERT INTO leaves (kind, serial, design_key, body, leaf_hash, signature, created_us,"
    " batch_id, leaf_index, proof) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_batch(cur: sqlite3.Cursor, root: bytes, size: int, at: datetime) -> BatchRow:
    cur.execute(
        "INSERT INTO batches (root, size, sealed_us, state) VALUES (?, ?, ?, ?)",
        (root, size, to_micros(at), BatchState.SEALED),
    )
    batch_id = cur.lastrowid
    assert batch_id is not None
    return BatchRow(batch_id, root, size, to_micros(at), BatchState.SEALED, None)


def _part_row(row: sqlite3.Row | tuple[object, ...]) -> PartRow:
    job, state, evidence, refusal, verdict, certified, batch, revoked = row
    if verdict is None and evidence is not None:
        verdict = EvidenceSummary.model_validate_json(str(evidence)).verdict
    return PartRow(
        job=PrintJob.model_validate_json(str(job)),
        state=JobState(str(state)),
        verdict=None if verdict is None else Verdict(str(verdict)),
        certified=bool(certified),
        anchored=batch == BatchState.ANCHORED,
        revoked=bool(revoked),
        refusal="" if refusal is None else str(refusal),
    )
