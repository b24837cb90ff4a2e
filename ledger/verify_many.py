"""Verifying many bundles offline: the reports of verify_offline, signatures recovered ahead."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from ledger.batch_proofs import prove_batches_ahead
from ledger.logchecks import NO_WITNESSES, WitnessPolicy
from ledger.signing import SIGNING_CHUNK, recover_ahead
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline
from models import AttestedRecord, ProofBundle, VerificationReport


def verify_offline_many(
    bundles: Sequence[ProofBundle],
    *,
    trust: IssuerTrust,
    witnesses: WitnessPolicy = NO_WITNESSES,
) -> list[VerificationReport]:
    """:func:`ledger.verify.verify_offline` of each bundle, in order, with the same reports.

    The signatures, the costliest part, are recovered on the signing threads (libsecp256k1
    runs without the GIL) chunk by chunk ahead of the checks, which run on this thread while
    the next chunks recover; a batch whose every leaf is among the bundles has its tree
    rebuilt once instead of one path hashed per proof (ledger/batch_proofs.py).
    """
    chunks = [bundles[i : i + SIGNING_CHUNK] for i in range(0, len(bundles), SIGNING_CHUNK)]
    recovering = deque(recover_ahead(_signed_pairs(c)) for c in chunks[:CHUNKS_AHEAD])
    prove_batches_ahead([record for bundle in bundles for record in _records(bundle)])
    reports: list[VerificationReport] = []
    for number, chunk in enumerate(chunks):
        for ahead in chunks[number + len(recovering) : number + CHUNKS_AHEAD]:
            recovering.append(recover_ahead(_signed_pairs(ahead)))
        for future in recovering.popleft():
            future.result()
        reports += [verify_offline(b, trust=trust, witnesses=witnesses) for b in chunk]
    return reports


CHUNKS_AHEAD = 8
"""Chunks of bundles whose signatures are being recovered while one is checked."""


def _signed_pairs(bundles: Sequence[ProofBundle]) -> list[tuple[bytes, bytes]]:
    """(leaf hash, signature) of every record of ``bundles`` that parses as hex; the checks
    report the others."""
    pairs = []
    for bundle in bundles:
        for record in _records(bundle):
            try:
                pairs.append((bytes.fromhex(record.leaf_hash), bytes.fromhex(record.signature)))
            except ValueError:
                continue
    return pairs


def _records(bundle: ProofBundle) -> tuple[AttestedRecord, ...]:
    return (bundle.certificate, *bundle.records)
