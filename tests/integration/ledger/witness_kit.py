"""Witnesses as `trustfloor witness serve` processes on free ports, and raw add-checkpoint POSTs."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ledger.transparency import Note, NoteSignature, Verifier
from models import ProofBundle


@contextmanager
def running_witness(
    data_dir: Path, name: str, logs: Sequence[str]
) -> Iterator[tuple[str, Verifier]]:
    """A witness process named ``name`` witnessing the logs of verifier keys ``logs``: its base
    URL and its verifier key. Stopped (SIGTERM, exit 0) on leaving. Started through the service
    entry point, which loads only the service commands, as the demo starts its witnesses."""
    command = [sys.executable, "-m", "opcua_server.cli.services", "witness", "serve"]
    command += ["--data-dir", str(data_dir), "--name", name, "--port", "0"]
    for log in logs:
        command += ["--log", log]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        vkey = process.stdout.readline().split()[1]
        url = process.stdout.readline().split()[-1]
        yield url, Verifier.from_vkey(vkey)
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def post(url: str, data: bytes) -> tuple[int, str]:
    """POST an add-checkpoint body: the status and the answer's text."""
    request = urllib.request.Request(f"{url}/add-checkpoint", data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def without_cosignature(bundle: ProofBundle, name: str, *, forge: bool = False) -> ProofBundle:
    """The bundle with witness ``name``'s cosignature line removed, or its signature forged: one
    bit of the Ed25519 signature's R flipped, so the forgery never equals the real signature."""
    assert bundle.certificate.checkpoint is not None
    note = Note.parse(bundle.certificate.checkpoint)
    kept = []
    for line in note.signatures:
        if line.name == name:
            if not forge:
                continue
            line = NoteSignature(line.name, line.key_id, flipped_bit(line.signature, -40))
        kept.append(line)
    checkpoint = Note(note.text, tuple(kept)).render()
    certificate = bundle.certificate.model_copy(update={"checkpoint": checkpoint})
    return bundle.model_copy(update={"certificate": certificate})


def flipped_bit(data: bytes, index: int) -> bytes:
    """``data`` with the lowest bit of the byte at ``index`` flipped."""
    altered = bytearray(data)
    altered[index] ^= 0x01
    return bytes(altered)
