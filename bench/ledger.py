"""Ledger benchmark: issuing and verifying certificates, Merkle proofs, anchoring gas on anvil.

Prints rates beside baselines measured in the same run (never a pass/fail timing test). Run
from the repository root:

    .venv/bin/python -m bench.ledger [--certificates 3000] [--rounds 5] [--no-chain] [--json]

- issued/s: RFC 8785 bytes of each certificate + leaf hash + secp256k1 signature (on the
  signing threads) + SQLite append (WAL, synchronous=FULL, one transaction per ``--chunk``
  certificates, which also seals each batch of 1000 it fills into the site log, with every
  inclusion proof and the checkpoint signed by the site's log key, as a site's store does; the
  next run encoded and signed while the last commits); beside raw coincurve signatures/s
  (one thread), the generic RFC 8785 encoder alone, the same certificates issued with the
  batches sealed after the runs (``issue_sealing_after_per_s``, the path before sealing went
  into the runs), and the CPU time of every thread per certificate.
- verified/s: offline verification of exported format 2 bundles (content, signature,
  inclusion, receipt, the checkpoint under the pinned log key, issuer), all at once
  (ledger.verify_many: signatures recovered on the signing threads, each whole batch's tree
  rebuilt once); the same reports as one by one.
- gas per certificate: one anchor per batch of 1, 100 and 1000 real certificates on a local
  anvil, root only and with the batch's pieces counted against a licence, on the ledger the
  product deploys (version 2: ``gas_per_cert``, ``gas_per_cert_counting_pieces``) and on the
  version 1 ledger beside it (the same keys ending in ``_v1``). Gas does not depend on load.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from coincurve import PrivateKey

from ledger import (
    BatchPolicy,
    Issuer,
    IssuerTrust,
    LedgerStore,
    LocalAnvil,
    SiteKey,
    SiteLog,
    build_bundle,
    canonical_json,
    certificate_document,
    design_key,
    evaluate,
    inclusion_proof,
    inclusion_proofs,
    root_hash,
    site_log_signer,
    verify_inclusion,
    verify_offline,
    verify_offline_many,
)
from models import (
    AnchorReceipt,
    DesignRef,
    InspectionResult,
    MachineHealth,
    ParameterWindow,
    PartCertificate,
    ProofBundle,
    RecordKind,
    Sample,
    Verdict,
)

if TYPE_CHECKING:
    from ledger import ChainClient  # web3 is slow to import; only when asked for

# anvil's first well-known development key: public, for this local benchmark chain only.
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
LOG_ORIGIN = "bench.trustfloor.example/log"
CHAIN_ID = 31337
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
WINDOW = {
    "laser_power_w": ParameterWindow(min=270.0, max=290.0, unit="W"),
    "chamber_o2_ppm": ParameterWindow(min=0.0, max=1000.0, unit="ppm"),
    "bed_temp_c": ParameterWindow(min=175.0, max=185.0, unit="Cel"),
    "layer_time_s": ParameterWindow(min=5.0, max=40.0, unit="s"),
}
DESIGN = DesignRef(id="pump-impeller", revision="C", dossier_sha256="ab" * 32)


def certificates(count: int, issuer: str) -> list[PartCertificate]:
    """Realistic certificates: four parameters from a 10-minute job, two inspections."""
    samples = [
        Sample(name, T0 + timedelta(seconds=s), (w.min + w.max) / 2 + (s % 7) * 0.01)
        for s in range(600)
        for name, w in WINDOW.items()
    ]
    evidence = evaluate(
        samples,
        WINDOW,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=600),
        layers_done=412,
        layers_planned=412,
    )
    base = PartCertificate(
        serial="P-0",
        design=DESIGN,
        printer="am-cell-2",
        order_id="PO-88123",
        job_id="J-0",
        material_lot="Ti64-L2291",
        evidence=evidence,
        inspections=(
            InspectionResult(check="cmm", result=Verdict.PASS, inspector="anna", at=T0),
            InspectionResult(
                check="ct-scan", result=Verdict.PASS, inspector="anna", at=T0, value=0.02
            ),
        ),
        health=MachineHealth(model_version="rul-hgb-3", score=0.12),
        verdict=Verdict.PASS,
        issuer=issuer,
        issued_at=T0 + timedelta(seconds=601),
    )
    return [
        base.model_copy(update={"serial": f"P-2026-{i:06d}", "job_id": f"J-{i:06d}"})
        for i in range(count)
    ]


def rate(count: int, action: Callable[[], object], repeats: int = 3) -> float:
    """Operations per second of ``action`` doing ``count`` operations (median of repeats)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def rate_and_cpu(count: int, action: Callable[[], object]) -> tuple[float, float]:
    """Operations per second of one run of ``action`` doing ``count`` operations, and the
    process's CPU time per operation in µs (every thread: signing threads and SQLite too)."""
    start, cpu = time.perf_counter(), time.process_time()
    action()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return count / wall, cpu / count * 1e6


