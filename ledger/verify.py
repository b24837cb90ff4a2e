"""Verifying proof bundles: offline checks as a pure function, online checks against the chain."""

# Offline, a bundle proves: its certificate hashes to its leaf (RFC 8785 + RFC 6962 §2.1), the
# leaf hash is signed by the issuer the certificate names (secp256k1, see ledger/signing.py),
# the leaf is included in its batch root (RFC 9162 §2.1.3.2), and the anchor receipt names
# that root and tree size. None of that says who the issuer is: any key can name itself the
# issuer, so offline the issuer must be one the verifier pins (ledger/trust.py), or the
# report says it was not checked. Online, the chain confirms the receipt: the root is anchored
# by the issuer in the named block and transaction on the named chain and contract, the
# issuer is on the allow-list (and pinned, when the verifier pins issuers), and the
# certificate is not marked revoked. The anchor is the Anchored event in the named
# transaction's receipt, logged by the trusted ledger itself; receipts naming the version 1
# ledger the trusted one follows are read from that ledger's storage, as they always were.
#
# Speed: before running the RFC 8785 encoder, the leaf hash is first tried on orjson's compact
# encoding (members as they come: a parsed signed record keeps the canonical order, and orjson
# escapes strings as RFC 8785 does), then on the standard library's with members sorted; they
# give the same bytes for almost every parsed certificate. A guess is used only when it hashes
# to the bundle's leaf hash, which the signature and the inclusion proof then confirm;
# otherwise the RFC 8785 encoding decides. A wrong guess costs one more encoding, never a wrong
# verdict: the issuer only ever signs RFC 8785 bytes, and bytes that hash to a signed leaf are
# those bytes.

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import orjson

from ledger.batch_proofs import inclusion_root
from ledger.canonical import JsonObject, record_leaf
from ledger.contract import AnchorRecord, TxOutcome
from ledger.documents import LEAF_TAG, kind_of
from ledger.errors import CanonicalEncodingError, ProofError, SigningError
from ledger.licensed import licence_check
from ledger.logchecks import NO_WITNESSES, WitnessPolicy, log_checks
from ledger.merkle import hash_leaf
from ledger.signing import address_bytes, checksum_address, recover_signer, same_address
from ledger.trust import NO_ISSUER_PINNED, IssuerTrust
from models import (
    AttestedRecord,
    ProofBundle,
    RecordKind,
    RevocationStatus,
    Verdict,
    VerificationCheck,
    VerificationReport,
)

if TYPE_CHECKING:
    from ledger.anchorheaders import PinnedValidators


class LedgerReader(Protocol):
    """What online verification reads from the chain (ledger.chain.ChainClient provides it)."""

    @property
    def chain_id(self) -> int: ...

    @property
    def contract_address(self) -> str: ...

    @property
    def predecessor(self) -> str | None: ...

    async def anchor_in(self, root: bytes, tx_hash: bytes, ledger: str) -> AnchorRecord | None: ...

    async def transaction(self, tx_hash: bytes) -> TxOutcome | None: ...

    async def is_issuer(self, account: str) -> bool: ...

    async def revocation_of(self, leaf_hash: bytes, issuer: str) -> bytes | None: ...

    async def design_oem(self, design_key: bytes) -> str | None: ...

    async def dossier_hash(self, design_key: bytes) -> bytes | None: ...


ISSUER_TRUST = "issuer trust"
"""The check of the issuers a bundle names against the verifier's pinned issuers."""
ALLOW_LIST = "issuer allow-list"
"""The check of the certificate's issuer against the ledger contract's allow-list (online)."""
ISSUER_CHECKS = frozenset({ISSUER_TRUST, ALLOW_LIST})


def verify_offline(
    bundle: ProofBundle,
    *,
    trust: IssuerTrust,
    witnesses: WitnessPolicy = NO_WITNESSES,
    validators: PinnedValidators | None = None,
) -> VerificationReport:
    """Content, signature and inclusion of every record, the receipts' consistency, the site
    log's checkpoints and their ``witnesses`` (ledger/logchecks.py), the anchors' QBFT seals when
    ``validators`` are pinned (ledger/anchorheaders.py), and the issuers against the
    verifier's trust anchor ``trust``: a verdict with its reasons."""
    checks = offline_checks(bundle)
    if validators is not None:
        checks += _header_checks(bundle, validators)
    logged, log_warnings = log_checks(bundle, witnesses)
    trusted, warnings = issuer_trust_check(bundle, trust)
    return _report("offline", bundle, [*checks, *logged, trusted], (*log_warnings, *warnings))


