"""Anchoring: due batches sealed, each sealed root anchored on chain once, revocations marked."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.errors import ChainError, ContractError
from ledger.issuing import Issuer
from ledger.signing import same_address
from ledger.store import LedgerStore
from ledger.tables import BatchRow, BatchState
from models import AnchorReceipt, Clock

if TYPE_CHECKING:
    from ledger.chain import ChainClient  # web3 loads only where a chain is used

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AnchoringReport:
    """What one round of sealing and anchoring (``tick`` or ``reconcile``) did."""

    sealed: list[BatchRow] = field(default_factory=list)
    anchored: list[AnchorReceipt] = field(default_factory=list)
    confirmed: list[AnchorReceipt] = field(default_factory=list)
    revocations_marked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    cosigned: list[str] = field(default_factory=list)
    """Witness cosignatures of the site log's checkpoints received in this round."""
    witness_failures: list[str] = field(default_factory=list)
    """Witnesses that did not answer or refused (asked again later; anchoring goes on)."""


_LOST_RACE = frozenset({"WrongSequence", "AlreadyAnchored"})
"""Refusals of an anchor because another transaction of the site took its place (version 2's
sequence number, version 1's write-once root)."""


def require_chain(chain: ChainClient | None) -> ChainClient:
    """``chain``, or ChainError when the ledger runs without one."""
    if chain is None:
        raise ChainError("this ledger service runs without a chain")
    return chain


def _hex_or_none(raw: bytes | None) -> str | None:
    return None if raw is None else "0x" + raw.hex()


class Anchoring:
    """Seals the batches that are due and makes the chain hold every sealed root, once.

    One round runs at a time. Without ``chain`` it seals and anchors nothing.
    """

    def __init__(
        self,
        store: LedgerStore,
        issuer: Issuer,
        *,
        address: str,
        clock: Clock,
        chain: ChainClient | None,
    ) -> None:
        self._store = store
        self._issuer = issuer
        self._address = address
        self._clock = clock
        self._chain = chain
        self._lock = asyncio.Lock()

    async def tick(self) -> AnchoringReport:
        """Seal the batches that are due, anchor every sealed batch, mark anchored revocations.

        Call it on a schedule (the composition root does); failures are logged and reported,
        and retried on the next tick.
        """
        report = AnchoringReport()
        async with self._lock:
            report.sealed = await asyncio.to_thread(self._issuer.seal_due, self._clock.now())
            if self._chain is None:
                return report
            due = await asyncio.to_thread(
                self._store.batches, BatchState.SEALED, BatchState.SENDING
            )
            for batch in due:
                await self._anchor_reporting(batch, report)
            await self._mark_revocations(report, include_marked=False)
        return report

    async def reconcile(self) -> AnchoringReport:
        """On start: make the chain hold every batch the store has sealed, without duplicates.

        An anchored batch whose root is missing on chain (a local chain that lost blocks) is
        anchored again; a sealed batch whose transaction was lost is sent again; a batch whose
        transaction did land gets its receipt from the chain. Each anchor names the site's
        next sequence number, read before looking for an earlier anchor of the root: the
        contract refuses a number already taken, so nothing is counted twice.
        """
        report = AnchoringReport()
        async with self._lock:
            for batch in await asyncio.to_thread(self._store.batches):
                await self._anchor_reporting(batch, report)
            await self._mark_revocations(report, include_marked=True)
        return report

    async def _anchor_reporting(self, batch: BatchRow, report: AnchoringReport) -> None:
        try:
            receipt, sent = await self._ensure_anchored(batch)
        except ChainError as exc:
            log.warning("batch %d (root %s) not anchored: %s", batch.id, batch.root.hex(), exc)
            report.failures.append(f"batch {batch.id}: {exc}")
            return
        (report.anchored if sent else report.confirmed).append(receipt)

    async def _ensure_anchored(self, batch: BatchRow) -> tuple[AnchorReceipt, bool]:
        """The batch's receipt, read from the chain if its root is there, else after anchoring
        it; and whether a transaction was sent."""
        chain = require_chain(self._chain)
        sent = False
        landed = await self._recorded_anchor(chain, batch)
        if landed is None:
            landed, sent = await self._find_or_send(chain, batch)
        ledger, tx_hash, block = landed
        receipt = AnchorReceipt(
            chain_id=chain.chain_id,
            contract=ledger,
            tx_hash="0x" + tx_hash.hex(),
            block_number=block,
            root=batch.root.hex(),
            size=batch.size,
            block_header=_hex_or_none(await chain.qbft_header(block)),
        )
        if batch.receipt != receipt:
            await asyncio.to_thread(self._store.record_anchor, batch.id, receipt)
        return receipt, sent

    async def _recorded_anchor(
        self, chain: ChainClient, batch: BatchRow
    ) -> tuple[str, bytes, int] | None:
        """The ledger, transaction and block of the batch's stored receipt when the chain holds
        that anchor by this site there (one receipt read; no search of the chain)."""
        if batch.receipt is None:
            return None
        tx_hash = bytes.fromhex(batch.receipt.tx_hash.removeprefix("0x"))
        found = await chain.anchor_in(batch.root, tx_hash, batch.receipt.contract)
        if (
            found is None
            or not same_address(found.issuer, self._address)
            or found.block_number != batch.receipt.block_number
        ):
            return None
        return batch.receipt.contract, tx_hash, found.block_number

    async def _find_or_send(
        self, chain: ChainClient, batch: BatchRow
    ) -> tuple[tuple[str, bytes, int], bool]:
        """The ledger, transaction and block where this site anchored the batch's root, found
        on chain or after anchoring it now; and whether a transaction was sent."""
        sequence = None if chain.keeps_anchors_in_storage else await chain.next_sequence()
        found = await chain.own_anchor(batch.root)
        sent = found is None
        if found is None:
            pieces = await asyncio.to_thread(self._store.batch_pieces, batch.id)
            await asyncio.to_thread(self._store.mark_sending, batch.id)
            try:
                outcome = await chain.anchor(batch.root, batch.size, pieces, sequence=sequence)
            except ContractError as exc:
                if exc.name not in _LOST_RACE:
                    raise
                sent, found = False, await chain.own_anchor(batch.root)
                if found is None:
                    raise
            else:
                found = (chain.contract_address, outcome)
        ledger, outcome = found
        [event] = outcome.events_named("Anchored")
        if not same_address(str(event.args["issuer"]), self._address):
            raise ChainError(f"root {batch.root.hex()} was anchored by {event.args['issuer']}")
        return (ledger, outcome.tx_hash, outcome.block_number), sent

    async def _mark_revocations(self, report: AnchoringReport, *, include_marked: bool) -> None:
        chain = require_chain(self._chain)
        marks = await asyncio.to_thread(self._store.revocation_marks, include_marked=include_marked)
        for mark in marks:
            if await chain.revocation_of(mark.certificate_leaf_hash, self._address) is not None:
                if not include_marked:
                    await asyncio.to_thread(self._store.record_revocation_mark, mark.serial, "")
                continue
            try:
                outcome = await chain.mark_revoked(
                    mark.certificate_leaf_hash, mark.certificate_root, mark.record_root
                )
            except ChainError as exc:
                report.failures.append(f"revocation of {mark.serial}: {exc}")
                continue
            await asyncio.to_thread(
                self._store.record_revocation_mark, mark.serial, "0x" + outcome.tx_hash.hex()
            )
            report.revocations_marked.append(mark.serial)