def site_store(folder: Path) -> tuple[LedgerStore, SiteLog]:
    """A ledger store in ``folder`` kept as the site keeps it (LedgerService with its log key):
    every batch grows the site log and signs its checkpoint; and that site log."""
    log = SiteLog(site_log_signer(folder, LOG_ORIGIN, {}))
    store = LedgerStore(folder / "ledger.sqlite")
    store.log_signer = log.signer
    return store, log


def verify_all(bundles: Sequence[ProofBundle], trust: IssuerTrust, log: SiteLog) -> None:
    """Verify every bundle offline against the pinned issuer and the site's pinned log key (no
    witness required), as the site verifies its own bundles: the timed path of verification."""
    reports = verify_offline_many(bundles, trust=trust, witnesses=log.witness_policy())
    if not all(report.valid for report in reports):
        raise AssertionError("a bundle of the benchmark failed verification")


def issue_all(
    issuer: Issuer, certs: Sequence[PartCertificate], chunk: int, *, sealing: bool = True
) -> None:
    """Issue ``certs`` in transactions of ``chunk``, each sealing the batches of 1000 it fills
    (``sealing``; else none), and seal the batches left: the timed path."""
    issuer.issue_in_runs(certs, chunk, seal_at=T0 if sealing else None)
    while issuer.store.seal(1000, T0) is not None:
        pass


def bench_certificates(count: int, chunk: int, rounds: int) -> dict[str, float]:
    """Issued/s and verified/s offline beside raw signatures/s and RFC 8785 alone.

    Each round measures all four one after the other, and each figure is the median over the
    rounds: on a shared machine, load that comes and goes then weighs on all of them alike.
    """
    key = SiteKey.from_hex(DEV_KEY)
    trust = IssuerTrust.pinning([key.address])
    certs = certificates(count, key.address)
    raw_key = PrivateKey(bytes.fromhex(DEV_KEY[2:]))
    digests = [hashlib.sha256(c.serial.encode()).digest() for c in certs]
    documents = [certificate_document(c) for c in certs]
    names = ("sign", "jcs", "issue", "verify", "issue_sealing_after")
    figures: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {"issue": [], "verify": []}
    for _ in range(rounds):
        figures["sign"].append(
            rate(count, lambda: [raw_key.sign_recoverable(d, hasher=None) for d in digests], 1)
        )
        figures["jcs"].append(rate(count, lambda: [canonical_json(d) for d in documents], 1))
        issued, verified, bundles, log = issue_and_verify(key, certs, chunk)
        for name, (per_s, cpu_us) in (("issue", issued), ("verify", verified)):
            figures[name].append(per_s)
            cpu[name].append(cpu_us)
        with tempfile.TemporaryDirectory(dir=".") as folder:
            store, _ = site_store(Path(folder))
            issuer = Issuer(store, key, BatchPolicy(1000, timedelta(seconds=60)))
            apart = partial(issue_all, issuer, certs, chunk, sealing=False)
            figures["issue_sealing_after"].append(rate_and_cpu(count, apart)[0])
            store.close()
    policy = log.witness_policy()
    assert all(verify_offline(b, trust=trust, witnesses=policy).valid for b in bundles[:10])
    assert all(b.format == "trustfloor.bundle/2" for b in bundles)
    sign, jcs, issue, verify, issue_sealing_after = (statistics.median(figures[k]) for k in names)
    issue_cpu, verify_cpu = (statistics.median(cpu[k]) for k in cpu)
    size = len(canonical_json(documents[0]))
    print(
        f"certificates: {count} ({size} bytes of RFC 8785 each, {chunk} per transaction), "
        f"median of {rounds} rounds"
    )
    print(f"  coincurve sign (baseline)          {sign:8.0f} signatures/s")
    print(f"  RFC 8785 encoding alone            {jcs:8.0f} certificates/s")
    print(
        f"  issued (encode+sign+append+seal)   {issue:8.0f} certificates/s"
        f"  {issue / sign:5.2f} x signing, {issue / jcs:4.2f} x RFC 8785 alone"
    )
    print(
        f"  verified offline                   {verify:8.0f} bundles/s"
        f"       {verify / sign:5.2f} x signing, {verify / jcs:4.2f} x RFC 8785 alone"
    )
    print(
        f"  issued, batches sealed after runs  {issue_sealing_after:8.0f} certificates/s"
        f"  (sealing in the runs: {issue / issue_sealing_after:4.2f} x)"
    )
    print(
        f"  CPU time of every thread per certificate: issued {issue_cpu:.0f} µs, verified "
        f"{verify_cpu:.0f} µs (a coincurve signature took {1e6 / sign:.0f} µs of wall time)"
    )
    return {
        "issue_per_s": issue,
        "verify_per_s": verify,
        "coincurve_sign_per_s": sign,
        "issue_cpu_us_per_cert": issue_cpu,
        "verify_cpu_us_per_cert": verify_cpu,
        "issue_sealing_after_per_s": issue_sealing_after,
    }


