"""A child process doing secp256k1 work (signing, recovering signers) on another core."""

# libsecp256k1 releases the GIL while it computes, but a signing thread must take the GIL back
# after every call, and while this process's main thread runs Python (encoding certificates,
# checking bundles) it waits up to the switch interval (5 ms) for it each time: the threads
# then sign one after the other instead of beside the encoding. A child process has a GIL of
# its own. It receives chunks of digests (or of digest and signature pairs) over a pipe and
# answers each chunk, in order; the parent keeps a few chunks in flight while it goes on. The
# site's secret reaches the child through the pipe of its spawn, never a file or the
# environment.

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Literal

from coincurve import PrivateKey, PublicKey
from eth_hash.auto import keccak

from ledger.errors import SigningError

CHUNKS_IN_FLIGHT = 4
"""Chunks sent before the first answer is read: their answers must fit the pipe's buffer
(64 KiB on Linux) so that the child never blocks while the parent is still sending."""
MAX_CHUNK = 128
"""Items per chunk at most: 4 answers of 128 signatures (65 bytes each) fit the buffer."""

Operation = Literal["sign", "recover"]


class CurveProcess:
    """A spawned child that signs digests with one key and recovers signers' addresses.

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

    def map_chunks(
        self, operation: Operation, chunks: Iterable[list[bytes]]
    ) -> Iterator[list[bytes]]:
        """Each chunk's answer, in order: the signatures of digests ("sign"), or the 20-byte
        address each ``digest || signature`` recovers, empty when it recovers none
        ("recover"). Chunks are sent ahead while earlier answers are read; answers left
        unread (the caller stopped, or a chunk failed) are read and dropped."""
        if self._broken:
            raise SigningError("the curve process stopped: start another")
        in_flight = 0
        try:
            for chunk in chunks:
                if len(chunk) > MAX_CHUNK:
                    raise ValueError(f"a chunk holds at most {MAX_CHUNK} items, not {len(chunk)}")
                self._send((operation, chunk))
                in_flight += 1
                if in_flight > CHUNKS_IN_FLIGHT:
                    in_flight -= 1
                    yield self._answer()
            while in_flight:
                in_flight -= 1
                yield self._answer()
        finally:
            self._drop_answers(in_flight)

    def cpu_seconds(self) -> float:
        """The CPU time the child has used so far."""
        self._send(("cpu", []))
        return float(self._conn.recv())

    def _send(self, request: tuple[str, list[bytes]]) -> None:
        try:
            self._conn.send(request)
        except OSError:
            self._broken = True
            raise SigningError("the curve process stopped: start another") from None

    def _answer(self) -> list[bytes]:
        try:
            answer = self._conn.recv()
        except (EOFError, OSError):
            self._broken = True
            raise SigningError("the curve process stopped: start another") from None
        if isinstance(answer, str):
            raise SigningError(f"the curve process failed: {answer}")
        return list(answer)

    def _drop_answers(self, count: int) -> None:
        try:
            for _ in range(count):
                self._conn.recv()
        except (EOFError, OSError):
            self._broken = True

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


def _serve(conn: Connection, secret: bytes | None) -> None:
    """The child's loop: answer each request until told to stop (None) or the pipe closes."""
    sign = PrivateKey(secret).sign_recoverable if secret is not None else None
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        operation, items = request
        try:
            if operation == "sign" and sign is not None:
                conn.send([sign(digest, hasher=None) for digest in items])
            elif operation == "recover":
                conn.send([_recovered(item) for item in items])
            elif operation == "cpu":
                conn.send(time.process_time())
            else:
                conn.send(f"cannot {operation} here")
        except (ValueError, TypeError) as exc:
            conn.send(str(exc))


def _recovered(pair: bytes) -> bytes:
    """The address that signed ``digest || signature`` (Ethereum Yellow Paper, eq. 284), or
    empty bytes when the signature recovers no key."""
    try:
        key = PublicKey.from_signature_and_message(pair[32:], pair[:32], hasher=None)
    except (ValueError, TypeError):
        return b""
    return bytes(keccak(key.format(compressed=False)[1:])[12:])
