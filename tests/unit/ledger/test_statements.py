"""Billing statements without a chain: the frozen digest, and every altered field detected."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

import pytest

from ledger.billing import read_statement, verify_statement_offline
from ledger.billing.document import Period, sign_statement, statement_digest
from ledger.billing.statement import statement_document
from ledger.errors import StatementError
from ledger.merkle import hash_leaf, inclusion_proof, root_hash
from ledger.signing import SiteKey

SITE = SiteKey.from_hex("0x" + "0a" * 32)
OEM = SiteKey.from_hex("0x" + "0e" * 32)
PERIOD = Period.parse("2026-11")


def november(previous: Any = None) -> dict[str, Any]:
    """A statement of three pieces in one batch of four: two certified, one failed."""
    leaves = [hash_leaf(f"certificate {i}".encode()) for i in range(4)]
    root = root_hash(leaves).hex()
    statuses = ["certified", "failed", "certified"]
    lines: list[Any] = [
        {
            "serial": f"SN-{i}",
            "certificate": leaves[i].hex(),
            "printer": "am-1",
            "issued_at": "2026-11-20T08:00:00Z",
            "status": status,
            "price_micros": 12_500_000 if status == "certified" else 0,
            "batch": root,
            "block": 40,
            "index": i,
            "size": 4,
            "proof": [node.hex() for node in inclusion_proof(leaves, i)],
        }
        for i, status in enumerate(statuses)
    ]
    return statement_document(
        site=SITE.address,
        oem=OEM.address,
        design={"id": "pump-impeller", "revision": "C", "key": "ab" * 32},
        period=PERIOD,
        licence={
            "quota": 10, "overdraft": 0, "valid_from": 0, "valid_until": 2**40 - 1,
            "revoked": False, "price_micros": 12_500_000, "currency": "EUR",
        },
        started=3,
        lines=lines,
        anchors=[{"root": root, "tx": "0x" + "cd" * 32, "block": 40, "pieces": 3}],
        chain={
            "chain_id": 4242, "contract": "0x" + "11" * 20, "start_block": 10,
            "end_block": 50, "counted_at_start": 0, "counted_at_end": 3,
        },
        previous=previous,
        now=datetime(2026, 12, 2, tzinfo=UTC),
    )  # fmt: skip


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaf_paths(v, (*path, i))]
    return [path]


def altered(document: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(document))
    *parents, last = path
    target = changed
    for key in parents:
        target = target[key]
    value = target[last]
    target[last] = (
        not value if isinstance(value, bool)
        else value + 1 if isinstance(value, int)
        else "changed" if value is None
        else value[:-1] + ("0" if value[-1:] != "0" else "1")
    )  # fmt: skip
    return changed


def test_a_signed_statement_verifies_offline_and_its_digest_is_frozen() -> None:
    signed = sign_statement(november(), SITE)
    report = verify_statement_offline(read_statement(signed.to_json()))
    assert report.valid, report.mismatches
    accepted = signed.countersigned(OEM)
    assert accepted.countersigner() == OEM.address
    frozen = b'trustfloor-statement-v1\x00{"schema":"trustfloor.statement/1"}'
    assert statement_digest({"schema": "trustfloor.statement/1"}) == sha256(frozen).digest()


def test_altering_any_field_of_a_signed_statement_is_detected() -> None:
    document = november()
    signed = sign_statement(document, SITE).countersigned(OEM)
    paths = leaf_paths(document)
    assert len(paths) > 60
    for path in paths:
        tampered = json.loads(signed.to_json())
        tampered["statement"] = altered(document, path)
        if path == ("schema",):
            with pytest.raises(StatementError, match=r"schema is not trustfloor\.statement/1"):
                read_statement(json.dumps(tampered))
            continue
        report = verify_statement_offline(read_statement(json.dumps(tampered)))
        assert not report.valid, path
        assert "site signature" in report.mismatches[0], path


def test_a_site_resigning_its_own_changes_is_still_caught_by_name() -> None:
    document = november()
    cases = {
        ("counts", "certified"): "counts: counts.certified is 3, the pieces hold 2 certified",
        ("balances", "amount_micros"): "amount: the amount is 25000001 millionths",
        ("proof", "merkle_root"): "merkle root: the pieces' certificates hash to root",
        ("pieces", 1, "index"): "pieces in their batches: piece SN-1 is not in batch",
        ("proof", "chain", "counted_at_end"): "anchors: 3 piece(s) listed under the anchors",
    }
    for path, reason in cases.items():
        report = verify_statement_offline(sign_statement(altered(document, path), SITE))
        assert any(m.startswith(reason) for m in report.mismatches), (path, report.mismatches)


def test_consecutive_statements_chain_by_digest() -> None:
    first = sign_statement(november(), SITE)
    second_doc = november(previous=first) | {
        "period": {"month": "2026-12", "start": "2026-12-01T00:00:00Z",
                   "end": "2027-01-01T00:00:00Z"},
    }  # fmt: skip
    second = sign_statement(second_doc, SITE)
    assert verify_statement_offline(second, first).valid
    other = sign_statement(altered(november(), ("counts", "started")), SITE)
    report = verify_statement_offline(second, other)
    assert report.mismatches[0].startswith("previous statement: names previous")


def test_a_period_is_a_month() -> None:
    assert (PERIOD.start, PERIOD.end) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert Period.parse("2026-12").end == datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(StatementError, match="not a month written YYYY-MM"):
        Period.parse("2026-13")