def issue_and_verify(
    key: SiteKey, certs: Sequence[PartCertificate], chunk: int
) -> tuple[tuple[float, float], tuple[float, float], list[ProofBundle], SiteLog]:
    """Issue ``certs`` into a fresh site store and verify their bundles: the figures of each
    (see rate_and_cpu), the bundles and the site log that sealed them."""
    trust = IssuerTrust.pinning([key.address])
    with tempfile.TemporaryDirectory(dir=".") as folder:
        store, log = site_store(Path(folder))
        issuer = Issuer(store, key, BatchPolicy(1000, timedelta(seconds=60)))
        issued = rate_and_cpu(len(certs), partial(issue_all, issuer, certs, chunk))
        bundles = exported_bundles(store, certs)
        store.close()
    verified = rate_and_cpu(len(certs), partial(verify_all, bundles, trust, log))
    return issued, verified, bundles, log


def exported_bundles(store: LedgerStore, certs: Sequence[PartCertificate]) -> list[ProofBundle]:
    """Every certificate's bundle, with a receipt as if anchored (offline checks only)."""
    for batch in store.batches():
        store.record_anchor(
            batch.id,
            AnchorReceipt(
                chain_id=CHAIN_ID,
                contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
                tx_hash="0x" + batch.root.hex(),
                block_number=batch.id,
                root=batch.root.hex(),
                size=batch.size,
            ),
        )
    bundles = []
    for cert in certs:
        row = store.leaf(cert.serial, RecordKind.CERTIFICATE)
        assert row is not None
        bundles.append(build_bundle(row, [], T0))
    return bundles


def bench_merkle(batch: int) -> None:
    """Tree hashing and proofs for one batch of leaf hashes."""
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(batch)]
    root = rate(1, lambda: root_hash(leaves))
    one_by_one = rate(batch, lambda: [inclusion_proof(leaves, i) for i in range(batch)], 1)
    all_at_once = rate(batch, lambda: inclusion_proofs(leaves))
    proofs, tree_root = inclusion_proofs(leaves), root_hash(leaves)

    def verify_all() -> None:
        for i in range(batch):
            verify_inclusion(i, batch, leaves[i], proofs[i], tree_root)

    verify = rate(batch, verify_all)
    print(f"merkle: batch of {batch}")
    print(f"  batch root (MTH)              {1e3 / root:10.2f} ms")
    print(f"  proofs one by one             {one_by_one:10.0f} proofs/s")
    print(
        f"  proofs all at once            {all_at_once:10.0f} proofs/s"
        f"   {all_at_once / one_by_one:5.1f} x one by one"
    )
    print(f"  verify inclusion              {verify:10.0f} proofs/s")


async def bench_gas(sizes: Sequence[int]) -> dict[str, dict[str, float]]:
    """Gas of anchoring real batches of each size, root only and counting one design, on the
    ledger the product deploys (version 2) and, side by side, on version 1."""
    from ledger import ChainClient, v1_artifact

    roots = _batch_roots(sizes)
    figures: dict[str, dict[str, float]] = {}
    async with LocalAnvil(chain_id=CHAIN_ID) as node:
        for suffix, artifact in (("", None), ("_v1", v1_artifact())):
            async with await ChainClient.connect(
                node.url, CHAIN_ID, DEV_KEY, artifact=artifact
            ) as client:
                root_only, counted, deployed = await _anchoring_gas(client, roots)
            version = "version 1, baseline" if suffix else "version 2, the product's"
            _print_gas(
                f"anchoring on a local anvil, ledger {version} (deploy {deployed} gas)",
                root_only,
                counted,
            )
            figures[f"gas_per_cert{suffix}"] = root_only
            figures[f"gas_per_cert_counting_pieces{suffix}"] = counted
    return figures


