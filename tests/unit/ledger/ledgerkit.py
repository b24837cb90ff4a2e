"""Shared pieces of the ledger tests: a manual clock, design folders, jobs and certificates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger.batcher import BatchPolicy
from ledger.bundle import build_bundle
from ledger.designs import load_design
from ledger.documents import certificate_document
from ledger.evidence import evaluate
from ledger.issuing import Issuer, SignedRecord, sign_record
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from models.parts import (
    AnchorReceipt,
    DesignDossier,
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

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)

# anvil's well-known development key 0 (public: tests only) and its address.
DEV_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

WINDOW = {
    "laser_power_w": ParameterWindow(min=270.0, max=290.0, unit="W"),
    "chamber_o2_ppm": ParameterWindow(min=0.0, max=1000.0, unit="ppm", tolerance_s=2.0),
    "bed_temp_c": ParameterWindow(min=175.0, max=185.0, unit="Cel"),
    "layer_time_s": ParameterWindow(min=5.0, max=40.0, unit="s"),
}


def write_design(
    folder: Path,
    design_id: str = "pump-impeller",
    revision: str = "C",
    *,
    model: bytes = b"solid",
    layers: int | None = None,
) -> Path:
    """A design folder with a model, a recipe (planning ``layers`` when given) and the WINDOW
    process window (TOML manifest)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "impeller.stl").write_bytes(model)
    recipe: dict[str, object] = {"layer_um": 30, "laser": "Ti64-std"}
    if layers is not None:
        recipe["layers"] = layers
    (folder / "recipe.json").write_text(json.dumps(recipe))
    window = "\n".join(
        f'[process_window.{name}]\nmin = {w.min}\nmax = {w.max}\nunit = "{w.unit}"\n'
        f"tolerance_s = {w.tolerance_s}\n"
        for name, w in WINDOW.items()
    )
    (folder / "design.toml").write_text(
        f'id = "{design_id}"\nrevision = "{revision}"\nname = "Coolant pump impeller"\n\n'
        '[[files]]\npath = "impeller.stl"\nrole = "model"\n\n'
        '[[files]]\npath = "recipe.json"\nrole = "recipe"\n\n' + window
    )
    return folder


def good_samples(start: datetime = T0, seconds: int = 60) -> list[Sample]:
    """One sample per parameter per second, every one inside WINDOW."""
    values = {"laser_power_w": 280.0, "chamber_o2_ppm": 400.0, "bed_temp_c": 180.0}
    samples = [
        Sample(name, start + timedelta(seconds=s), value + (s % 3) * 0.5)
        for s in range(seconds)
        for name, value in values.items()
    ]
    samples += [Sample("layer_time_s", start + timedelta(seconds=s), 12.0) for s in range(seconds)]
    return samples


def design_ref(tmp: Path) -> tuple[DesignDossier, DesignRef]:
    dossier = load_design(write_design(tmp / "design"))
    return dossier, dossier.ref


def certificate(
    serial: str,
    ref: DesignRef,
    issuer: str,
    *,
    samples: list[Sample] | None = None,
    inspections: tuple[InspectionResult, ...] = (),
) -> PartCertificate:
    """A passing certificate of part ``serial`` built from real evidence."""
    evidence = evaluate(
        samples if samples is not None else good_samples(seconds=20),
        WINDOW,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=20),
        layers_done=412,
        layers_planned=412,
    )
    return PartCertificate(
        serial=serial,
        design=ref,
        printer="am-cell-2",
        order_id="PO-88123",
        job_id=f"J-{serial}",
        material_lot="Ti64-L2291",
        evidence=evidence,
        inspections=inspections
        or (
            InspectionResult(check="cmm", result=Verdict.PASS, inspector="anna", at=T0),
            InspectionResult(
                check="ct-scan", result=Verdict.PASS, inspector="anna", at=T0, value=0.02, unit="%"
            ),
        ),
        health=MachineHealth(model_version="rul-hgb-3", score=0.12),
        verdict=evidence.verdict,
        reasons=evidence.reasons,
        issuer=issuer,
        issued_at=T0 + timedelta(seconds=30),
    )


def signed_certificate(key: SiteKey, cert: PartCertificate) -> SignedRecord:
    return sign_record(key, RecordKind.CERTIFICATE, certificate_document(cert))


FORGER = SiteKey.from_hex("0x" + "5a" * 32)
"""A fresh key that signs certificates naming itself the issuer (forgeries, tests only)."""

SYNTHETIC_TX = "0x" + "ab" * 32
SYNTHETIC_CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def sealed_store(
    folder: Path, count: int = 5, key: SiteKey | None = None
) -> tuple[LedgerStore, SiteKey, list[str]]:
    """A store with ``count`` certificates issued by ``key`` (dev key 0 unless given), sealed
    into one batch whose receipt is recorded as if anchored (no chain: for offline checks)."""
    key = key or SiteKey.from_hex(DEV_KEY_0)
    store = LedgerStore(folder / "ledger.sqlite")
    _, ref = design_ref(folder)
    serials = [f"P-{i:04d}" for i in range(count)]
    issuer = Issuer(store, key, BatchPolicy(1000, timedelta(seconds=60)))
    issuer.issue_certificates([certificate(s, ref, key.address) for s in serials])
    seal_as_anchored(store, 1000, SYNTHETIC_TX, block_number=7)
    return store, key, serials


def seal_as_anchored(store: LedgerStore, max_size: int, tx_hash: str, block_number: int) -> None:
    """Seal the waiting leaves into one batch and record its receipt as if it were anchored."""
    batch = store.seal(max_size, T0)
    assert batch is not None
    store.record_anchor(
        batch.id,
        AnchorReceipt(
            chain_id=31337,
            contract=SYNTHETIC_CONTRACT,
            tx_hash=tx_hash,
            block_number=block_number,
            root=batch.root.hex(),
            size=batch.size,
        ),
    )


def exported(store: LedgerStore, serial: str) -> ProofBundle:
    row = store.leaf(serial, RecordKind.CERTIFICATE)
    assert row is not None
    return build_bundle(row, store.records_about(serial), T0 + timedelta(hours=1))
