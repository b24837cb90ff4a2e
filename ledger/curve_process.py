"""A child process doing secp256k1 work and ledger appends on another core than this one."""

# libsecp256k1 releases the GIL while it computes, but a signing thread must take the GIL back
# after every call, and while this process's main thread runs Python (encoding certificates,
# checking bundles) it waits up to the switch interval (5 ms) for it each time: the threads
# then sign one after the other instead of beside the encoding. SQLite's writer thread waits
# the same way after every row. A child process has a GIL of its own. It receives requests
# over a pipe (chunks of digests to sign, of digest and signature pairs to recover signers
# from, runs of signed records to append to a ledger store) and answers each, in order; the
# parent keeps a few in flight while it goes on. The site's secret reaches the child through
# the pipe of its spawn, never a file or the environment.

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from coincurve import PrivateKey, PublicKey
from eth_hash.auto import keccak

from ledger.errors import LedgerError, LedgerStateError, SigningError, StoreError

if TYPE_CHECKING:
    from ledger.store import LedgerStore
    from ledger.tables import BatchRow, NewLeaf

CHUNKS_IN_FLIGHT = 12
"""Chunks sent before the first answer is read. Enough that the child always has work queued
(a wait for an answer costs a wake-up of each process, long on a busy machine), and few
enough that their answers fit the connection's buffer (a Unix socket pair, 208 KiB on
Linux), so that the child never blocks on an answer while the parent is still sending."""
MAX_CHUNK = 128
"""Items per chunk at most: 13 answers of 128 signatures (65 bytes each) fit the buffer."""

Operation = Literal["sign", "recover"]
_FAILURES: dict[str, type[LedgerError]] = {
    "refused": LedgerStateError,
    "store": StoreError,
    "curve": SigningError,
}
"""What each kind of failure the child reports is raised as here."""


class CurveProcess:
    """A spawned child that signs digests with one key, recovers signers' addresses and
    appends signed records to ledger stores.

    Start it once and keep it (spawning re-imports the program: a fraction of a second);
    ``close`` it or use it as a context manager. Not shared between threads.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self.signs_for = PrivateKey(secret).public_key.format() if secret is not None else None
        """The compressed public key of the key the child signs with (None: it only recovers)."""
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, secret), name="trustfloor-curve", daemon=True
        )
        self._process.start()
        child.close()
        self._broken = False
        self._sent = 0
        self._read = 0
        self._answered: dict[int, object] = {}
        """Answers read ahead of the one awaited, by request number."""

    def map_chunks(
        self, operation: Operation, chunks: Iterable[list[bytes]]
    ) -> Iterator[list[bytes]]:
        """Each chunk's answer, in order: the signatures of digests ("sign"), or the 20-byte
        address each ``digest || signature`` recovers, empty when it recovers none
        ("recover"). Chunks are sent ahead while earlier answers are read; answers left
        unread (the caller stopped, or a chunk failed) are read and dropped."""
        waiting: deque[int] = deque()
        try:
            for chunk in chunks:
                if len(chunk) > MAX_CHUNK:
                    raise ValueError(f"a chunk holds at most {MAX_CHUNK} items, not {len(chunk)}")
                waiting.append(self._submit((operation, chunk)))
                if len(waiting) > CHUNKS_IN_FLIGHT:
                    yield _chunk(self._result(waiting.popleft()))
            while waiting:
                yield _chunk(self._result(waiting.popleft()))
        finally:
            self._drop(waiting)

    def append(
        self,
        store: LedgerStore,
        leaves: Sequence[NewLeaf],
        *,
        seal: tuple[int, datetime] | None = None,
    ) -> PendingAppend:
        """Append ``leaves`` to ``store``'s file in the child, in one transaction, sealing
        every full batch of ``seal`` = (size, sealed at) with them (LedgerStore.append_sealing).
        The child opens the file itself: give only a store that keeps no site log."""
        rows = [_row(leaf) for leaf in leaves]  # tuples pickle ten times faster than records
        return PendingAppend(self, self._submit(("append", (str(store.path), seal, rows))))

    def cpu_seconds(self) -> float:
        """The CPU time the child has used so far."""
        answer = self._result(self._submit(("cpu", [])))
        assert isinstance(answer, float)
        return answer

    def sign_later(self, digests: Sequence[bytes]) -> PendingSignatures:
        """Send ``digests`` to sign now (chunk by chunk); the signatures are read when asked
        for, so the caller goes on meanwhile. The caller checks the digests and the key."""
        chunks = [list(digests[i : i + MAX_CHUNK]) for i in range(0, len(digests), MAX_CHUNK)]
        return PendingSignatures(self, [self._submit(("sign", chunk)) for chunk in chunks])

    def _submit(self, request: tuple[str, object]) -> int:
        """Send a request, once at most CHUNKS_IN_FLIGHT answers are left unread (answers
        read here are kept for their callers)."""
        if self._broken:
            raise SigningError("the curve process stopped: start another")
        while self._sent - self._read > CHUNKS_IN_FLIGHT:
            self._read_answer()
        try:
            self._conn.send(request)
        except OSError:
            self._broken = True
            raise SigningError("the curve process stopped: start another") from None
        self._sent += 1
        return self._sent

    def _result(self, number: int) -> object:
        """The answer to request ``number``, reading (and keeping) the answers before it."""
        while number not in self._answered:
            self._read_answer()
        answer = self._answered.pop(number)
        if isinstance(answer, _Failure):
            raise _FAILURES[answer.kind](answer.message)
        return answer

    def _read_answer(self) -> None:
        try:
            answer = self._conn.recv()
        except (EOFError, OSError):
            self._broken = True
            raise SigningError("the curve process stopped: start another") from None
        self._read += 1
        self._answered[self._read] = answer

    def _drop(self, numbers: Iterable[int]) -> None:
        """Read and forget the answers to ``numbers`` not taken yet."""
        for number in list(numbers):
            if number <= self._read and number not in self._answered:
                continue  # taken already
            try:
                self._result(number)
            except LedgerError:
                continue

    def close(self) -> None:
        """Stop the child: asked to, or at once when it no longer answers."""
        if self._process.is_alive() and not self._broken:
            self._conn.send(None)
            self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._conn.close()
        self._broken = True

    def __enter__(self) -> CurveProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class PendingAppend:
    """A run of records sent to the curve process to append: :meth:`result` waits for it."""

    def __init__(self, curve: CurveProcess, number: int) -> None:
        self._curve = curve
        self._number = number

    def result(self) -> list[BatchRow]:
        """The batches sealed with the run, once it is durable; the store's error if it failed
        (LedgerStateError when a record was already issued: nothing of the run is kept)."""
        answer = self._curve._result(self._number)
        assert isinstance(answer, list)
        return answer


class PendingSignatures:
    """Digests sent to the curve process to sign: :meth:`result` waits for their signatures."""

    def __init__(self, curve: CurveProcess, numbers: list[int]) -> None:
        self._curve = curve
        self._numbers = numbers

    def result(self) -> list[bytes]:
        """The signatures, in the order of the digests."""
        return [s for number in self._numbers for s in _chunk(self._curve._result(number))]

    def drop(self) -> None:
        """Read and forget the signatures (the caller no longer needs them)."""
        self._curve._drop(self._numbers)


_Row = tuple[str, str, bytes, bytes, bytes, datetime, bytes | None, str | None]
"""A signed record to append, as sent to the child."""


def _row(leaf: NewLeaf) -> _Row:
    return (
        leaf.kind.value,
        leaf.serial,
        leaf.body,
        leaf.leaf_hash,
        leaf.signature,
        leaf.created_at,
        leaf.design_key,
        leaf.job_id,
    )


class _Failure:
    """What the child answers when a request failed."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message