async def verify_online(
    bundle: ProofBundle,
    reader: LedgerReader,
    *,
    trusted_contract: str | None = None,
    trust: IssuerTrust = NO_ISSUER_PINNED,
    witnesses: WitnessPolicy = NO_WITNESSES,
    validators: PinnedValidators | None = None,
) -> VerificationReport:
    """The offline checks, then each anchor, the allow-list and revocation on the chain.

    ``trusted_contract`` is the ledger the verifier trusts (its configuration); without it the
    ledger ``reader`` reads is trusted. Its allow-list decides who may issue; issuers pinned in
    ``trust`` narrow that further. Raises ChainError when the chain cannot be read.
    """
    checks = offline_checks(bundle)
    if validators is not None:
        checks += _header_checks(bundle, validators)
    logged, warnings = log_checks(bundle, witnesses)
    checks += logged
    checks += await online_checks(bundle, reader, trusted_contract or reader.contract_address)
    if trust.pinned:
        checks.append(issuer_trust_check(bundle, trust)[0])
    return _report("online", bundle, checks, warnings)


def _header_checks(bundle: ProofBundle, validators: PinnedValidators) -> list[VerificationCheck]:
    """The QBFT header checks of ledger/anchorheaders.py, imported (with rlp) only where
    validators are pinned."""
    from ledger.anchorheaders import header_checks

    return header_checks(bundle, validators)


def issuer_untrusted(report: VerificationReport) -> bool:
    """Whether every check held but the issuer's: the bundle is intact, its issuer untrusted."""
    failed = [c.name for c in report.checks if not c.passed]
    return bool(failed) and all(name in ISSUER_CHECKS for name in failed)


def _check(name: str, passed: bool, detail: str) -> VerificationCheck:
    """One finding of a verification."""
    return VerificationCheck(name, passed, detail)


def malformed(detail: str) -> VerificationReport:
    """The report on a bundle that could not even be read."""
    check = VerificationCheck(name="bundle", passed=False, detail=detail)
    return VerificationReport(
        mode="offline", valid=False, part_verdict=None, serial=None, checks=(check,)
    )


def offline_checks(bundle: ProofBundle) -> list[VerificationCheck]:
    """Every check a bundle allows without a chain, in the order a reader follows them."""
    main = bundle.certificate
    checks = record_checks("certificate", main)
    for number, record in enumerate(bundle.records, 1):
        label = f"record {number} ({record.kind.value})"
        checks += record_checks(label, record)
        checks.append(_refers_to_certificate(label, record, main.leaf_hash))
    checks.append(_revocation_check(bundle))
    if (suspension := suspension_check(bundle)) is not None:
        checks.append(suspension)
    if (life := end_of_life_check(bundle)) is not None:
        checks.append(life)
    return checks


def record_checks(label: str, record: AttestedRecord) -> list[VerificationCheck]:
    """Content, signature, inclusion and receipt of one signed record.

    The signature and the proof are checked on the bundle's leaf hash, and the content
    against it: an altered document then fails only its content check, which says so.
    """
    content = _content_check(label, record)
    leaf_hash = bytes.fromhex(record.leaf_hash)
    return [
        content,
        _signature_check(label, record, leaf_hash),
        _inclusion_check(label, record, leaf_hash),
        _receipt_check(label, record),
    ]


def _content_check(label: str, record: AttestedRecord) -> VerificationCheck:
    name = f"{label} content"
    try:
        if (kind := kind_of(record.document)) is not record.kind:
            detail = f"the record says it is a {record.kind.value}, its document a {kind.value}"
            return _check(name, False, detail)
        leaf_hash = content_leaf_hash(record)
    except CanonicalEncodingError as exc:
        return _check(name, False, f"cannot be encoded: {exc}")
    if leaf_hash.hex() != record.leaf_hash:
        detail = (
            f"the {label} hashes to leaf {leaf_hash.hex()}, not to the bundle's leaf hash "
            f"{record.leaf_hash}: the {label} or its leaf hash was altered"
        )
        return _check(name, False, detail)
    return _check(name, True, f"hashes to leaf {record.leaf_hash}")


def content_leaf_hash(record: AttestedRecord) -> bytes:
    """The RFC 6962 leaf hash of a record's document (see the note on speed above)."""
    tag = LEAF_TAG[record.kind]
    for guess in _GUESSES:
        try:
            text = guess(record.document)
        except (TypeError, ValueError):
            break
        if hash_leaf(tag + text).hex() == record.leaf_hash:
            return bytes.fromhex(record.leaf_hash)
    return hash_leaf(record_leaf(tag, record.document))


