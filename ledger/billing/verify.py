"""Checking a billing statement: offline (signatures, pieces, proofs, sums) and on the chain."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ledger.billing.document import SignedStatement
from ledger.billing.sitelog import check_log
from ledger.billing.statement import CERTIFIED, CREDITED, FAILED, REVOKED
from ledger.canonical import JsonObject
from ledger.errors import LedgerError
from ledger.merkle import root_hash, verify_inclusion
from ledger.signing import same_address

if TYPE_CHECKING:
    from ledger.chain import ChainClient


@dataclass(frozen=True, slots=True)
class Check:
    """One check of a statement: its name, whether it passed, and what was found."""

    name: str
    passed: bool
    detail: str


@dataclass(slots=True)
class StatementReport:
    """Every check of one statement, in the order they ran."""

    checks: list[Check] = field(default_factory=list)
    mode: str = "offline"

    @property
    def valid(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def mismatches(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.passed]


def _field(document: JsonObject, *path: str) -> object:
    value: object = document
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise KeyError(".".join(path))
        value = value[key]
    return value


def _int(document: JsonObject, *path: str) -> int:
    value = _field(document, *path)
    if not isinstance(value, int) or isinstance(value, bool):
        raise KeyError(".".join(path))
    return value


def _pieces(document: JsonObject) -> list[JsonObject]:
    pieces = _field(document, "pieces")
    if not isinstance(pieces, list) or not all(isinstance(p, dict) for p in pieces):
        raise KeyError("pieces")
    return [p for p in pieces if isinstance(p, dict)]


def _anchors(document: JsonObject) -> list[JsonObject]:
    anchors = _field(document, "proof", "anchors")
    if not isinstance(anchors, list) or not all(isinstance(a, dict) for a in anchors):
        raise KeyError("proof.anchors")
    return [a for a in anchors if isinstance(a, dict)]


def _guarded(name: str, check: Callable[[], str]) -> Check:
    """Run one check: its finding when it passes; a failed check naming what did not hold."""
    try:
        return Check(name, True, check())
    except _MismatchError as mismatch:
        return Check(name, False, str(mismatch))
    except KeyError as missing:
        return Check(name, False, f"the statement lacks {missing.args[0]}")
    except (LedgerError, ValueError, TypeError) as exc:
        return Check(name, False, str(exc))


class _MismatchError(Exception):
    """A check found the statement disagreeing with itself, its proofs or the chain."""


def verify_statement_offline(
    statement: SignedStatement, previous: SignedStatement | None = None
) -> StatementReport:
    """Every check that needs no chain: signatures, each piece once and in its batch, the
    Merkle root, the counts and the amount, and the link to ``previous`` when given."""
    doc = statement.document
    report = StatementReport()
    report.checks = [
        _guarded("site signature", lambda: _site_signature(statement)),
        _guarded("OEM countersignature", lambda: _countersignature(statement)),
        _guarded("pieces billed once", lambda: _each_piece_once(doc)),
        _guarded("pieces in their batches", lambda: _inclusions(doc)),
        _guarded("merkle root", lambda: _merkle_root(doc)),
        _guarded("anchors", lambda: _anchor_sums(doc)),
        _guarded("site log", lambda: check_log(doc, previous.document if previous else None)),
        _guarded("counts", lambda: _counts(doc)),
        _guarded("amount", lambda: _amount(doc)),
    ]
    if previous is not None:
        report.checks.append(_guarded("previous statement", lambda: _chained(doc, previous)))
    return report


def _site_signature(statement: SignedStatement) -> str:
    site = str(_field(statement.document, "parties", "site"))
    signer = statement.signer()
    if not same_address(signer, site):
        raise _MismatchError(f"signed by {signer}, not by the statement's site {site}")
    return f"signed by the site {site}"


def _countersignature(statement: SignedStatement) -> str:
    oem = str(_field(statement.document, "parties", "oem"))
    signer = statement.countersigner()
    if signer is None:
        return "not countersigned: the OEM has not accepted it yet"
    if not same_address(signer, oem):
        raise _MismatchError(f"countersigned by {signer}, not by the design's OEM {oem}")
    return f"accepted by the OEM {oem}"


def _each_piece_once(doc: JsonObject) -> str:
    pieces = _pieces(doc)
    for key in ("serial", "certificate"):
        twice = sorted(v for v, n in Counter(str(p[key]) for p in pieces).items() if n > 1)
        if twice:
            raise _MismatchError(f"billed twice: {key} {', '.join(twice)}")
    return f"{len(pieces)} lines, each serial and certificate once"


def _inclusions(doc: JsonObject) -> str:
    for piece in _pieces(doc):
        proof = [bytes.fromhex(str(node)) for node in _list(piece, "proof")]
        try:
            verify_inclusion(
                _int(piece, "index"),
                _int(piece, "size"),
                bytes.fromhex(str(piece["certificate"])),
                proof,
                bytes.fromhex(str(piece["batch"])),
            )
        except LedgerError as exc:
            raise _MismatchError(
                f"piece {piece.get('serial')} is not in batch {piece.get('batch')}: {exc}"
            ) from exc
    return "every certificate is a leaf of the batch it names (RFC 6962 inclusion proofs)"


def _list(value: JsonObject, key: str) -> list[object]:
    items = value.get(key)
    if not isinstance(items, list):
        raise KeyError(key)
    return list(items)


def _counted(doc: JsonObject) -> list[JsonObject]:
    return [p for p in _pieces(doc) if p.get("status") != CREDITED]


def _merkle_root(doc: JsonObject) -> str:
    leaves = [bytes.fromhex(str(p["certificate"])) for p in _counted(doc)]
    root = root_hash(leaves).hex()
    stated = str(_field(doc, "proof", "merkle_root"))
    if root != stated:
        raise _MismatchError(
            f"the pieces' certificates hash to root {root}, the statement says {stated}"
        )
    return f"root {root} over {len(leaves)} certificate leaves"


def _anchor_sums(doc: JsonObject) -> str:
    per_batch = Counter(str(p["batch"]) for p in _counted(doc))
    listed = {str(a["root"]): a for a in _anchors(doc)}
    for root, count in per_batch.items():
        if root not in listed:
            raise _MismatchError(
                f"batch {root} holds {count} piece(s) but is not among the anchors"
            )
        if _int(listed[root], "pieces") != count:
            raise _MismatchError(
                f"anchor {root} counts {listed[root]['pieces']} piece(s), the statement lists "
                f"{count} in it"
            )
    if extra := sorted(set(listed) - set(per_batch)):
        raise _MismatchError(f"anchors without pieces: {', '.join(extra)}")
    total = sum(per_batch.values())
    on_chain = _int(doc, "counts", "counted_on_chain")
    moved = _int(doc, "proof", "chain", "counted_at_end") - _int(
        doc, "proof", "chain", "counted_at_start"
    )
    if not total == on_chain == moved:
        raise _MismatchError(
            f"{total} piece(s) listed under the anchors, {on_chain} said counted on chain, the "
            f"chain counter moved by {moved}"
        )
    return f"{len(listed)} anchor(s) count the {total} piece(s) listed"


def _counts(doc: JsonObject) -> str:
    tally = Counter(str(p["status"]) for p in _pieces(doc))
    for status in (CERTIFIED, FAILED, REVOKED, CREDITED):
        if _int(doc, "counts", status) != tally[status]:
            raise _MismatchError(
                f"counts.{status} is {_int(doc, 'counts', status)}, the pieces hold "
                f"{tally[status]} {status}"
            )
    if _int(doc, "counts", "billable") != tally[CERTIFIED]:
        raise _MismatchError(f"counts.billable is not the {tally[CERTIFIED]} certified piece(s)")
    return ", ".join(f"{tally[s]} {s}" for s in (CERTIFIED, FAILED, REVOKED, CREDITED))


def _amount(doc: JsonObject) -> str:
    price = _int(doc, "licence", "price_micros")
    expected = {CERTIFIED: price, CREDITED: -price}
    for piece in _pieces(doc):
        if _int(piece, "price_micros") != expected.get(str(piece["status"]), 0):
            raise _MismatchError(
                f"piece {piece['serial']} is priced {piece['price_micros']}, the "
                f"licence's price for a {piece['status']} piece is "
                f"{expected.get(str(piece['status']), 0)}"
            )
    total = sum(_int(p, "price_micros") for p in _pieces(doc))
    stated = _int(doc, "balances", "amount_micros")
    if stated != total:
        raise _MismatchError(f"the amount is {stated} millionths, the pieces add up to {total}")
    return f"{total / 1_000_000:.2f} {_field(doc, 'licence', 'currency') or '(no price)'}"


def _chained(doc: JsonObject, previous: SignedStatement) -> str:
    before = previous.document
    for path in (("parties", "site"), ("design", "key")):
        if _field(before, *path) != _field(doc, *path):
            raise _MismatchError(f"the previous statement is for another {'.'.join(path)}")
    if str(_field(before, "period", "end")) > str(_field(doc, "period", "start")):
        raise _MismatchError("the previous statement's period does not end before this one starts")
    if doc.get("previous") != previous.digest.hex():
        raise _MismatchError(
            f"names previous {doc.get('previous')}, the previous statement's digest is "
            f"{previous.digest.hex()}"
        )
    return f"follows the statement of {_field(before, 'period', 'month')}"


async def verify_statement_online(
    statement: SignedStatement, chain: ChainClient, previous: SignedStatement | None = None
) -> StatementReport:
    """The offline checks, then against the chain: the period's blocks, every anchor, every
    count of the site's pieces of the design in the period, the counter and the licence."""
    report = verify_statement_offline(statement, previous)
    report.mode = "online"
    doc = statement.document
    for name, check in (
        ("period blocks", _period_blocks),
        ("anchors on chain", _anchors_on_chain),
        ("pieces counted on chain", _counted_on_chain),
        ("licence on chain", _licence_on_chain),
    ):
        try:
            report.checks.append(Check(name, True, await check(doc, chain)))
        except _MismatchError as mismatch:
            report.checks.append(Check(name, False, str(mismatch)))
        except KeyError as missing:
            report.checks.append(Check(name, False, f"the statement lacks {missing.args[0]}"))
        except (LedgerError, ValueError, TypeError) as exc:
            report.checks.append(Check(name, False, str(exc)))
    return report


