"""Recall benchmark: how long a trace and a recall take over a ledger of N certified parts."""

# N parts are printed on four printers from eight material lots (jobs, evidence and signed
# certificates in a temporary ledger store, sealed as if anchored; no chain). Measured: a trace
# by one lot (the store's parts with their certificate's standing), and opening a recall of that
# lot: freezing and hashing the list, signing one suspension per certificate, appending them in
# one transaction and sealing them in one batch, so one anchor transaction covers them all. The
# baseline beside it recalls as many parts of another lot one at a time (a campaign, a record
# and a batch per part; each campaign traces the ledger again, which is most of its time).
#
#     .venv/bin/python -m bench.recall [--parts 2000] [--json]

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from ledger import BatchPolicy, Issuer, LedgerStore, SiteKey, design_key, evaluate, recall
from models import PrintJob
from tests.unit.ledger.ledgerkit import (
    DEV_KEY_0,
    T0,
    WINDOW,
    certificate,
    design_ref,
    good_samples,
    seal_as_anchored,
)

LOTS = 8
PRINTERS = 4


def fill(folder: Path, parts: int) -> tuple[LedgerStore, SiteKey]:
    key = SiteKey.from_hex(DEV_KEY_0)
    store = LedgerStore(folder / "ledger.sqlite")
    _, ref = design_ref(folder)
    evidence = evaluate(
        good_samples(seconds=5),
        WINDOW,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=5),
        layers_done=10,
        layers_planned=10,
    )
    certificates, jobs = [], []
    for i in range(parts):
        serial = f"P-{i:05d}"
        job = PrintJob(
            job_id=serial,
            serial=serial,
            design=ref,
            printer=f"am-{i % PRINTERS}",
            order_id="PO-1",
            material_lot=f"L-{i % LOTS}",
            layers_planned=10,
            started_at=T0 + timedelta(minutes=i),
        )
        store.start_job(job, design_key(ref.id, ref.revision))
        store.finish_job(serial, evidence)
        cert = certificate(serial, ref, key.address).model_copy(
            update={"job_id": serial, "printer": job.printer, "material_lot": job.material_lot}
        )
        certificates.append(cert)
        jobs.append(serial)
    Issuer(store, key, BatchPolicy(100_000, timedelta(seconds=60))).issue_certificates(
        certificates, job_ids=jobs
    )
    seal_as_anchored(store, 100_000, "0x" + "ab" * 32, 7)
    return store, key


def one_at_a_time(desk: recall.RecallDesk, parts: list[recall.TracedPart]) -> tuple[float, int]:
    """Each part recalled on its own: a campaign, a record and a batch per part."""
    started = time.perf_counter()
    batches = 0
    for part in parts:
        opened = desk.open(
            recall.TraceCriteria(serial=part.serial),
            reason="baseline",
            disposition=recall.Disposition.RETURN,
            action=recall.CampaignAction.SUSPEND,
            opened_by="bench",
            at=T0,
        )
        batches += opened.batch is not None
    return time.perf_counter() - started, batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, key = fill(Path(tmp), args.parts)
        campaigns = recall.CampaignStore(Path(tmp) / "recalls.sqlite")
        criteria = recall.TraceCriteria(lot="L-3")
        started = time.perf_counter()
        traced = recall.traced_parts(store, criteria)
        trace_s = time.perf_counter() - started
        desk = recall.RecallDesk(store, campaigns, key)
        started = time.perf_counter()
        opened = desk.open(
            criteria,
            reason="bench",
            disposition=recall.Disposition.RETURN,
            action=recall.CampaignAction.SUSPEND,
            opened_by="bench",
            at=T0,
        )
        recall_s = time.perf_counter() - started
        other_lot = recall.traced_parts(store, recall.TraceCriteria(lot="L-5"))
        baseline_s, baseline_batches = one_at_a_time(desk, other_lot)
        campaigns.close()
        store.close()
    figures = {
        "parts": args.parts,
        "traced": len(traced),
        "recalled": len(opened.records),
        "anchor_transactions": 1 if opened.batch is not None else 0,
        "trace_ms": round(trace_s * 1000, 1),
        "recall_ms": round(recall_s * 1000, 1),
        "one_part_at_a_time_ms": round(baseline_s * 1000, 1),
        "one_part_at_a_time_batches": baseline_batches,
        "speedup": round(baseline_s / recall_s, 1),
    }
    print(json.dumps(figures) if args.json else "\n".join(f"{k}: {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