_SORTED = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True
)
_GUESSES: tuple[Callable[[JsonObject], bytes], ...] = (
    orjson.dumps,
    lambda document: _SORTED.encode(document).encode("utf-8"),
)
"""Compact JSON of a document: orjson's, its members as they come (a parsed signed record
keeps the canonical order), then the standard library's with the members sorted."""


def _signature_check(label: str, record: AttestedRecord, leaf_hash: bytes) -> VerificationCheck:
    name = f"{label} signature"
    issuer = record.document.get("issuer")
    expected = address_bytes(issuer) if isinstance(issuer, str) else None
    if expected is None:
        return _check(name, False, f"the {label} names no issuer address")
    try:
        signer = recover_signer(leaf_hash, bytes.fromhex(record.signature))
    except SigningError as exc:
        return _check(name, False, f"the signature is not valid: {exc}")
    if signer != expected:
        detail = (
            f"signed by {checksum_address(signer)}, not by the issuer {issuer} "
            f"that the {label} names"
        )
        return _check(name, False, detail)
    return _check(name, True, f"signed by the issuer {issuer}")


def _inclusion_check(label: str, record: AttestedRecord, leaf_hash: bytes) -> VerificationCheck:
    name = f"{label} inclusion"
    proof = record.proof
    if proof is None:
        detail = "no inclusion proof: the batch was not sealed when the bundle was exported"
        return _check(name, False, detail)
    try:
        path = [bytes.fromhex(p) for p in proof.path]
        root = inclusion_root(proof.leaf_index, proof.tree_size, leaf_hash, path)
    except ProofError as exc:
        return _check(name, False, f"the proof is malformed: {exc}")
    if root.hex() != proof.root:
        detail = (
            f"the proof leads from leaf {proof.leaf_index} of {proof.tree_size} to root "
            f"{root.hex()}, not to the batch root {proof.root}: the proof or the root was altered"
        )
        return _check(name, False, detail)
    detail = f"leaf {proof.leaf_index} of {proof.tree_size} in the batch with root {proof.root}"
    return _check(name, True, detail)


def _receipt_check(label: str, record: AttestedRecord) -> VerificationCheck:
    name = f"{label} anchor receipt"
    anchor, proof = record.anchor, record.proof
    if anchor is None:
        detail = "no anchor receipt: the batch was not anchored when the bundle was exported"
        return _check(name, False, detail)
    if proof is not None and anchor.root != proof.root:
        detail = f"the receipt anchors root {anchor.root}, but the proof leads to {proof.root}"
        return _check(name, False, detail)
    if proof is not None and anchor.size != proof.tree_size:
        detail = f"the receipt anchors {anchor.size} leaves, the proof's tree has {proof.tree_size}"
        return _check(name, False, detail)
    detail = (
        f"root {anchor.root} of {anchor.size} leaves, anchored by transaction {anchor.tx_hash} "
        f"in block {anchor.block_number} of chain {anchor.chain_id}, contract {anchor.contract}"
    )
    return _check(name, True, detail)


def _refers_to_certificate(
    label: str, record: AttestedRecord, certificate: str
) -> VerificationCheck:
    name = f"{label} subject"
    target = record.document.get("certificate")
    if target != certificate:
        detail = f"refers to certificate leaf {target}, not to this bundle's {certificate}"
        return _check(name, False, detail)
    return _check(name, True, "refers to this certificate")


def issuer_trust_check(
    bundle: ProofBundle, trust: IssuerTrust
) -> tuple[VerificationCheck, tuple[str, ...]]:
    """Whether every issuer the bundle's records name is trusted, and the warnings to give."""
    issuers = list(dict.fromkeys(str(r.document.get("issuer")) for _, r in _labelled(bundle)))
    named = ", ".join(issuers)
    if trust.pinned:
        count = f"the {len(trust.pinned)} trusted issuers"
        strangers = [issuer for issuer in issuers if not trust.trusts(issuer)]
        if strangers:
            return _check(
                ISSUER_TRUST, False, f"issuer {', '.join(strangers)} is not one of {count}"
            ), ()
        return _check(ISSUER_TRUST, True, f"issuer {named} is one of {count}"), ()
    if trust.any_issuer:
        warning = (
            f"issuer {named} NOT checked: any issuer is accepted (--trust-any-issuer), so a "
            "certificate signed by any key that names itself the issuer verifies too"
        )
        return _check(ISSUER_TRUST, True, warning), (warning,)
    detail = (
        f"issuer {named} NOT checked: no trusted issuer is pinned (pass --issuers FILE or set "
        "ledger.trusted_issuers; --trust-any-issuer accepts any issuer)"
    )
    return _check(ISSUER_TRUST, False, detail), ()


