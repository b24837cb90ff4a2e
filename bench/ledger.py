"""Ledger benchmark: canonical leaves, Merkle roots and proofs, and anchoring on a local anvil.

Prints rates and ratios side by side (never a pass/fail timing test). Run from the repository
root:

    .venv/bin/python -m bench.ledger [--batch 1000] [--anchors 30] [--no-chain]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import time
from collections.abc import Callable

from ledger.anvil import LocalAnvil
from ledger.canonical import JsonObject, certificate_leaf, certificate_leaf_hash
from ledger.merkle import (
    inclusion_proof,
    inclusion_proofs,
    root_hash,
    verify_inclusion,
)

# anvil's first well-known development key: public, for this local benchmark chain only.
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
CHAIN_ID = 31337


def certificate(serial: int) -> JsonObject:
    """A certificate of about 40 fields, shaped like the ones the product issues."""
    parameters: JsonObject = {
        name: {"min": 1.5 * i, "max": 9.25 * i, "mean": 5.125 * i, "excursions": i % 2}
        for i, name in enumerate(
            ["laser_power_w", "chamber_o2_ppm", "bed_temp_c", "layer_time_s", "scan_speed"], 1
        )
    }
    return {
        "schema": "trustfloor.certificate/1",
        "part": {"serial": f"P-2026-{serial:06d}", "design": {"id": "impeller", "revision": "C"}},
        "dossier_sha256": hashlib.sha256(b"dossier").hexdigest(),
        "printer": "am-cell-2",
        "order": "PO-88123",
        "material_lot": "Ti64-L2291",
        "evidence": {"samples": 18250, "parameters": parameters, "raw_sha256": "00" * 32},
        "inspection": [{"check": "cmm", "result": "pass"}, {"check": "ct", "result": "pass"}],
        "verdict": "accepted",
        "issued_at": "2026-11-03T09:41:07Z",
        "issuer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    }


def median_seconds(action: Callable[[], object], repeats: int = 5) -> float:
    """The median wall time of ``action`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_pure(batch: int) -> None:
    """Leaf encoding, tree hashing and proofs for one batch."""
    documents = [certificate(i) for i in range(batch)]
    leaves = [certificate_leaf_hash(d) for d in documents]
    encode = median_seconds(lambda: [certificate_leaf(d) for d in documents])
    hashing = median_seconds(lambda: [certificate_leaf_hash(d) for d in documents])
    root = median_seconds(lambda: root_hash(leaves))
    one_by_one = median_seconds(lambda: [inclusion_proof(leaves, i) for i in range(batch)], 1)
    all_at_once = median_seconds(lambda: inclusion_proofs(leaves))
    proofs, tree_root = inclusion_proofs(leaves), root_hash(leaves)

    def verify_all() -> None:
        for i in range(batch):
            verify_inclusion(i, batch, leaves[i], proofs[i], tree_root)

    verify = median_seconds(verify_all)
    print(f"batch of {batch} certificates ({len(certificate_leaf(documents[0]))} bytes a leaf)")
    print(f"  canonical leaf encoding   {batch / encode:10.0f} certificates/s")
    print(f"  leaf encoding + hash      {batch / hashing:10.0f} certificates/s")
    print(f"  batch root (MTH)          {root * 1e3:10.2f} ms")
    print(f"  all proofs, plan+combine  {one_by_one * 1e3:10.1f} ms")
    print(f"  all proofs, at once       {all_at_once * 1e3:10.1f} ms")
    print(f"    ratio                   {one_by_one / all_at_once:10.1f} x")
    print(f"  verify inclusion          {batch / verify:10.0f} proofs/s")


async def bench_chain(anchors: int, batch: int) -> None:
    """Deploy and anchor on a fresh local anvil; gas and sequential throughput."""
    from ledger.chain import ChainClient  # web3 is slow to import; only when asked for

    async with (
        LocalAnvil(chain_id=CHAIN_ID) as node,
        await ChainClient.connect(node.url, CHAIN_ID, DEV_KEY) as client,
    ):
        deployed = await client.deploy()
        await client.add_issuer(client.address)
        roots = [hashlib.sha256(f"batch {i}".encode()).digest() for i in range(anchors)]
        start = time.perf_counter()
        gas = [(await client.anchor(root, batch)).gas_used for root in roots]
        elapsed = time.perf_counter() - start
    print(f"local anvil, {anchors} sequential anchors")
    print(f"  deploy                    {deployed.gas_used:10d} gas")
    print(f"  anchor                    {statistics.median(gas):10.0f} gas")
    print(f"    per certificate         {statistics.median(gas) / batch:10.1f} gas")
    print(f"  anchoring rate            {anchors / elapsed:10.1f} anchors/s (1 confirmation)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--anchors", type=int, default=30)
    parser.add_argument("--no-chain", action="store_true", help="skip the anvil part")
    args = parser.parse_args()
    bench_pure(args.batch)
    if not args.no_chain:
        asyncio.run(bench_chain(args.anchors, args.batch))


if __name__ == "__main__":
    main()
