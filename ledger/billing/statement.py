"""A site's billing statement for one month, design and licence: its pieces, counts and proof."""

# A piece belongs to the month in which the chain counted it: the month its certificate's batch
# was anchored (block time, UTC). So the statement's count is exactly what the chain counted in
# the month, and a piece anchored after the month's end waits for the next statement. Pieces of
# earlier months revoked during the month are credited back.

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ledger.billing.document import STATEMENT_SCHEMA, Period, SignedStatement, sign_statement
from ledger.billing.sitelog import add_checkpoints
from ledger.canonical import JsonObject, JsonValue, design_key
from ledger.errors import StatementError
from ledger.merkle import root_hash
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from ledger.stored import checked_part
from ledger.tables import BatchRow, LeafRow
from models import AnchorReceipt, RecordKind, Verdict

if TYPE_CHECKING:
    from ledger.chain import ChainClient

CERTIFIED = "certified"
FAILED = "failed"
REVOKED = "revoked"
CREDITED = "credited"


@dataclass(frozen=True, slots=True)
class StoredPiece:
    """A certified part of the design with where its certificate was anchored."""

    serial: str
    certificate: LeafRow
    document: JsonObject
    receipt: AnchorReceipt
    revoked_at: str | None
    """``issued_at`` of its revocation record, None when not revoked."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def anchored_pieces(
    store: LedgerStore, site: str, design_id: str, revision: str
) -> list[StoredPiece]:
    """Every anchored certificate of a design revision this site issued, each checked against
    the store's records (StoredRecordAlteredError when altered)."""
    pieces = []
    for part in store.parts():
        ref = part.job.design
        if not part.certified or ref.id != design_id or ref.revision != revision:
            continue
        stored = checked_part(store, part.job.serial, issuer=site)
        batch = stored.certificate.batch
        if batch is None or batch.receipt is None:
            continue
        revoked_at = next(
            (
                str(json.loads(r.body)["issued_at"])
                for r in stored.later
                if r.kind is RecordKind.REVOCATION
            ),
            None,
        )
        pieces.append(
            StoredPiece(
                part.job.serial, stored.certificate, stored.document, batch.receipt, revoked_at
            )
        )
    return pieces


def started_in(store: LedgerStore, design_id: str, revision: str, period: Period) -> int:
    """Jobs of the design revision that started printing in the period."""
    return sum(
        1
        for part in store.parts()
        if part.job.design.id == design_id
        and part.job.design.revision == revision
        and period.start <= part.job.started_at < period.end
        and not part.refusal
    )


def _status(piece: StoredPiece) -> str:
    if piece.revoked_at is not None:
        return REVOKED
    return CERTIFIED if piece.document.get("verdict") == Verdict.PASS.value else FAILED


def _line(piece: StoredPiece, status: str, price: int) -> JsonObject:
    row = piece.certificate
    billed = {CERTIFIED: price, CREDITED: -price}.get(status, 0)
    return {
        "serial": piece.serial,
        "certificate": row.leaf_hash.hex(),
        "printer": str(piece.document.get("printer", "")),
        "issued_at": str(piece.document.get("issued_at", "")),
        "status": status,
        "price_micros": billed,
        "batch": piece.receipt.root,
        "block": piece.receipt.block_number,
        "index": row.leaf_index,
        "size": piece.receipt.size,
        "proof": [node.hex() for node in row.proof],
    }