def _revocation_check(bundle: ProofBundle) -> VerificationCheck:
    name = "revocation"
    for record in bundle.records:
        if record.kind is RecordKind.REVOCATION:
            doc = record.document
            detail = (
                f"revoked at {doc.get('issued_at')} by {doc.get('revoked_by')}: {doc.get('reason')}"
            )
            return _check(name, False, detail)
    if bundle.revocation is RevocationStatus.REVOKED:
        detail = "the issuing site reported the certificate revoked when it exported the bundle"
        return _check(name, False, detail)
    detail = "not revoked as far as the issuing site knew at export"
    return _check(name, True, detail)


SUSPENSION = "suspension"
"""The check of a recall's hold on the certificate: the latest suspension or reinstatement."""


def suspension_check(bundle: ProofBundle) -> VerificationCheck | None:
    """Whether a recall holds the certificate now (its latest suspension is not lifted); None
    when no recall ever touched it."""
    latest = None
    for record in bundle.records:
        if record.kind in (RecordKind.SUSPENSION, RecordKind.REINSTATEMENT):
            latest = record
    if latest is None:
        return None
    doc = latest.document
    if latest.kind is RecordKind.SUSPENSION:
        detail = (
            f"suspended by recall campaign {doc.get('campaign')} at {doc.get('issued_at')}: "
            f"{doc.get('reason')} (disposition {doc.get('disposition')})"
        )
        return _check(SUSPENSION, False, detail)
    detail = (
        f"suspension by recall campaign {doc.get('campaign')} lifted at {doc.get('issued_at')} "
        f"by {doc.get('reinstated_by')}: {doc.get('reason')}"
    )
    return _check(SUSPENSION, True, detail)


def end_of_life_check(bundle: ProofBundle) -> VerificationCheck | None:
    """The part's end of life as its records state it (it fails nothing: the certificate still
    says what the part was); None while the part is in service."""
    events = [
        f"{r.document.get('event')} at {r.document.get('issued_at')} by {r.document.get('by')}"
        for r in bundle.records
        if r.kind is RecordKind.END_OF_LIFE
    ]
    if not events:
        return None
    return _check("end of life", True, "; ".join(events))


async def online_checks(
    bundle: ProofBundle, reader: LedgerReader, trusted_contract: str
) -> list[VerificationCheck]:
    """The chain's view of every receipt, the issuer's standing and the certificate's revocation."""
    main = bundle.certificate
    checks: list[VerificationCheck] = []
    for label, record in _labelled(bundle):
        if record.anchor is not None:
            checks += await anchor_checks(label, record, reader, trusted_contract)
    issuer = main.document.get("issuer")
    if isinstance(issuer, str):
        checks.append(await _allow_list_check(issuer, reader))
        checks.append(await _chain_revocation_check(main, issuer, reader))
        checks.append(await licence_check(bundle, reader))
    return checks


def _labelled(bundle: ProofBundle) -> list[tuple[str, AttestedRecord]]:
    records = [("certificate", bundle.certificate)]
    records += [(f"record {n} ({r.kind.value})", r) for n, r in enumerate(bundle.records, 1)]
    return records


async def anchor_checks(
    label: str, record: AttestedRecord, reader: LedgerReader, trusted_contract: str
) -> list[VerificationCheck]:
    """Chain, contract, anchor record and transaction of one record's receipt."""
    anchor = record.anchor
    assert anchor is not None
    chain = _check(
        f"{label} chain",
        anchor.chain_id == reader.chain_id,
        f"the receipt names chain {anchor.chain_id}; the node serves {reader.chain_id}",
    )
    contract = _check(
        f"{label} contract",
        _trusted_ledger(anchor.contract, reader, trusted_contract),
        f"the receipt names ledger {anchor.contract}; this verifier trusts {trusted_contract}",
    )
    if not (chain.passed and contract.passed):
        return [chain, contract]
    root = bytes.fromhex(anchor.root)
    tx_hash = bytes.fromhex(anchor.tx_hash[2:])
    issuer = str(record.document.get("issuer", ""))
    outcome = await reader.transaction(tx_hash)
    tx = _transaction_check(label, record, outcome)
    if outcome is None:  # nothing on chain to read the anchor from
        return [chain, contract, tx]
    found = await reader.anchor_in(root, tx_hash, anchor.contract)
    on_chain = _anchored_check(label, anchor.root, issuer, record, found)
    return [chain, contract, on_chain, tx]