async def _period_blocks(doc: JsonObject, chain: ChainClient) -> str:
    for side, key in (("start", "start_block"), ("end", "end_block")):
        moment = datetime.fromisoformat(str(_field(doc, "period", side)))
        block = await chain.last_block_before(int(moment.timestamp()))
        stated = _int(doc, "proof", "chain", key)
        if (-1 if block is None and side == "start" else block) != stated:
            raise _MismatchError(f"{key} is {stated}, the last block before {moment} is {block}")
    return "the period's first and last blocks are the chain's"


async def _anchors_on_chain(doc: JsonObject, chain: ChainClient) -> str:
    site = str(_field(doc, "parties", "site"))
    for anchor in _anchors(doc):
        root = str(anchor["root"])
        tx = bytes.fromhex(str(anchor["tx"]).removeprefix("0x"))
        record = await chain.anchor_in(bytes.fromhex(root), tx)
        if record is None:
            raise _MismatchError(f"batch {root} is not anchored on chain by tx {anchor['tx']}")
        if not same_address(record.issuer, site):
            raise _MismatchError(
                f"batch {root} was anchored by {record.issuer}, not the site {site}"
            )
        if record.block_number != _int(anchor, "block"):
            raise _MismatchError(
                f"batch {root} was anchored in block {record.block_number}, the "
                f"statement says {anchor['block']}"
            )
    return f"{len(_anchors(doc))} batch root(s) anchored by the site where the statement says"


