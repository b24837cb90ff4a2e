"""The site's ledger as one async service: designs, jobs, evidence, certificates, anchoring."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from ledger.agent import dossier_refusal, quota_refusal
from ledger.anchoring import Anchoring, AnchoringReport, require_chain
from ledger.batcher import BatchPolicy
from ledger.bundle import build_bundle
from ledger.canonical import design_key
from ledger.designs import design_folder, load_design, register_dossier_once
from ledger.documents import inspection_document, revocation_document
from ledger.errors import (
    ChainError,
    DesignError,
    EvidenceError,
    JobRefusedError,
    LedgerStateError,
    SealedDossierError,
    SigningError,
    UnknownRecordError,
)
from ledger.evidence import evaluate
from ledger.issuing import Issuer, SignedRecord, build_certificate
from ledger.links import PublicLinks
from ledger.recipes import planned_layers
from ledger.sealing import JOBS_DIR, dossier_for_job
from ledger.signing import SiteKey, same_address
from ledger.store import LedgerStore
from ledger.stored import checked_part
from ledger.tables import JobRecord, JobState, PartRow
from ledger.trust import NO_ISSUER_PINNED, IssuerTrust
from ledger.verify import verify_offline, verify_online
from ledger.witnessing import SiteLog, Witnessing
from models import (
    Clock,
    DesignDossier,
    EvidenceGap,
    EvidenceSummary,
    InspectionResult,
    MachineHealth,
    MaterialLotSource,
    PrinterHealth,
    PrintJob,
    ProofBundle,
    RecordKind,
    Sample,
    Verdict,
    VerificationReport,
)

if TYPE_CHECKING:
    from ledger.chain import ChainClient  # web3 loads only where a chain is used

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DesignRegistration:
    """The outcome of registering a design revision on chain."""

    dossier: DesignDossier
    design_key: bytes
    tx_hash: str | None = field(default=None)
    already_registered: bool = False
    licence: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class InspectionOutcome:
    """Where an inspection went: into the pending certificate, or a signed later record."""

    serial: str
    record: SignedRecord | None

    @property
    def pending(self) -> bool:
        """True when the inspection waits for the certificate it will be part of."""
        return self.record is None


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    """Where the ledger's batches and certificates stand: a status line's numbers."""

    batches_anchored: int
    batches_pending: int
    """Sealed batches whose anchor transaction is not confirmed yet."""
    certificates_unanchored: int
    """Certificates not on chain yet: waiting for a batch, or in a batch not yet anchored."""


@dataclass(frozen=True, slots=True)
class DesignStanding:
    """A design this site keeps, with its licence: the quota and the pieces made against it."""

    dossier: DesignDossier
    quota: int
    counted: int
    """Pieces the chain has counted (anchored)."""
    uncounted: int
    """Pieces printed or printing here that no anchor has counted yet."""

    @property
    def produced(self) -> int:
        return self.counted + self.uncounted


MAX_LOT = 64
"""Characters of a material lot a job keeps."""

INTERRUPTED = "interrupted: the site stopped while the part was printing; no layer is confirmed"


def interrupted(evidence: EvidenceSummary) -> EvidenceSummary:
    """The evidence of a job that never reported its end: it fails, saying why."""
    return failed(evidence, INTERRUPTED)


def _lot_source(material_lot: str) -> MaterialLotSource:
    return MaterialLotSource.ORDER if material_lot else MaterialLotSource.UNKNOWN


def failed(evidence: EvidenceSummary, reason: str) -> EvidenceSummary:
    """The evidence of a job that stopped before its end: it fails for ``reason``."""
    return evidence.model_copy(
        update={"verdict": Verdict.FAIL, "reasons": (*evidence.reasons, reason)}
    )


class LedgerService:
    """Everything the site's ledger does, for the server, the CLI and the printer agent.

    Store calls run in a worker thread (SQLite commits wait for fsync). Starting a job checks
    the dossier and the licence under a lock, so two jobs cannot take the same last piece.
    Without ``chain`` the service issues and seals but refuses jobs and anchors nothing.
    It verifies bundles trusting its own address and ``trusted_issuers`` as issuers (and,
    online, the chain's allow-list).
    """

    def __init__(
        self,
        store: LedgerStore,
        key: SiteKey,
        *,
        clock: Clock,
        policy: BatchPolicy,
        designs_dir: Path,
        chain: ChainClient | None = None,
        trusted_issuers: Collection[str] = (),
        public_base_url: str = "",
        log: SiteLog | None = None,
    ) -> None:
        if chain is not None and not same_address(chain.address, key.address):
            raise SigningError(
                f"the chain account {chain.address} is not the site key's {key.address}",
                advice="Sign certificates and anchor them with the same key (chain.key_env).",
            )
        self.store = store
        self.key = key
        self.clock = clock
        self.designs_dir = designs_dir
        self.chain = chain
        self.links = PublicLinks(public_base_url)
        self.issuer_trust = IssuerTrust.pinning(
            [key.address, *trusted_issuers], source="ledger.trusted_issuers"
        )
        self._online_trust = self.issuer_trust if trusted_issuers else NO_ISSUER_PINNED
        self._issuer = Issuer(store, key, policy)
        self._anchoring = Anchoring(
            store, self._issuer, address=key.address, clock=clock, chain=chain
        )
        self._job_lock = asyncio.Lock()
        self.log = log or SiteLog()
        store.log_signer = self.log.signer
        self._witnessing = Witnessing(store, self.log.witnesses, self.log.post, clock)

    @property
    def address(self) -> str:
        """The site's issuer address (its key's Ethereum address)."""
        return self.key.address

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    def _chain(self) -> ChainClient:
        return require_chain(self.chain)

    # ------------------------------------------------------------------ designs (OEM)

    async def register_design(
        self, folder: Path, *, licensee: str | None = None, quota: int | None = None
    ) -> DesignRegistration:
        """Register a design folder's dossier hash on chain (once) and optionally a licence.

        Registering the same dossier again is a no-op; a different dossier under a registered
        id and revision is refused (a registered dossier never changes: publish a revision).
        """
        dossier = await self._run(load_design, folder)
        key = design_key(dossier.id, dossier.revision)
        chain = self._chain()
        tx_hash = await register_dossier_once(chain, dossier)
        licence = None
        if quota is not None:
            licence = (licensee or self.address, quota)
            await chain.set_licence(key, *licence)
        await self._run(self.store.save_design, key, dossier, tx_hash, self.clock.now())
        return DesignRegistration(dossier, key, tx_hash, tx_hash is None, licence)

    # ------------------------------------------------------------------ printer agent

    async def start_job(
        self,
        *,
        serial: str,
        design_id: str,
        revision: str,
        printer: str,
        order_id: str,
        material_lot: str,
        layers_planned: int | None = None,
        job_id: str | None = None,
        material_lot_source: MaterialLotSource | None = None,
    ) -> PrintJob:
        """Check the local dossier against the chain and the licence's quota, then record the
        job as printing. A refusal is recorded with its reason and raised (JobRefusedError);
        a dossier or chain that cannot be checked refuses the job too. Without
        ``layers_planned`` the job prints the layers the dossier's recipe plans (a recipe that
        states none refuses the job). ``material_lot`` comes from the order unless
        ``material_lot_source`` says otherwise; "" is a lot nobody named."""
        label = f"design {design_id} revision {revision}"
        async with self._job_lock:
            now = self.clock.now()
            key = design_key(design_id, revision)
            kept = design_folder(self.designs_dir, design_id, revision)
            jobs = self.store.path.parent / JOBS_DIR
            try:
                async with dossier_for_job(
                    kept, (design_id, revision), self.key, self.chain, jobs, int(now.timestamp())
                ) as folder:
                    local = await self._run(load_design, folder)
                    refusal = await self._refusal(local, key, label)
                    if refusal is None and layers_planned is None:
                        layers_planned = await self._run(planned_layers, folder, local)
            except (DesignError, ChainError, SealedDossierError) as exc:
                await self._record_refusal(serial, label, f"cannot check the dossier: {exc}")
                raise
            if refusal is not None:
                await self._record_refusal(serial, label, str(refusal))
                raise refusal
            job = PrintJob(
                job_id=job_id or serial,
                serial=serial,
                design=local.ref,
                printer=printer,
                order_id=order_id,
                material_lot=material_lot,
                material_lot_source=material_lot_source or _lot_source(material_lot),
                layers_planned=layers_planned or 1,
                started_at=now,
            )
            await self._run(self.store.save_design, key, local, None, now)
            await self._run(self.store.start_job, job, key)
        return job

    async def _refusal(
        self, local: DesignDossier, key: bytes, label: str
    ) -> JobRefusedError | None:
        chain = self._chain()
        kept = await self.design(key)
        refusal: JobRefusedError | None = dossier_refusal(
            local, await chain.dossier_hash(key), kept
        )
        if refusal is None:
            licence = await chain.licence(key, self.address)
            refusal = quota_refusal(
                label, licence, await self.unanchored_pieces(key), at=self.clock.now()
            )
        return refusal

    async def _record_refusal(self, serial: str, label: str, reason: str) -> None:
        log.warning("refused to print %s (%s): %s", serial, label, reason)
        await self._run(self.store.record_refusal, self.clock.now(), serial, label, reason)

    async def record_samples(self, job_id: str, samples: Sequence[Sample]) -> int:
        """Keep process samples of a printing job (durable on return); how many were new."""
        for sample in samples:
            if not math.isfinite(sample.value) or sample.ts.tzinfo is None:
                raise EvidenceError(
                    f"sample {sample.parameter}@{sample.ts}: values must be finite and "
                    "timestamps timezone-aware"
                )
        return await self._run(self.store.add_samples, job_id, samples)

    async def finish_job(
        self,
        job_id: str,
        layers_done: int,
        *,
        health: PrinterHealth | None = None,
        stopped: str = "",
    ) -> EvidenceSummary:
        """End a job: check its samples against the dossier's process window and keep the
        evidence, with the printer's ``health`` at the end. A job the printer ``stopped``
        (its reason) fails for it. The part's certificate can be issued from then on."""
        record = await self._run(self.store.job, job_id)
        evidence = await self._evidence(record, layers_done, self.clock.now())
        if stopped:
            evidence = failed(evidence, f"stopped by the printer: {stopped}")
        job = record.job.model_copy(update={"health_at_end": health})
        await self._run(self.store.finish_job, job_id, evidence, job)
        return evidence

    async def job_started(
        self, job_id: str, health: PrinterHealth, material_lot: str = ""
    ) -> PrintJob:
        """Keep what the printer said as the job started: its health, and the feedstock lot
        it prints from when it names one (which then is the part's lot)."""
        record = await self._run(self.store.job, job_id)
        job = record.job.model_copy(update={"health_at_start": health})
        if material_lot:
            job = job.model_copy(
                update={
                    "material_lot": material_lot[:MAX_LOT],
                    "material_lot_source": MaterialLotSource.PRINTER,
                }
            )
        await self._run(self.store.update_job, job)
        return job

    async def record_gap(self, job_id: str, gap: EvidenceGap) -> PrintJob:
        """Keep a stretch of a printing job during which no process data could be recorded."""
        record = await self._run(self.store.job, job_id)
        job = record.job.model_copy(update={"gaps": (*record.job.gaps, gap)})
        await self._run(self.store.update_job, job)
        return job

    async def reattach_job(self, job_id: str, cause: str) -> PrintJob:
        """Take up a job the printer kept printing while this site was away: the gap from its
        last sample (or its start) until now is kept with ``cause``."""
        record = await self._run(self.store.job, job_id)
        last = await self._run(self.store.last_sample_at, job_id)
        gap = EvidenceGap(start=last or record.job.started_at, end=self.clock.now(), cause=cause)
        return await self.record_gap(job_id, gap)

    async def refuse_job(
        self, job_id: str, reason: str, layers_done: int, health: PrinterHealth | None = None
    ) -> EvidenceSummary:
        """End a job whose part gets no certificate (the printer ran another job or dossier
        than the one dispatched); its evidence and the reason are kept."""
        record = await self._run(self.store.job, job_id)
        evidence = failed(
            await self._evidence(record, layers_done, self.clock.now()), f"refused: {reason}"
        )
        if health is not None:
            job = record.job.model_copy(update={"health_at_end": health})
            await self._run(self.store.update_job, job)
        log.warning("part %s gets no certificate: %s", record.job.serial, reason)
        await self._run(self.store.refuse_job, job_id, evidence, reason, self.clock.now())
        return evidence

    async def drop_job(self, job_id: str, reason: str) -> None:
        """Forget a job the printer did not start (busy, refused): no piece was made; the
        reason is kept with the printer agent's refusals."""
        record = await self._run(self.store.job, job_id)
        await self._run(self.store.drop_job, job_id)
        design = f"design {record.job.design.id} revision {record.job.design.revision}"
        await self._run(
            self.store.record_refusal, self.clock.now(), record.job.serial, design, reason
        )

    async def printing_jobs(self, printers: Collection[str]) -> list[PrintJob]:
        """Jobs on ``printers`` still printing as far as the ledger knows, oldest first."""
        records = await self._run(self.store.uncertified_jobs)
        return [
            r.job for r in records if r.state is JobState.PRINTING and r.job.printer in printers
        ]

    async def _evidence(
        self, record: JobRecord, layers_done: int, ended_at: datetime | None
    ) -> EvidenceSummary:
        """A printing job's samples checked against its dossier's window; ``ended_at`` None:
        the job ended with its last sample."""
        job_id = record.job.job_id
        if record.state is not JobState.PRINTING:
            raise LedgerStateError(f"job {job_id} is {record.state}, not printing")
        dossier = await self._run(self.store.design, record.design_key)
        if dossier is None or dossier.dossier_sha256 != record.job.design.dossier_sha256:
            raise LedgerStateError(f"the dossier job {job_id} was printed from is not kept")
        samples = await self._run(self.store.samples, job_id)
        started_at = record.job.started_at
        return evaluate(
            samples,
            dossier.process_window,
            started_at=started_at,
            ended_at=ended_at or max((s.ts for s in samples), default=started_at),
            layers_done=layers_done,
            layers_planned=record.job.layers_planned,
        )

    async def close_interrupted_jobs(
        self, printers: Collection[str], keep: Collection[str] = ()
    ) -> list[SignedRecord]:
        """After a restart: certify each part the last process left unfinished on ``printers``.

        Jobs in ``keep`` are left as they are: their printer still runs them, and the flow has
        taken them up again. Any other job still printing is one its printer no longer runs:
        it is finished on the evidence recorded until then, with no layer confirmed, and fails
        as interrupted (scrap). A finished job gets the certificate it was waiting for. Each
        step is durable on return, so a crash in here is picked up by the next call and
        nothing is issued twice. Returns the certificates issued.
        """
        issued = []
        for record in await self._run(self.store.uncertified_jobs):
            if record.job.printer not in printers or record.job.job_id in keep:
                continue
            if record.state is JobState.PRINTING:
                evidence = interrupted(await self._evidence(record, 0, None))
                await self._run(self.store.finish_job, record.job.job_id, evidence)
            issued.append(await self.issue_certificate(record.job.serial))
        return issued

    # ------------------------------------------------------------------ queries

    async def design(self, key: bytes) -> DesignDossier | None:
        """The dossier of design ``key`` (see ``design_key``) when this site keeps it."""
        return await self._run(self.store.design, key)

    async def unanchored_pieces(self, key: bytes) -> int:
        """Pieces of design ``key`` printed or printing here that no anchor has counted yet."""
        return await self._run(self.store.unanchored_pieces, key)

    async def design_standing(self, design_id: str, revision: str) -> DesignStanding | None:
        """A design kept here with its licence on chain; None without the design or a chain."""
        key = design_key(design_id, revision)
        dossier = await self.design(key)
        if dossier is None or self.chain is None:
            return None
        licence = await self.chain.licence(key, self.address)
        uncounted = await self.unanchored_pieces(key)
        return DesignStanding(dossier, licence.quota, licence.used, uncounted)

    async def certified_verdicts(self, serials: Iterable[str]) -> list[Verdict | None]:
        """The evidence verdict of each part of ``serials`` in turn, up to the first one not
        certified yet (None for a certified part without evidence)."""
        return await self._run(self._certified_verdicts, serials)

    def _certified_verdicts(self, serials: Iterable[str]) -> list[Verdict | None]:
        verdicts: list[Verdict | None] = []
        for serial in serials:
            if self.store.leaf(serial, RecordKind.CERTIFICATE) is None:
                if self._refused(serial):
                    verdicts.append(Verdict.FAIL)  # decided: it will never be certified
                    continue
                break
            evidence = self.store.job_by_serial(serial).evidence
            verdicts.append(evidence.verdict if evidence is not None else None)
        return verdicts

    def _refused(self, serial: str) -> bool:
        try:
            job_id = self.store.job_by_serial(serial).job.job_id
        except UnknownRecordError:
            return False
        return self.store.refusal_of(job_id) is not None

    async def parts(self) -> list[PartRow]:
        """Every part this site printed or is printing, by serial."""
        return await self._run(self.store.parts)

    async def counts(self) -> LedgerCounts:
        """Batches anchored and waiting for their anchor, certificates not on chain yet."""
        counts = await self._run(self.store.counts)
        return LedgerCounts(
            batches_anchored=counts["batches_anchored"],
            batches_pending=counts["batches_sealed"] + counts["batches_sending"],
            certificates_unanchored=counts["certificates_unanchored"],
        )

    # ------------------------------------------------------------------ quality

    async def add_inspection(self, serial: str, result: InspectionResult) -> InspectionOutcome:
        """Record an inspection of part ``serial``.

        Before the certificate is issued, the inspection becomes part of it. After, it is a
        separate inspection record, signed and anchored like a certificate and exported in
        the part's bundle: a certificate never changes once signed.
        """
        record = await self._run(self.store.job_by_serial, serial)
        if record.state is not JobState.CERTIFIED:
            await self._run(self.store.add_pending_inspection, serial, result)
            return InspectionOutcome(serial, None)
        certificate = await self._run(self.store.leaf, serial, RecordKind.CERTIFICATE)
        assert certificate is not None
        now = self.clock.now()
        document = inspection_document(
            serial, certificate.leaf_hash.hex(), result, self.address, now
        )
        signed = await self._run(self._issuer.issue_record, RecordKind.INSPECTION, document, now)
        return InspectionOutcome(serial, signed)

    async def issue_certificate(
        self, serial: str, health: MachineHealth | None = None
    ) -> SignedRecord:
        """Sign the certificate of a finished job's part and append it (durable on return)."""
        record = await self._run(self.store.job_by_serial, serial)
        if record.state is not JobState.FINISHED:
            raise LedgerStateError(f"part {serial}'s job is {record.state}, not finished")
        inspections = await self._run(self.store.pending_inspections, serial)
        certificate = build_certificate(
            record,
            inspections,
            health,
            self.address,
            self.clock.now(),
            verify_url=self.links.certificate_url(serial),
        )
        [signed] = await self._run(
            self._issuer.issue_certificates, [certificate], job_ids=[record.job.job_id]
        )
        return signed

    async def revoke(self, serial: str, reason: str, revoked_by: str) -> SignedRecord:
        """Withdraw a part's certificate by a signed revocation record.

        The record is anchored with the next batch; the certificate is then marked revoked on
        chain, so online verification finds it.
        """
        certificate = await self._run(self.store.leaf, serial, RecordKind.CERTIFICATE)
        if certificate is None:
            raise UnknownRecordError(f"part {serial} has no certificate to revoke")
        now = self.clock.now()
        document = revocation_document(
            serial, certificate.leaf_hash.hex(), reason, revoked_by, self.address, now
        )
        return await self._run(self._issuer.issue_record, RecordKind.REVOCATION, document, now)

    # ------------------------------------------------------------------ bundles

    async def certificate_body(self, serial: str) -> bytes:
        """The signed certificate of part ``serial``, its RFC 8785 bytes exactly as signed.

        UnknownRecordError when there is none; StoredRecordAlteredError when the store was
        altered (see ledger/stored.py).
        """
        part = await self._run(checked_part, self.store, serial, issuer=self.address)
        return part.certificate.body

    async def bundle(self, serial: str) -> ProofBundle:
        """The proof bundle of part ``serial`` as far as it is sealed and anchored now.

        UnknownRecordError when there is none; StoredRecordAlteredError when the store was
        altered (see ledger/stored.py).
        """
        part = await self._run(checked_part, self.store, serial, issuer=self.address)
        return build_bundle(part.certificate, part.later, self.clock.now())

    async def verify(self, bundle: ProofBundle, *, online: bool = True) -> VerificationReport:
        """Verify a bundle offline, trusting this site and ``trusted_issuers`` as issuers, or
        online against this site's chain and ledger, whose allow-list decides (narrowed to
        those issuers when ``trusted_issuers`` lists any)."""
        witnesses = self.log.witness_policy()
        if not online:
            return verify_offline(bundle, trust=self.issuer_trust, witnesses=witnesses)
        chain = self._chain()
        return await verify_online(
            bundle,
            chain,
            trusted_contract=chain.contract_address,
            trust=self._online_trust,
            witnesses=witnesses,
        )

    # ------------------------------------------------------------------ batches and anchors

    async def tick(self) -> AnchoringReport:
        """Seal the batches that are due, anchor every sealed batch, mark anchored revocations,
        then send the site log's new checkpoints to its witnesses.

        Call it on a schedule (the composition root does); failures are logged and reported,
        and retried on the next tick.
        """
        report = await self._anchoring.tick()
        witnessed = await self._run(self._witnessing.submit)
        report.cosigned += witnessed.cosigned
        report.witness_failures += witnessed.failures
        return report

    async def reconcile(self) -> AnchoringReport:
        """On start: make the chain hold every batch the store has sealed, without duplicates
        (see ``Anchoring.reconcile``)."""
        return await self._anchoring.reconcile()