async def build_statement(
    store: LedgerStore,
    chain: ChainClient,
    key: SiteKey,
    design_id: str,
    revision: str,
    period: Period,
    previous: SignedStatement | None,
    now: datetime,
) -> SignedStatement:
    """The site's signed statement of one design revision for ``period``, from its store and
    the chain (blocks, counts and licence terms read as they stood at the period's end)."""
    dkey = design_key(design_id, revision)
    site = key.address
    oem = await chain.design_oem(dkey)
    if oem is None:
        raise StatementError(f"design {design_id} revision {revision} is not registered on chain")
    _, head_time = await chain.head()
    if head_time < period.end.timestamp():
        raise StatementError(
            f"period {period.name} has not ended on chain yet (its last block is at "
            f"{_iso(datetime.fromtimestamp(head_time, UTC))})",
            advice="Issue the statement after the month's end.",
        )
    start_block = await chain.last_block_before(int(period.start.timestamp()))
    end_block = await chain.last_block_before(int(period.end.timestamp()))
    if end_block is None:
        raise StatementError(f"the chain starts after period {period.name}")
    first = -1 if start_block is None else start_block
    at_start = 0 if start_block is None else (await chain.licence_at(dkey, site, first)).used
    licence = await chain.licence_at(dkey, site, end_block)
    grants = [g for g in await chain.licence_grants(dkey, site) if g.block_number <= end_block]
    price = grants[-1].price_micros if grants else 0
    currency = grants[-1].currency if grants else ""

    lines: list[JsonObject] = []
    anchors: dict[str, JsonObject] = {}
    logged: dict[str, BatchRow] = {}
    for piece in anchored_pieces(store, site, design_id, revision):
        receipt = piece.receipt
        if first < receipt.block_number <= end_block:
            lines.append(_line(piece, _status(piece), price))
            if (batch := piece.certificate.batch) is not None and batch.checkpoint:
                logged[receipt.root] = batch
            anchor = anchors.setdefault(
                receipt.root,
                {"root": receipt.root, "tx": receipt.tx_hash, "block": receipt.block_number},
            )
            anchor["pieces"] = int(str(anchor.get("pieces", 0))) + 1
        elif receipt.block_number <= first and _revoked_within(piece, period):
            lines.append(_line(piece, CREDITED, price))
    lines.sort(key=_order)
    ordered = sorted(anchors.values(), key=lambda a: int(str(a["block"])))
    add_checkpoints(store, ordered, logged, None if previous is None else previous.document)
    document = statement_document(
        site=site,
        oem=oem,
        design={"id": design_id, "revision": revision, "key": dkey.hex()},
        period=period,
        licence={
            "quota": licence.quota,
            "overdraft": licence.overdraft,
            "valid_from": licence.valid_from,
            "valid_until": licence.valid_until,
            "revoked": licence.revoked,
            "price_micros": price,
            "currency": currency,
        },
        started=started_in(store, design_id, revision, period),
        lines=lines,
        anchors=ordered,
        chain={
            "chain_id": chain.chain_id,
            "contract": chain.contract_address,
            "start_block": first,
            "end_block": end_block,
            "counted_at_start": at_start,
            "counted_at_end": licence.used,
        },
        previous=previous,
        now=now,
    )
    return sign_statement(document, key)


def _revoked_within(piece: StoredPiece, period: Period) -> bool:
    """Whether the piece's revocation was issued in the period: it is credited back then."""
    if piece.revoked_at is None:
        return False
    return period.start <= datetime.fromisoformat(piece.revoked_at) < period.end


def _order(line: JsonObject) -> tuple[bool, int, str, int]:
    """Counted pieces in chain order (block, batch, leaf), then the credited ones."""
    return (
        line["status"] == CREDITED,
        int(str(line["block"])),
        str(line["batch"]),
        int(str(line["index"])),
    )


def statement_document(
    *,
    site: str,
    oem: str,
    design: JsonObject,
    period: Period,
    licence: JsonObject,
    started: int,
    lines: list[JsonObject],
    anchors: list[JsonObject],
    chain: JsonObject,
    previous: SignedStatement | None,
    now: datetime,
) -> JsonObject:
    """The statement document: parties, licence, period, counts, balances, pieces, proof."""
    tally = {
        s: sum(1 for line in lines if line["status"] == s)
        for s in (CERTIFIED, FAILED, REVOKED, CREDITED)
    }
    quota = int(str(licence["quota"]))
    used = int(str(chain["counted_at_end"]))
    counted_lines = [line for line in lines if line["status"] != CREDITED]
    pieces: list[JsonValue] = list(lines)
    anchor_values: list[JsonValue] = list(anchors)
    return {
        "schema": STATEMENT_SCHEMA,
        "period": {"month": period.name, "start": _iso(period.start), "end": _iso(period.end)},
        "parties": {"site": site, "oem": oem},
        "design": design,
        "licence": licence,
        "counts": {
            "started": started,
            "certified": tally[CERTIFIED],
            "billable": tally[CERTIFIED],
            "failed": tally[FAILED],
            "revoked": tally[REVOKED],
            "credited": tally[CREDITED],
            "counted_on_chain": used - int(str(chain["counted_at_start"])),
        },
        "balances": {
            "counted_since_grant": used,
            "remaining": max(quota - used, 0),
            "overage": max(used - quota, 0),
            "amount_micros": sum(int(str(line["price_micros"])) for line in lines),
            "currency": licence["currency"],
        },
        "pieces": pieces,
        "proof": {
            "merkle_root": root_hash(
                [bytes.fromhex(str(line["certificate"])) for line in counted_lines]
            ).hex(),
            "anchors": anchor_values,
            "chain": chain,
        },
        "previous": None if previous is None else previous.digest.hex(),
        "issued_at": _iso(now),
    }
