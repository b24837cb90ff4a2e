"""The site's one append-only log: leaves, signed checkpoints and witness cosignatures in SQLite."""

# Every seal appends its leaves to one growing RFC 6962 tree; the batch row keeps the tree's new
# root and size (what the chain anchors) and the checkpoint of that size signed by the site's
# log key (C2SP tlog-checkpoint). A leaf's index is its place in the log and its proof leads to
# the root of the checkpoint it was sealed in. Batches sealed before the log existed keep their
# own roots and proofs (bundle format 1). Cosignatures arrive later, one row per witness.
# Each checkpoint's frontier (its maximal perfect subtrees' hashes) is kept beside it, so a seal
# reads only the leaves it appends and a consistency proof only the leaves after its old size.

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ledger.errors import LedgerStateError
from ledger.merkle_frontier import EMPTY_FRONTIER, Frontier, Subtrees, append_leaves
from ledger.tables import BatchRow, BatchState
from ledger.transparency import (
    ED25519,
    Checkpoint,
    Note,
    NoteError,
    NoteSignature,
    Signer,
    load_or_create_signer,
)
from ledger.transparency.keyfile import SEED_LENGTH
from models import SerializedStore, to_micros

LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_leaves (
    log_index INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE REFERENCES leaves (seq)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    batch_id INTEGER PRIMARY KEY REFERENCES batches (id),
    size INTEGER NOT NULL UNIQUE,
    note TEXT NOT NULL,
    log_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cosignatures (
    batch_id INTEGER NOT NULL REFERENCES checkpoints (batch_id),
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (batch_id, witness)
);
CREATE TABLE IF NOT EXISTS log_frontiers (
    size INTEGER PRIMARY KEY,
    hashes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS witness_progress (
    witness TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint the site signed when it sealed batch ``batch_id``, with its cosignatures."""

    batch_id: int
    size: int
    note: str
    """The signed note with the site's signature line only."""
    cosignatures: Mapping[str, str]
    """Witness name (as configured) -> its cosignature/v1 line."""

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint.parse(Note.parse(self.note).text)

    def cosigned_note(self) -> str:
        """The note with the site's signature and every cosignature line received."""
        lines = [NoteSignature.parse(line.rstrip("\n")) for line in self.cosignatures.values()]
        return Note.parse(self.note).with_signatures(lines).render()


class SiteLogStore(SerializedStore):
    """The log's tables in the ledger store (see the module comment); LedgerStore is one."""

    log_signer: Signer | None = None
    """The site's log key; with it every seal grows the log and signs a checkpoint."""

    def has_log(self) -> bool:
        with self._read() as cur:
            return cur.execute("SELECT 1 FROM checkpoints LIMIT 1").fetchone() is not None

    def seal_into_log(self, max_size: int, at: datetime, signer: Signer) -> BatchRow | None:
        """Append the oldest waiting leaves (at most ``max_size``) to the log, in one transaction:
        their log indices and proofs, the batch with the new root and size, the checkpoint
        signed by ``signer`` (whose name is the origin). None when no leaf waits."""
        with self._tx() as cur:
            return seal_waiting_into_log(cur, max_size, at, signer)

    def log_hashes(self, size: int | None = None) -> list[bytes]:
        """The leaf hashes of the log in order (the first ``size`` of them)."""
        with self._read() as cur:
            hashes = _log_hashes(cur)
        if size is not None and size > len(hashes):
            raise LedgerStateError(f"the log holds {len(hashes)} leaves, not {size}")
        return hashes if size is None else hashes[:size]

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) over the log, read from the frontier at ``old_size``
        and the leaves after it (empty from 0 or to the same size)."""
        if not 0 < old_size < new_size:
            return []
        with self._read() as cur:
            logged = _log_size(cur)
            if new_size > logged:
                raise LedgerStateError(f"the log holds {logged} leaves, not {new_size}")
            frontier = _frontier_at(cur, old_size)
            after = _log_hashes(cur, old_size, new_size)
        return Subtrees(frontier, after).consistency_proof()

    def checkpoints(self, batch_ids: Iterable[int] | None = None) -> list[StoredCheckpoint]:
        """The signed checkpoints (of ``batch_ids``; all by default), smallest first."""
        wanted = None if batch_ids is None else set(batch_ids)
        with self._read() as cur:
            rows = cur.execute("SELECT batch_id, size, note FROM checkpoints ORDER BY size")
            found = [r for r in rows.fetchall() if wanted is None or r[0] in wanted]
            lines: dict[int, dict[str, str]] = {}
            for batch_id, witness, line in cur.execute(
                "SELECT batch_id, witness, line FROM cosignatures ORDER BY witness"
            ).fetchall():
                lines.setdefault(int(batch_id), {})[str(witness)] = str(line)
        return [
            StoredCheckpoint(int(b), int(s), str(n), lines.get(int(b), {})) for b, s, n in found
        ]

    def add_cosignature(self, batch_id: int, witness: str, line: str, size: int) -> None:
        """Keep a witness's cosignature of a checkpoint; the witness has cosigned ``size``."""
        with self._tx() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO cosignatures (batch_id, witness, line) VALUES (?, ?, ?)",
                (batch_id, witness, line),
            )
            _set_progress(cur, witness, size)

    def witness_progress(self) -> dict[str, int]:
        """The size each witness last cosigned (or said it had), as far as the site knows."""
        with self._read() as cur:
            rows = cur.execute("SELECT witness, size FROM witness_progress").fetchall()
        return {str(w): int(s) for w, s in rows}

    def set_witness_progress(self, witness: str, size: int) -> None:
        with self._tx() as cur:
            _set_progress(cur, witness, size)


def waiting_leaves(cur: sqlite3.Cursor, max_size: int) -> list[tuple[int, bytes]]:
    """The oldest leaves not yet sealed (sequence number, leaf hash), at most ``max_size``."""
    rows = cur.execute(
        "SELECT seq, leaf_hash FROM leaves WHERE batch_id IS NULL ORDER BY seq LIMIT ?",
        (max_size,),
    ).fetchall()
    return [(int(seq), bytes(leaf)) for seq, leaf in rows]


def _log_hashes(cur: sqlite3.Cursor, start: int = 0, end: int | None = None) -> list[bytes]:
    """The leaf hashes at log indices ``[start, end)`` (to the end by default), in order."""
    rows = cur.execute(
        "SELECT l.leaf_hash FROM log_leaves g JOIN leaves l ON l.seq = g.seq"
        " WHERE g.log_index >= ? AND g.log_index < ? ORDER BY g.log_index",
        (start, end if end is not None else 1 << 62),
    ).fetchall()
    return [bytes(row[0]) for row in rows]


def _log_size(cur: sqlite3.Cursor) -> int:
    row = cur.execute("SELECT coalesce(max(log_index) + 1, 0) FROM log_leaves").fetchone()
    return int(row[0])


def _frontier_at(cur: sqlite3.Cursor, size: int) -> Frontier:
    """The log's frontier at ``size``: kept for every checkpoint sealed since frontiers were
    stored; for an older size, computed from the first ``size`` leaves."""
    if size == 0:
        return EMPTY_FRONTIER
    row = cur.execute("SELECT hashes FROM log_frontiers WHERE size = ?", (size,)).fetchone()
    if row is not None:
        return Frontier.from_bytes(size, bytes(row[0]))
    return Frontier.of_leaves(_log_hashes(cur, 0, size))


def _set_progress(cur: sqlite3.Cursor, witness: str, size: int) -> None:
    cur.execute(
        "INSERT INTO witness_progress (witness, size) VALUES (?, ?)"
        " ON CONFLICT (witness) DO UPDATE SET size = excluded.size",
        (witness, size),
    )


LOG_KEY_ENV = "TRUSTFLOOR_LOG_KEY"
"""The site log key's 32-byte Ed25519 seed in hex, when it is not kept in the data directory."""
LOG_KEY_FILE = "log.key"
"""The site log key's seed under the data directory (0600, made on first use)."""


def site_log_signer(data_dir: Path, origin: str, environ: Mapping[str, str]) -> Signer:
    """The log key named ``origin``: ``TRUSTFLOOR_LOG_KEY``, else ``<data_dir>/log.key``."""
    seed_hex = environ.get(LOG_KEY_ENV, "")
    if not seed_hex:
        return load_or_create_signer(data_dir / LOG_KEY_FILE, origin, ED25519)
    try:
        seed = bytes.fromhex(seed_hex.removeprefix("0x"))
    except ValueError:
        seed = b""
    if len(seed) != SEED_LENGTH:
        raise NoteError(
            f"{LOG_KEY_ENV} is not a {SEED_LENGTH}-byte Ed25519 seed in hex",
            advice=f"set it to 64 hex digits, or unset it to keep the key in {LOG_KEY_FILE}",
        )
    return Signer.from_seed(origin, seed, ED25519)


def consistency_chain(
    store: SiteLogStore, sizes: Sequence[int], start: int = 0
) -> list[list[bytes]]:
    """For each of the increasing tree ``sizes``, the RFC 6962 consistency proof from the size
    before it (``start`` for the first; empty from 0), over the log's leaves."""
    proofs, previous = [], start
    for size in sizes:
        proofs.append(store.consistency_proof(previous, size))
        previous = size
    return proofs


def seal_waiting_into_log(
    cur: sqlite3.Cursor, max_size: int, at: datetime, signer: Signer
) -> BatchRow | None:
    """:meth:`SiteLogStore.seal_into_log` inside the caller's write transaction ``cur``."""
    rows = waiting_leaves(cur, max_size)
    if not rows:
        return None
    grown = grow_log(cur, [h for _, h in rows], at, signer)
    place_waiting(cur, grown.batch.id, rows, grown.proofs, grown.first)
    log_placed_leaves(cur, grown.batch.id)
    return grown.batch


def place_waiting(
    cur: sqlite3.Cursor,
    batch_id: int,
    rows: Sequence[tuple[int, bytes]],
    proofs: Sequence[Sequence[bytes]],
    first: int = 0,
) -> None:
    """Put waiting leaves ``rows`` (seq, leaf hash) at the first indices of batch ``batch_id``,
    from index ``first`` on (a log batch's indices are log indices)."""
    cur.executemany(
        "UPDATE leaves SET batch_id = ?, leaf_index = ?, proof = ? WHERE seq = ?",
        [(batch_id, first + n, b"".join(proofs[n]), seq) for n, (seq, _) in enumerate(rows)],
    )


@dataclass(frozen=True, slots=True)
class GrownLog:
    """The site log grown by some leaf hashes: the batch of its new tree, the log index of the
    first of them, and each one's inclusion proof in the new tree."""

    batch: BatchRow
    first: int
    proofs: list[list[bytes]]


def grow_log(
    cur: sqlite3.Cursor, hashes: Sequence[bytes], at: datetime, signer: Signer
) -> GrownLog:
    """Append leaf ``hashes`` to the log inside the caller's write transaction: the batch with
    the new root and size, the new frontier, the checkpoint signed by ``signer`` (whose name is
    the origin). The leaves themselves are placed by the caller, then :func:`log_placed_leaves`."""
    old = _log_size(cur)
    appended = append_leaves(_frontier_at(cur, old), hashes)
    size, root = appended.frontier.size, appended.root
    cur.execute(
        "INSERT INTO batches (root, size, sealed_us, state) VALUES (?, ?, ?, ?)",
        (root, size, to_micros(at), BatchState.SEALED),
    )
    batch_id = cur.lastrowid
    assert batch_id is not None
    cur.execute(
        "INSERT INTO log_frontiers (size, hashes) VALUES (?, ?)",
        (size, appended.frontier.to_bytes()),
    )
    text = Checkpoint(signer.name, size, root).text()
    note = Note(text, (signer.sign(text),)).render()
    cur.execute(
        "INSERT INTO checkpoints (batch_id, size, note, log_key) VALUES (?, ?, ?, ?)",
        (batch_id, size, note, vkey := signer.verifier().vkey()),
    )
    batch = BatchRow(batch_id, root, size, to_micros(at), BatchState.SEALED, None, note, vkey)
    return GrownLog(batch, old, appended.proofs)


def log_placed_leaves(cur: sqlite3.Cursor, batch_id: int) -> None:
    """Enter the leaves placed in log batch ``batch_id`` (their log indices) in the log."""
    cur.execute(
        "INSERT INTO log_leaves (log_index, seq) SELECT leaf_index, seq FROM leaves"
        " WHERE batch_id = ?",
        (batch_id,),
    )