def _trusted_ledger(ledger: str, reader: LedgerReader, trusted_contract: str) -> bool:
    """Whether ``ledger`` is the trusted one or, when the reader works on that one, the
    version 1 ledger it follows."""
    if same_address(ledger, trusted_contract):
        return True
    follows = reader.predecessor
    return (
        follows is not None
        and same_address(trusted_contract, reader.contract_address)
        and same_address(ledger, follows)
    )


def _anchored_check(
    label: str, root: str, issuer: str, record: AttestedRecord, found: AnchorRecord | None
) -> VerificationCheck:
    name = f"{label} anchored"
    anchor = record.anchor
    assert anchor is not None
    if found is None:
        detail = f"root {root} is not anchored on chain by transaction {anchor.tx_hash}"
        return _check(name, False, detail)
    problems = _differences(
        [
            ("issuer", found.issuer, issuer, not same_address(found.issuer, issuer)),
            ("leaves", found.size, anchor.size, found.size != anchor.size),
            (
                "block",
                found.block_number,
                anchor.block_number,
                found.block_number != anchor.block_number,
            ),
        ]
    )
    if problems:
        return _check(name, False, f"root {root} is anchored with {problems}")
    detail = f"root {root} anchored by {found.issuer} at {found.anchored_at.isoformat()}"
    return _check(name, True, detail)


def _differences(rows: Sequence[tuple[str, object, object, bool]]) -> str:
    """``what X on chain, Y in the receipt`` for each row that differs."""
    return "; ".join(
        f"{what} {chain} on chain, {claimed} in the bundle"
        for what, chain, claimed, differs in rows
        if differs
    )


def _transaction_check(
    label: str, record: AttestedRecord, tx: TxOutcome | None
) -> VerificationCheck:
    name = f"{label} transaction"
    anchor = record.anchor
    assert anchor is not None
    if tx is None:
        detail = f"transaction {anchor.tx_hash} is not on chain as a successful transaction"
        return _check(name, False, detail)
    if tx.block_number != anchor.block_number:
        detail = (
            f"transaction {anchor.tx_hash} is in block {tx.block_number}, "
            f"the receipt says {anchor.block_number}"
        )
        return _check(name, False, detail)
    roots = {
        root.hex()
        for event in tx.events_named("Anchored")
        if isinstance(root := event.args.get("root"), bytes)
    }
    if anchor.root not in roots:
        detail = f"transaction {anchor.tx_hash} does not anchor root {anchor.root}"
        return _check(name, False, detail)
    detail = f"transaction {anchor.tx_hash} in block {tx.block_number} anchors the root"
    return _check(name, True, detail)


async def _allow_list_check(issuer: str, reader: LedgerReader) -> VerificationCheck:
    allowed = await reader.is_issuer(issuer)
    detail = f"{issuer} is {'on' if allowed else 'not on'} the issuer allow-list"
    return _check(ALLOW_LIST, allowed, detail)


async def _chain_revocation_check(
    main: AttestedRecord, issuer: str, reader: LedgerReader
) -> VerificationCheck:
    found = await reader.revocation_of(bytes.fromhex(main.leaf_hash), issuer)
    if found is not None:
        detail = f"revoked on chain by {issuer} (revocation record in the batch {found.hex()})"
        return _check("revocation on chain", False, detail)
    return _check("revocation on chain", True, "not marked revoked on chain")


def _report(
    mode: str,
    bundle: ProofBundle,
    checks: list[VerificationCheck],
    warnings: tuple[str, ...] = (),
) -> VerificationReport:
    document = bundle.certificate.document
    serial = document.get("serial")
    return VerificationReport.model_construct(
        mode="online" if mode == "online" else "offline",
        valid=all(c.passed for c in checks),
        part_verdict=_part_verdict(bundle),
        serial=serial if isinstance(serial, str) else None,
        checks=tuple(checks),
        warnings=warnings,
    )


def _part_verdict(bundle: ProofBundle) -> Verdict | None:
    """The certificate's verdict, turned to fail by a later failed inspection."""
    stated = bundle.certificate.document.get("verdict")
    if stated not in (Verdict.PASS.value, Verdict.FAIL.value):
        return None
    for record in bundle.records:
        inspection = record.document.get("inspection")
        if isinstance(inspection, dict) and inspection.get("result") == Verdict.FAIL.value:
            return Verdict.FAIL
    return Verdict(stated)