def _batch_roots(sizes: Sequence[int]) -> dict[int, bytes]:
    """The root of one batch of each size, of real certificates."""
    key = SiteKey.from_hex(DEV_KEY)
    certs = certificates(max(sizes), key.address)
    roots = {}
    with tempfile.TemporaryDirectory(dir=".") as folder:
        store = LedgerStore(Path(folder) / "ledger.sqlite")
        issuer = Issuer(store, key, BatchPolicy(max(sizes), timedelta(seconds=60)))
        for size in sizes:
            issuer.issue_certificates(
                [c.model_copy(update={"serial": f"{c.serial}-{size}"}) for c in certs[:size]]
            )
            batch = store.seal(size, T0)
            assert batch is not None
            roots[size] = batch.root
        store.close()
    return roots


async def _anchoring_gas(
    client: ChainClient, roots: dict[int, bytes]
) -> tuple[dict[str, float], dict[str, float], int]:
    """Gas per certificate of anchoring each root alone and counting one design, on a ledger
    ``client`` deploys (its licence slot warmed by a first anchor), and the deployment's gas."""
    dk = design_key(DESIGN.id, DESIGN.revision)
    deployed = await client.deploy()
    await client.add_issuer(client.address)
    await client.add_oem(client.address)
    await client.register_design(DESIGN.id, DESIGN.revision, bytes.fromhex(DESIGN.dossier_sha256))
    await client.set_licence(dk, client.address, 10**9)
    await client.anchor(hashlib.sha256(b"warm the licence slot").digest(), 1, {dk: 1})
    root_only: dict[str, float] = {}
    counted: dict[str, float] = {}
    for size, root in roots.items():
        plain = await client.anchor(hashlib.sha256(root + b"/plain").digest(), size)
        pieces = await client.anchor(root, size, {dk: size})
        root_only[str(size)] = plain.gas_used / size
        counted[str(size)] = pieces.gas_used / size
    return root_only, counted, deployed.gas_used


def _print_gas(title: str, root_only: dict[str, float], counted: dict[str, float]) -> None:
    print(title)
    print("  batch size   gas/anchor   gas/certificate   counting one design: gas/anchor  gas/cert")
    for key, per_cert in root_only.items():
        size = int(key)
        print(
            f"  {size:10d} {per_cert * size:12.0f} {per_cert:17.1f}"
            f" {counted[key] * size:33.0f} {counted[key]:9.1f}"
        )


SWEEP_BATCHES = (1, 100, 10_000)
"""Batch sizes whose bundles ``--sweep`` verifies (the inclusion proof grows with log2 of it)."""


def bench_verify_sweep(sizes: Sequence[int], bundles_per_size: int) -> dict[str, float]:
    """Bundles verified offline per second when their batch held 1, 100 or 10,000 certificates."""
    key = SiteKey.from_hex(DEV_KEY)
    trust = IssuerTrust.pinning([key.address])
    rates: dict[str, float] = {}
    for size in sizes:
        count = max(size, min(bundles_per_size, size * bundles_per_size))
        certs = certificates(count, key.address)
        with tempfile.TemporaryDirectory(dir=".") as folder:
            store, log = site_store(Path(folder))
            issuer = Issuer(store, key, BatchPolicy(size, timedelta(seconds=60)))
            for start in range(0, count, 1000):
                issuer.issue_certificates(certs[start : start + 1000])
            while store.seal(size, T0) is not None:
                pass
            bundles = exported_bundles(store, certs[:bundles_per_size])
            store.close()
        rates[str(size)] = rate(len(bundles), partial(verify_all, bundles, trust, log), 1)
    print(
        "verified offline by batch size: " + ", ".join(f"{k}: {v:.0f}/s" for k, v in rates.items())
    )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--certificates", type=int, default=3000)
    parser.add_argument("--chunk", type=int, default=500, help="certificates per transaction")
    parser.add_argument("--rounds", type=int, default=5, help="measurements to take the median of")
    parser.add_argument("--merkle-batch", type=int, default=1000)
    parser.add_argument("--no-chain", action="store_true", help="skip the anvil part")
    parser.add_argument("--sweep", action="store_true", help="verify bundles of batches 1-10,000")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures: dict[str, object] = {
        "measured": (
            f"{args.certificates} certificates issued (encode, sign, append, seal 1000 into the "
            "site log with a signed checkpoint) and verified offline (format 2 bundles, the log "
            "key pinned), medians of rounds; anchoring gas per certificate on anvil"
        ),
        "cores": os.cpu_count(),
    }
    figures.update(bench_certificates(args.certificates, args.chunk, args.rounds))
    bench_merkle(args.merkle_batch)
    if not args.no_chain:
        figures.update(asyncio.run(bench_gas((1, 100, 1000))))
    if args.sweep:
        figures["sizes"] = {"verify_per_s_by_batch": bench_verify_sweep(SWEEP_BATCHES, 1000)}
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