def _chunk(answer: object) -> list[bytes]:
    assert isinstance(answer, list)
    return answer


def _serve(conn: Connection, secret: bytes | None) -> None:
    """The child's loop: answer each request until told to stop (None) or the pipe closes."""
    sign = PrivateKey(secret).sign_recoverable if secret is not None else None
    stores: dict[str, LedgerStore] = {}
    while True:
        try:
            request = conn.recv()
        except EOFError:
            break
        if request is None:
            break
        operation, items = request
        try:
            if operation == "sign" and sign is not None:
                conn.send([sign(digest, hasher=None) for digest in items])
            elif operation == "recover":
                conn.send([_recovered(item) for item in items])
            elif operation == "append":
                conn.send(_append(stores, *items))
            elif operation == "cpu":
                conn.send(time.process_time())
            else:
                conn.send(_Failure("curve", f"the curve process cannot {operation}"))
        except LedgerStateError as exc:
            conn.send(_Failure("refused", str(exc)))
        except StoreError as exc:
            conn.send(_Failure("store", str(exc)))
        except (ValueError, TypeError) as exc:
            conn.send(_Failure("curve", f"the curve process failed: {exc}"))
    for store in stores.values():
        store.close()


def _append(
    stores: dict[str, LedgerStore],
    path: str,
    seal: tuple[int, datetime] | None,
    rows: Sequence[_Row],
) -> list[BatchRow]:
    from ledger.store import LedgerStore  # the child alone opens stores
    from ledger.tables import NewLeaf
    from models import RecordKind

    leaves = [
        NewLeaf(RecordKind(kind), serial, body, leaf_hash, signature, at, key, job)
        for kind, serial, body, leaf_hash, signature, at, key, job in rows
    ]
    if path not in stores:  # one store open at a time: a site appends to one ledger
        for other in stores.values():
            other.close()
        stores.clear()
        stores[path] = LedgerStore(Path(path))
    store = stores[path]
    if seal is None:
        store.append(leaves)
        return []
    return store.append_sealing(leaves, *seal)


def _recovered(pair: bytes) -> bytes:
    """The address that signed ``digest || signature`` (Ethereum Yellow Paper, eq. 284), or
    empty bytes when the signature recovers no key."""
    try:
        key = PublicKey.from_signature_and_message(pair[32:], pair[:32], hasher=None)
    except (ValueError, TypeError):
        return b""
    return bytes(keccak(key.format(compressed=False)[1:])[12:])