async def _counted_on_chain(doc: JsonObject, chain: ChainClient) -> str:
    site = str(_field(doc, "parties", "site"))
    key = bytes.fromhex(str(_field(doc, "design", "key")))
    first, last = (
        _int(doc, "proof", "chain", "start_block"),
        _int(doc, "proof", "chain", "end_block"),
    )
    listed = {str(a["tx"]).removeprefix("0x"): a for a in _anchors(doc)}
    counted = [c for c in await chain.pieces_counted(key, site) if first < c[0] <= last]
    for block, tx, pieces in counted:
        anchor = listed.pop(tx.hex(), None)
        if anchor is None:
            raise _MismatchError(
                f"pieces missing: the chain counted {pieces} piece(s) in block "
                f"{block} (tx 0x{tx.hex()}) that the statement does not list"
            )
        if _int(anchor, "pieces") != pieces:
            raise _MismatchError(
                f"the chain counted {pieces} piece(s) in block {block}, the statement "
                f"lists {anchor['pieces']} there"
            )
    if listed:
        raise _MismatchError(
            f"the chain counted no piece of the design in tx {', '.join('0x' + t for t in listed)}"
        )
    return f"{sum(c[2] for c in counted)} piece(s) counted in {len(counted)} anchor(s), as listed"


async def _licence_on_chain(doc: JsonObject, chain: ChainClient) -> str:
    site = str(_field(doc, "parties", "site"))
    key = bytes.fromhex(str(_field(doc, "design", "key")))
    end_block = _int(doc, "proof", "chain", "end_block")
    start_block = _int(doc, "proof", "chain", "start_block")
    at_end = await chain.licence_at(key, site, end_block)
    at_start = 0 if start_block < 0 else (await chain.licence_at(key, site, start_block)).used
    for name, stated, actual in (
        ("counted_at_start", _int(doc, "proof", "chain", "counted_at_start"), at_start),
        ("counted_at_end", _int(doc, "proof", "chain", "counted_at_end"), at_end.used),
        ("licence.quota", _int(doc, "licence", "quota"), at_end.quota),
        ("licence.overdraft", _int(doc, "licence", "overdraft"), at_end.overdraft),
    ):
        if stated != actual:
            raise _MismatchError(
                f"{name} is {stated}, the chain holds {actual} at block {end_block}"
            )
    oem = await chain.design_oem(key)
    if oem is None or not same_address(oem, str(_field(doc, "parties", "oem"))):
        raise _MismatchError(f"the design's OEM on chain is {oem}")
    grants = [g for g in await chain.licence_grants(key, site) if g.block_number <= end_block]
    price = grants[-1].price_micros if grants else 0
    if price != _int(doc, "licence", "price_micros"):
        raise _MismatchError(
            f"licence.price_micros is {doc['licence']}, the grant on chain says {price}"
        )
    return f"counter {at_end.used} at block {end_block}; quota, overdraft, price and OEM agree"
